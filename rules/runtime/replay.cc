#include "rules/runtime/replay.h"

#include <algorithm>

#include "engine/event/event_router.h"
#include "engine/state/memory_state_store.h"

namespace storepulse::rules {
namespace {

std::string topicOf(EventType type) { return "replay." + std::string(eventTypeName(type)); }

struct Recorded {
  int64_t ts_ms;
  EventType type;
  std::string key;
  std::string payload;
};

// Delivers the recorded events, sorted by event time, as one partition per
// event type; assigns them all on the first poll.
class OrderedSource final : public EventSource {
 public:
  explicit OrderedSource(std::vector<Recorded> events) : events_(std::move(events)) {
    std::stable_sort(events_.begin(), events_.end(),
                     [](const Recorded& a, const Recorded& b) { return a.ts_ms < b.ts_ms; });
  }

  Status poll(SourceHandler& handler, std::chrono::milliseconds, size_t max_messages) override {
    if (!assigned_) {
      std::vector<TopicPartition> all;
      for (EventType t : kAllEventTypes) all.push_back({topicOf(t), 0});
      SP_ASSIGN_OR_RETURN(auto starts, handler.onAssigned(all));
      (void)starts;  // a fresh in-memory store: every partition starts at 0
      assigned_ = true;
    }
    for (size_t n = 0; n < max_messages && next_ < events_.size(); ++n, ++next_) {
      const Recorded& r = events_[next_];
      const std::string& topic = topics_[static_cast<size_t>(r.type)];
      SourceMessage m;
      m.topic = topic;
      m.partition = 0;
      m.offset = offsets_[static_cast<size_t>(r.type)]++;
      m.key = r.key;
      m.payload = r.payload;
      handler.onMessage(m);
    }
    return Status::ok();
  }
  void acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>&) override {}
  std::vector<PartitionLag> lag() const override { return {}; }
  Status close(SourceHandler&) override { return Status::ok(); }

  bool done() const { return next_ == events_.size(); }
  size_t delivered() const { return next_; }
  size_t total() const { return events_.size(); }
  int64_t newestTs() const { return events_.empty() ? INT64_MIN : events_.back().ts_ms; }

 private:
  std::vector<Recorded> events_;
  std::array<std::string, kEventTypeCount> topics_ = [] {
    std::array<std::string, kEventTypeCount> names;
    for (EventType t : kAllEventTypes) names[static_cast<size_t>(t)] = topicOf(t);
    return names;
  }();
  std::array<int64_t, kEventTypeCount> offsets_ = {};
  size_t next_ = 0;
  bool assigned_ = false;
};

// Counts dead letters by reason; a replay has no dead-letter topic.
class CountingDeadLetters final : public DeadLetterSink {
 public:
  void send(const SourceMessage&, std::string_view reason, std::string_view) override {
    ++by_reason[std::string(reason)];
    ++total;
  }
  Status flush(std::chrono::milliseconds) override { return Status::ok(); }

  std::map<std::string, uint64_t> by_reason;
  uint64_t total = 0;
};

}  // namespace

struct Replay::Impl {
  std::shared_ptr<const CompiledRuleSet> rules;
  OutputSink& output;
  ReplayOptions options;
  std::vector<Recorded> events;
  EventRouter router;
  MemoryStateStore store;
  CountingDeadLetters dead_letters;
  std::map<std::string, RuleCounters> rule_counters;
  uint64_t folded = 0;

  Impl(std::shared_ptr<const CompiledRuleSet> r, OutputSink& o, ReplayOptions opts)
      : rules(std::move(r)), output(o), options(std::move(opts)) {}
};

Replay::Replay(std::shared_ptr<const CompiledRuleSet> rules, OutputSink& output, ReplayOptions options)
    : impl_(std::make_unique<Impl>(std::move(rules), output, std::move(options))) {}

Replay::~Replay() = default;

void Replay::add(std::string line) {
  auto routed = impl_->router.route(line);
  if (!routed.isOk()) {
    ++impl_->dead_letters.by_reason["unknown_type"];
    ++impl_->dead_letters.total;
    return;
  }
  impl_->events.push_back(Recorded{routed->ts_ms, routed->type, std::move(routed->key), std::move(line)});
}

size_t Replay::size() const { return impl_->events.size(); }

Status Replay::run(std::optional<int64_t> until_ms, const std::function<void(const Firing&)>& on_firing,
                   const std::function<void(uint64_t, uint64_t)>& progress) {
  Impl& m = *impl_;
  OrderedSource source(std::move(m.events));
  m.events.clear();

  PipelineOptions pipeline_options;
  for (EventType t : kAllEventTypes) pipeline_options.topics.push_back({topicOf(t), t});
  pipeline_options.customer = m.options.customer;
  pipeline_options.decoder = m.options.decoder;
  IngestPipeline pipeline(pipeline_options, m.store, m.dead_letters, nullptr);

  RuleEngineOptions engine_options = m.options.engine;
  engine_options.clock = RuleEngineOptions::Clock::kEventTime;
  engine_options.run_scheduled = true;
  RuleEngine engine(engine_options, m.rules, m.store, m.output, m.dead_letters, nullptr);
  engine.setFiringListener(on_firing);
  pipeline.addProcessor(engine);

  while (!source.done()) {
    SP_RETURN_IF_ERROR(pipeline.runOnce(source));
    if (progress) progress(source.delivered(), source.total());
  }
  SP_RETURN_IF_ERROR(pipeline.flush());
  const int64_t end = until_ms.value_or(source.newestTs());
  if (end != INT64_MIN) SP_RETURN_IF_ERROR(engine.advanceClockTo(end));
  SP_RETURN_IF_ERROR(pipeline.flush());  // what the scheduled rules wrote
  m.rule_counters = engine.counters();
  m.folded += pipeline.counters().events;
  return Status::ok();
}

ReplaySummary Replay::summary() const {
  ReplaySummary s;
  s.events = impl_->folded;
  s.dead_letters = impl_->dead_letters.total;
  s.dead_letters_by_reason = impl_->dead_letters.by_reason;
  s.rules = impl_->rule_counters;
  return s;
}

}  // namespace storepulse::rules
