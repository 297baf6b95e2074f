#include "engine/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace storepulse {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Config has no operator== (nothing in the engine needs one), so the tests
// compare field by field and name what differs.
std::vector<std::string> differences(const Config& a, const Config& b) {
  std::vector<std::string> out;
#define SP_COMPARE(field) \
  if (!(a.field == b.field)) out.push_back(#field)
  SP_COMPARE(kafka.bootstrap_servers);
  SP_COMPARE(kafka.group_id);
  SP_COMPARE(kafka.topics);
  SP_COMPARE(kafka.dead_letter_topic);
  SP_COMPARE(kafka.start_from_earliest);
  SP_COMPARE(kafka.consumer);
  SP_COMPARE(kafka.producer);
  SP_COMPARE(ingest.max_message_bytes);
  SP_COMPARE(ingest.batch_max_events);
  SP_COMPARE(ingest.batch_max_wait);
  SP_COMPARE(ingest.cache_max_records);
  SP_COMPARE(ingest.recent_items);
  SP_COMPARE(state.path);
  SP_COMPARE(state.sync_writes);
  SP_COMPARE(state.block_cache_bytes);
  SP_COMPARE(state.write_buffer_bytes);
  SP_COMPARE(http.address);
  SP_COMPARE(http.port);
  SP_COMPARE(http.max_body_bytes);
  SP_COMPARE(log.level);
  SP_COMPARE(log.format);
#undef SP_COMPARE
  return out;
}

const std::vector<std::string> kNoEnvironment;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "sp_config_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& text, const std::string& name = "storepulse.yaml") {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  Result<Config> load(const std::string& text, const std::vector<std::string>& env = kNoEnvironment) {
    path_ = write(text);
    return loadConfig(path_, &env);
  }
  // The error message of a load that must fail.
  std::string loadError(const std::string& text, const std::vector<std::string>& env = kNoEnvironment) {
    auto loaded = load(text, env);
    EXPECT_FALSE(loaded.isOk()) << "loaded:\n" << text;
    if (loaded.isOk()) return "";
    EXPECT_EQ(loaded.status().code(), ErrorCode::kInvalidArgument);
    return loaded.status().message();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ConfigTest, DefaultsLoad) {
  auto config = defaultConfig(&kNoEnvironment);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_TRUE(differences(*config, Config{}).empty());
  EXPECT_EQ(config->kafka.topics.at(EventType::kPurchase), "retail.purchases");
  EXPECT_EQ(config->kafka.dead_letter_topic, "storepulse.dlq");
  EXPECT_EQ(config->http.port, 8080);
  EXPECT_TRUE(config->kafka.start_from_earliest);
}

TEST_F(ConfigTest, EmptyFileGivesTheDefaults) {
  auto config = load("");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_TRUE(differences(*config, Config{}).empty());
}

TEST_F(ConfigTest, DocumentedDefaultsParseBackToTheDefaults) {
  auto config = load(documentedDefaults());
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_THAT(differences(*config, Config{}), ::testing::IsEmpty());
}

TEST_F(ConfigTest, DocumentedDefaultsCommentEveryKey) {
  // Every "key: value" line follows a comment line: each key is documented.
  std::istringstream lines(documentedDefaults());
  std::string previous;
  int keys = 0;
  for (std::string line; std::getline(lines, line); previous = line) {
    const auto text = line.find_first_not_of(' ');
    if (text == std::string::npos || line[text] == '#' || line.back() == ':') continue;
    ++keys;
    EXPECT_THAT(previous, HasSubstr("# ")) << "undocumented: " << line;
  }
  EXPECT_GE(keys, 20);
}

TEST_F(ConfigTest, RepositoryConfigFileEqualsDocumentedDefaults) {
  // Regenerate with: storepulse config defaults > config/storepulse.yaml
  const std::string path = std::string(SP_SOURCE_DIR) + "/config/storepulse.yaml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), documentedDefaults());
}

TEST_F(ConfigTest, ReadsEveryKindOfValue) {
  auto config = load(R"(
kafka:
  bootstrap_servers: "b1:9092,b2:9092"
  topics:
    click: shop.clicks
  start_from: latest
ingest:
  batch_max_events: 250
  batch_max_wait_ms: 20
state:
  sync_writes: true
http:
  port: 0
log:
  format: json
)");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->kafka.bootstrap_servers, "b1:9092,b2:9092");
  EXPECT_EQ(config->kafka.topics.at(EventType::kClick), "shop.clicks");
  EXPECT_EQ(config->kafka.topics.at(EventType::kScan), "retail.scans");  // untouched keys keep defaults
  EXPECT_FALSE(config->kafka.start_from_earliest);
  EXPECT_EQ(config->ingest.batch_max_events, 250u);
  EXPECT_EQ(config->ingest.batch_max_wait, std::chrono::milliseconds(20));
  EXPECT_TRUE(config->state.sync_writes);
  EXPECT_EQ(config->http.port, 0);
  EXPECT_EQ(config->log.format, "json");
}

