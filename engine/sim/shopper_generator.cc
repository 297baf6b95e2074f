#include "engine/sim/shopper_generator.h"

#include <fmt/format.h>

#include <cmath>

namespace storepulse::sim {
namespace {

constexpr std::string_view kCategories[] = {"dresses", "shoes", "bags", "skincare", "outerwear", "accessories"};
constexpr std::string_view kStoreNames[] = {"Nanjing Road", "Xintiandi", "Lujiazui", "Jing'an", "Hongqiao",
                                            "Wujiaochang", "Xujiahui", "Pudong Airport"};
constexpr std::string_view kSurnames[] = {"Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu"};

}  // namespace

ShopperGenerator::ShopperGenerator(GeneratorOptions options) : options_(options), rng_(options.seed) {
  std::uniform_real_distribution<double> log_price(std::log(15.0), std::log(2500.0));
  for (int i = 0; i < options_.skus; ++i) {
    const auto category = kCategories[static_cast<size_t>(i) % std::size(kCategories)];
    skus_.push_back({fmt::format("sku{:05d}", i), std::string(category),
                     std::round(std::exp(log_price(rng_)) * 100) / 100});
  }
  std::uniform_int_distribution<int> store(0, options_.stores - 1);
  std::uniform_int_distribution<int> guide(0, options_.guides_per_store - 1);
  std::uniform_int_distribution<int> sku(0, options_.skus - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < options_.customers; ++i) {
    Customer c;
    c.id = fmt::format("c{:06d}", i);
    c.home_store = store(rng_);
    c.guide = guide(rng_);
    const double t = unit(rng_);
    c.tier = t < 0.02 ? "black" : t < 0.12 ? "gold" : t < 0.45 ? "silver" : "member";
    for (int k = 0; k < 3; ++k) c.interests.push_back(sku(rng_));
    customers_.push_back(std::move(c));
    // A few shoppers are far busier than most, as in real traffic.
    customer_weights_.push_back(1.0 / (1.0 + i % 97));
  }
  customer_pick_ = std::discrete_distribution<int>(customer_weights_.begin(), customer_weights_.end());
}

std::string ShopperGenerator::storeId(int s) const { return fmt::format("s{:02d}", s + 1); }

int ShopperGenerator::pickSku(const Customer& c) {
  std::uniform_real_distribution<double> unit(0, 1);
  if (unit(rng_) < 0.6) return c.interests[rng_() % c.interests.size()];
  return static_cast<int>(rng_() % skus_.size());
}

void ShopperGenerator::emitReferenceData(int64_t now_ms, const LineSink& sink) {
  for (int s = 0; s < options_.stores; ++s) {
    sink(fmt::format(R"({{"type":"store","store_id":"{}","name":"{}","lat":{:.4f},"lon":{:.4f},)"
                     R"("timezone":"Asia/Shanghai","daily_target":{},"manager_id":"m{:02d}"}})",
                     storeId(s), kStoreNames[static_cast<size_t>(s) % std::size(kStoreNames)], 31.2 + 0.01 * s,
                     121.45 + 0.01 * s, 50000 + 10000 * s, s + 1),
         {});
  }
  for (const Customer& c : customers_) {
    sink(fmt::format(R"({{"type":"customer","customer_id":"{}","ts":{},"name":"{} {}","tier":"{}",)"
                     R"("guide_id":"g{:02d}{:02d}","home_store":"{}","tags":["private-domain"]}})",
                     c.id, now_ms, kSurnames[std::hash<std::string>()(c.id) % std::size(kSurnames)],
                     c.id.substr(1), c.tier, c.home_store + 1, c.guide + 1, storeId(c.home_store)),
         {});
  }
  std::uniform_int_distribution<int> stock(0, 12);
  for (int s = 0; s < options_.stores; ++s) {
    for (const Sku& sku : skus_) {
      sink(fmt::format(R"({{"type":"inventory","store_id":"{}","sku":"{}","available":{},"ts":{}}})", storeId(s),
                       sku.id, stock(rng_), now_ms),
           {});
    }
  }
}

void ShopperGenerator::emitMalformed(int64_t now_ms, const LineSink& sink) {
  // A rotating set of the mistakes real producers make.
  switch ((emitted_ / static_cast<uint64_t>(options_.malformed_every)) % 4) {
    case 0: sink(R"({"customer_id":"c000001","sku":"sku00001","ts":)", "click"); break;
    case 1: sink(fmt::format(R"({{"sku":"sku00002","ts":{}}})", now_ms), "click"); break;
    case 2: sink(fmt::format(R"({{"customer_id":"c000003","ts":"yesterday","store_id":"s01"}})"), "scan"); break;
    default:
      sink(fmt::format(R"({{"order_id":"bad","customer_id":"c000004","ts":{},"items":[{{"sku":"x","qty":-1,"price":3}}]}})",
                       now_ms),
           "purchase");
      break;
  }
}

void ShopperGenerator::emitNext(int64_t now_ms, const LineSink& sink) {
  ++emitted_;
  if (options_.malformed_every > 0 && emitted_ % static_cast<uint64_t>(options_.malformed_every) == 0) {
    emitMalformed(now_ms, sink);
    return;
  }
  const Customer& c = customers_[customer_pick_(rng_)];
  std::uniform_real_distribution<double> unit(0, 1);
  const double kind = unit(rng_);
  const int store = unit(rng_) < 0.8 ? c.home_store : static_cast<int>(rng_() % options_.stores);
  if (kind < 0.55) {
    const Sku& sku = skus_[pickSku(c)];
    static constexpr std::string_view kChannels[] = {"app", "miniprogram", "web"};
    sink(fmt::format(R"({{"type":"click","customer_id":"{}","sku":"{}","ts":{},"channel":"{}","category":"{}","price":{}}})",
                     c.id, sku.id, now_ms, kChannels[rng_() % 3], sku.category, sku.price),
         {});
  } else if (kind < 0.80) {
    const Sku& sku = skus_[pickSku(c)];
    sink(fmt::format(R"({{"type":"scan","customer_id":"{}","store_id":"{}","sku":"{}","ts":{},"guide_id":"g{:02d}{:02d}","category":"{}","price":{}}})",
                     c.id, storeId(store), sku.id, now_ms, store + 1, c.guide + 1, sku.category, sku.price),
         {});
  } else if (kind < 0.90) {
    const int lines = 1 + static_cast<int>(rng_() % 3);
    std::string items;
    double total = 0;
    for (int i = 0; i < lines; ++i) {
      const Sku& sku = skus_[pickSku(c)];
      const int qty = 1 + static_cast<int>(rng_() % 2);
      total += qty * sku.price;
      items += fmt::format(R"({}{{"sku":"{}","qty":{},"price":{},"category":"{}"}})", i ? "," : "", sku.id, qty,
                           sku.price, sku.category);
    }
    sink(fmt::format(R"({{"type":"purchase","order_id":"o{:08d}","customer_id":"{}","ts":{},"store_id":"{}","channel":"store","guide_id":"g{:02d}{:02d}","items":[{}],"total":{:.2f}}})",
                     ++order_seq_, c.id, now_ms, storeId(store), store + 1, c.guide + 1, items, total),
         {});
  } else {
    const Sku& sku = skus_[rng_() % skus_.size()];
    sink(fmt::format(R"({{"type":"inventory","store_id":"{}","sku":"{}","available":{},"ts":{}}})", storeId(store),
                     sku.id, static_cast<int>(rng_() % 10), now_ms),
         {});
  }
}

}  // namespace storepulse::sim
