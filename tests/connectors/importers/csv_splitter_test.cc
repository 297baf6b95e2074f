#include "connectors/importers/csv_splitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace storepulse::importers {
namespace {

using ::testing::ElementsAre;

TEST(CsvSplitterTest, SplitsPlainFields) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields("a,b,c", ',', f).isOk());
  EXPECT_THAT(f, ElementsAre("a", "b", "c"));
}

TEST(CsvSplitterTest, KeepsSeparatorsInsideQuotes) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields(R"(1,"TRAY, BREAKFAST IN BED",3)", ',', f).isOk());
  EXPECT_THAT(f, ElementsAre("1", "TRAY, BREAKFAST IN BED", "3"));
}

TEST(CsvSplitterTest, TurnsDoubledQuotesIntoOne) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields(R"(x,"RECORD FRAME 7"" SINGLE SIZE ",y)", ',', f).isOk());
  EXPECT_THAT(f, ElementsAre("x", "RECORD FRAME 7\" SINGLE SIZE ", "y"));
}

TEST(CsvSplitterTest, KeepsEmptyFieldsIncludingTrailingOne) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields(",a,,\"\",", ',', f).isOk());
  EXPECT_THAT(f, ElementsAre("", "a", "", "", ""));
}

TEST(CsvSplitterTest, KeepsStrayQuoteInsideUnquotedField) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields(R"(a,7" FRAME,b)", ',', f).isOk());
  EXPECT_THAT(f, ElementsAre("a", "7\" FRAME", "b"));
}

TEST(CsvSplitterTest, UsesTheGivenSeparator) {
  std::vector<std::string> f;
  ASSERT_TRUE(splitCsvFields("1;NA;a,b", ';', f).isOk());
  EXPECT_THAT(f, ElementsAre("1", "NA", "a,b"));
}

TEST(CsvSplitterTest, RejectsUnterminatedQuote) {
  std::vector<std::string> f;
  Status s = splitCsvFields(R"(a,"open,b)", ',', f);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("unterminated quote"));
}

TEST(CsvSplitterTest, RejectsTextAfterClosingQuote) {
  std::vector<std::string> f;
  EXPECT_EQ(splitCsvFields(R"(a,"b"c,d)", ',', f).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace storepulse::importers
