#pragma once
// Plausible synthetic retail traffic for the demo and benchmarks: stores,
// a catalogue, customers with tiers and guides, and a stream of clicks,
// scans, purchases and stock changes in which shoppers keep coming back to
// the items they are interested in. Deterministic for a given seed.
//
// Not thread-safe; one generator per producing thread.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace storepulse::sim {

struct GeneratorOptions {
  uint64_t seed = 42;
  int stores = 5;
  int skus = 400;
  int customers = 2000;
  int guides_per_store = 4;
  // One message in this many is deliberately malformed, to show the
  // dead-letter path; 0 disables.
  int malformed_every = 0;
};

// Receives a JSON line; `raw_topic_type` is set for malformed lines, which
// carry no routable `type` and must go to that type's topic as-is.
using LineSink = std::function<void(std::string_view line, std::string_view raw_topic_type)>;

class ShopperGenerator {
 public:
  explicit ShopperGenerator(GeneratorOptions options);

  // Stores, customer profiles and initial stock, at time `now_ms`.
  void emitReferenceData(int64_t now_ms, const LineSink& sink);
  // One event of live traffic at `now_ms`.
  void emitNext(int64_t now_ms, const LineSink& sink);

  const std::string& customerId(int index) const { return customers_[index].id; }

 private:
  struct Sku {
    std::string id;
    std::string category;
    double price;
  };
  struct Customer {
    std::string id;
    int home_store;
    int guide;
    std::string tier;
    std::vector<int> interests;  // sku indexes this shopper keeps returning to
  };

  int pickSku(const Customer& c);
  void emitMalformed(int64_t now_ms, const LineSink& sink);
  std::string storeId(int s) const;

  GeneratorOptions options_;
  std::mt19937_64 rng_;
  std::vector<Sku> skus_;
  std::vector<Customer> customers_;
  std::vector<double> customer_weights_;
  std::discrete_distribution<int> customer_pick_;
  uint64_t order_seq_ = 0;
  uint64_t emitted_ = 0;
};

}  // namespace storepulse::sim