TEST_F(ConfigTest, UnknownKeyIsAnErrorWithPositionAndSuggestion) {
  const std::string error = loadError("kafka:\n  group_idd: shop\n");
  EXPECT_THAT(error, HasSubstr(path_ + ":2:3: kafka.group_idd: unknown key"));
  EXPECT_THAT(error, HasSubstr("did you mean kafka.group_id?"));
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsAnError) {
  const std::string error = loadError("http:\n  port: 80\nmetrics:\n  enabled: true\n");
  EXPECT_THAT(error, HasSubstr(path_ + ":3:1: metrics: unknown key"));
}

TEST_F(ConfigTest, PortOutOfRangeNamesTheKey) {
  const std::string error = loadError("http:\n  port: 70000\n");
  EXPECT_THAT(error, HasSubstr(path_ + ":2:3: http.port:"));
  EXPECT_THAT(error, HasSubstr("between 0 and 65535"));
}

TEST_F(ConfigTest, NonNumberNamesTheKey) {
  const std::string error = loadError("ingest:\n  batch_max_events: abc\n");
  EXPECT_THAT(error, HasSubstr("ingest.batch_max_events: must be a whole number, got 'abc'"));
}

TEST_F(ConfigTest, NegativeNumberIsNotAWholeNumber) {
  EXPECT_THAT(loadError("ingest:\n  cache_max_records: -5\n"), HasSubstr("ingest.cache_max_records"));
}

TEST_F(ConfigTest, ValueOutsideItsChoicesNamesTheKeyAndTheChoices) {
  EXPECT_THAT(loadError("kafka:\n  start_from: sideways\n"),
              HasSubstr("kafka.start_from: must be one of earliest, latest, got 'sideways'"));
  EXPECT_THAT(loadError("log:\n  level: loud\n"), HasSubstr("log.level: must be one of trace, debug"));
}

TEST_F(ConfigTest, BoolMustBeTrueOrFalse) {
  EXPECT_THAT(loadError("state:\n  sync_writes: maybe\n"), HasSubstr("state.sync_writes: must be true or false"));
}

TEST_F(ConfigTest, EmptyRequiredStringIsAnError) {
  EXPECT_THAT(loadError("kafka:\n  group_id: \"\"\n"), HasSubstr("kafka.group_id: must not be empty"));
}

TEST_F(ConfigTest, ReportsEveryErrorInOneStatus) {
  const std::string error = loadError(
      "kafka:\n  start_from: sideways\n  grup_id: x\nhttp:\n  port: 70000\nlog:\n  level: loud\n");
  EXPECT_THAT(error, StartsWith("4 configuration error(s)"));
  EXPECT_THAT(error, HasSubstr(":2:3: kafka.start_from"));
  EXPECT_THAT(error, HasSubstr(":3:3: kafka.grup_id: unknown key"));
  EXPECT_THAT(error, HasSubstr(":5:3: http.port"));
  EXPECT_THAT(error, HasSubstr(":7:3: log.level"));
}

TEST_F(ConfigTest, KeyGivenTwiceIsAnError) {
  const std::string error = loadError("http:\n  port: 81\n  port: 82\n");
  EXPECT_THAT(error, HasSubstr(":3:3: http.port: is given twice"));
}

TEST_F(ConfigTest, SectionGivenTwiceIsAnError) {
  EXPECT_THAT(loadError("http:\n  port: 81\nhttp:\n  address: 127.0.0.1\n"), HasSubstr(":3:1: http: is given twice"));
}

TEST_F(ConfigTest, SectionThatIsAScalarIsAnError) {
  EXPECT_THAT(loadError("kafka: 5\n"), HasSubstr("kafka: must be a mapping of keys"));
}

TEST_F(ConfigTest, KeyThatIsAMappingIsAnError) {
  EXPECT_THAT(loadError("http:\n  port:\n    number: 80\n"), HasSubstr(":2:3: http.port: must be a single value"));
}

TEST_F(ConfigTest, DocumentThatIsNotAMappingIsAnError) {
  EXPECT_THAT(loadError("- kafka\n- http\n"), HasSubstr("must be a mapping of keys"));
}

