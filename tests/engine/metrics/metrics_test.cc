#include "engine/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "engine/core/build_info.h"
#include "engine/state/memory_state_store.h"

namespace storepulse {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, ScrapeHasBuildInfoWithVersion) {
  Metrics metrics;
  EXPECT_THAT(metrics.scrape(), HasSubstr("storepulse_build_info{version=\"" + std::string(kBuildVersion) + "\"} 1"));
}

TEST(Metrics, ScrapeHasEveryIngestFamilyOnceUsed) {
  Metrics metrics;
  metrics.events_consumed.Add({{"topic", "t"}, {"type", "click"}}).Increment();
  metrics.events_invalid.Add({{"topic", "t"}, {"reason", "invalid_json"}}).Increment(2);
  metrics.processing_latency.Add({}, latencyBuckets()).Observe(0.003);
  metrics.event_time_lag.Add({{"topic", "t"}}).Set(1.5);
  metrics.consumer_lag.Add({{"topic", "t"}, {"partition", "0"}}).Set(7);
  metrics.commits.Add({{"outcome", "ok"}}).Increment();
  metrics.assigned_partitions.Add({{"topic", "t"}}).Set(3);
  const std::string text = metrics.scrape();
  for (const char* family : {"# TYPE storepulse_events_consumed_total counter",
                             "# TYPE storepulse_events_invalid_total counter",
                             "# TYPE storepulse_event_processing_seconds histogram",
                             "# TYPE storepulse_event_time_lag_seconds gauge",
                             "# TYPE storepulse_consumer_lag_messages gauge",
                             "# TYPE storepulse_state_commits_total counter",
                             "# TYPE storepulse_assigned_partitions gauge",
                             "# TYPE storepulse_build_info gauge"}) {
    EXPECT_THAT(text, HasSubstr(family));
  }
  EXPECT_THAT(text, HasSubstr(R"(storepulse_events_invalid_total{reason="invalid_json",topic="t"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_event_processing_seconds_bucket{le="0.005"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_consumer_lag_messages{partition="0",topic="t"} 7)"));
}

TEST(Metrics, WatchStateStoreRefreshesGaugesAtEveryScrape) {
  Metrics metrics;
  MemoryStateStore store;
  metrics.watchStateStore(store);
  std::string text = metrics.scrape();
  EXPECT_THAT(text, HasSubstr(R"(storepulse_state_store_keys{table="customer"} 0)"));
  EXPECT_THAT(text, HasSubstr("storepulse_state_store_size_bytes 0"));

  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", "0123456789"});
  batch.writes.push_back({StateTable::kCustomer, 1, "c2", "v"});
  batch.writes.push_back({StateTable::kCustomer, 1, "c3", "v"});
  batch.writes.push_back({StateTable::kStore, kGlobalPartition, "st1", "v"});
  ASSERT_TRUE(store.write(batch).isOk());
  text = metrics.scrape();
  EXPECT_THAT(text, HasSubstr(R"(storepulse_state_store_keys{table="customer"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_state_store_keys{table="inventory"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_state_store_keys{table="store"} 1)"));
  // Memory store size: key plus value bytes, 2+10 + 2+1 + 2+1 + 3+1.
  EXPECT_THAT(text, HasSubstr("storepulse_state_store_size_bytes 22"));
  EXPECT_THAT(text, HasSubstr("storepulse_state_store_background_errors 0"));
}

TEST(Metrics, RefreshHooksRunOncePerScrape) {
  Metrics metrics;
  int runs = 0;
  metrics.addRefreshHook([&runs] { ++runs; });
  (void)metrics.scrape();
  (void)metrics.scrape();
  EXPECT_EQ(runs, 2);
}

TEST(Metrics, LatencyBucketsAreAscendingAndSpanMillisecondsToSeconds) {
  const auto& buckets = latencyBuckets();
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  EXPECT_LE(buckets.front(), 0.001);
  EXPECT_GE(buckets.back(), 5.0);
}

}  // namespace
}  // namespace storepulse