TEST_F(ConfigTest, KafkaPassThroughKeysAreKeptVerbatim) {
  auto config = load(R"(
kafka:
  consumer:
    security.protocol: SASL_SSL
    sasl.mechanisms: SCRAM-SHA-512
    fetch.wait.max.ms: 50
    ssl.ca.location: "/etc/ssl/ca bundle.pem"
  producer:
    linger.ms: 5
)");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  const std::map<std::string, std::string> consumer = {{"security.protocol", "SASL_SSL"},
                                                       {"sasl.mechanisms", "SCRAM-SHA-512"},
                                                       {"fetch.wait.max.ms", "50"},
                                                       {"ssl.ca.location", "/etc/ssl/ca bundle.pem"}};
  EXPECT_EQ(config->kafka.consumer, consumer);
  EXPECT_EQ(config->kafka.producer, (std::map<std::string, std::string>{{"linger.ms", "5"}}));
}

TEST_F(ConfigTest, PassThroughSettingMustBeASingleValue) {
  EXPECT_THAT(loadError("kafka:\n  consumer:\n    security.protocol: [SSL]\n"),
              HasSubstr("kafka.consumer.security.protocol: must be a single value"));
  EXPECT_THAT(loadError("kafka:\n  producer: fast\n"), HasSubstr("kafka.producer: must be a mapping"));
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  auto config = load("kafka:\n  bootstrap_servers: from-file:9092\n",
                     {"STOREPULSE_KAFKA_BOOTSTRAP_SERVERS=from-env:9093", "PATH=/usr/bin", "HOME=/root"});
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->kafka.bootstrap_servers, "from-env:9093");
}

TEST_F(ConfigTest, EnvironmentAppliesToDefaultsToo) {
  const std::vector<std::string> env = {"STOREPULSE_HTTP_PORT=9090", "STOREPULSE_KAFKA_TOPICS_CLICK=web.clicks"};
  auto config = defaultConfig(&env);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->http.port, 9090);
  EXPECT_EQ(config->kafka.topics.at(EventType::kClick), "web.clicks");
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  const std::string error = loadError("", {"STOREPULSE_HTTP_PORT=eighty"});
  EXPECT_THAT(error, HasSubstr("environment STOREPULSE_HTTP_PORT: http.port: must be a whole number"));
}

TEST_F(ConfigTest, EnvironmentPassesKafkaSettingsThrough) {
  auto config = load("", {"STOREPULSE_KAFKA_CONSUMER_SECURITY_PROTOCOL=SSL", "STOREPULSE_KAFKA_PRODUCER_LINGER_MS=10"});
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->kafka.consumer.at("security.protocol"), "SSL");
  EXPECT_EQ(config->kafka.producer.at("linger.ms"), "10");
}

TEST_F(ConfigTest, UnknownEnvironmentVariableIsAnError) {
  EXPECT_THAT(loadError("", {"STOREPULSE_FOO=1"}), HasSubstr("environment STOREPULSE_FOO: no such configuration key"));
}

TEST_F(ConfigTest, TestHarnessVariablesAreIgnored) {
  auto config = load("", {"STOREPULSE_TEST_KAFKA=127.0.0.1:9092", "OTHER_STOREPULSE_X=1"});
  EXPECT_TRUE(config.isOk()) << config.status().toString();
}

TEST_F(ConfigTest, FileAndEnvironmentErrorsAreReportedTogether) {
  const std::string error = loadError("http:\n  port: 70000\n", {"STOREPULSE_FOO=1"});
  EXPECT_THAT(error, StartsWith("2 configuration error(s)"));
}

TEST_F(ConfigTest, MissingFileIsAnErrorNamingThePath) {
  const std::string path = (dir_ / "no" / "such.yaml").string();
  auto config = loadConfig(path, &kNoEnvironment);
  ASSERT_FALSE(config.isOk());
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("cannot read"));
}

TEST_F(ConfigTest, DirectoryInsteadOfAFileIsAnErrorNamingThePath) {
  auto config = loadConfig(dir_.string(), &kNoEnvironment);
  ASSERT_FALSE(config.isOk());
  EXPECT_THAT(config.status().message(), HasSubstr(dir_.string()));
}

TEST_F(ConfigTest, YamlSyntaxErrorHasFileLineAndColumn) {
  const std::string error = loadError("kafka:\n  group_id: [unclosed\n");
  EXPECT_THAT(error, HasSubstr(path_ + ":3:1:"));
}

TEST_F(ConfigTest, TabIndentationIsASyntaxErrorWithPosition) {
  const std::string error = loadError("http:\n\tport: 80\n");
  EXPECT_THAT(error, HasSubstr(path_ + ":"));
}

}  // namespace
}  // namespace storepulse
