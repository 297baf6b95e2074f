#include "connectors/importers/gzip_line_reader.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace storepulse::importers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string tempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("gzip_line_reader_" + name)).string();
}

void writePlain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void writeGzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

Result<std::vector<std::string>> readAll(const std::string& path, std::size_t max_line = 1 << 20) {
  SP_ASSIGN_OR_RETURN(GzipLineReader reader, GzipLineReader::open(path, max_line));
  std::vector<std::string> lines;
  std::string line;
  while (true) {
    SP_ASSIGN_OR_RETURN(bool more, reader.next(line));
    if (!more) break;
    lines.push_back(line);
  }
  return lines;
}

TEST(GzipLineReaderTest, ReadsPlainFileStrippingCrLfAndKeepingLastLineWithoutNewline) {
  const std::string path = tempPath("plain.csv");
  writePlain(path, "a,b\r\n\nc\nlast");
  auto lines = readAll(path);
  ASSERT_TRUE(lines.isOk()) << lines.status().toString();
  EXPECT_THAT(*lines, ElementsAre("a,b", "", "c", "last"));
}

TEST(GzipLineReaderTest, ReadsGzipFileTransparently) {
  const std::string path = tempPath("lines.csv.gz");
  writeGzip(path, "x\ny\n");
  auto lines = readAll(path);
  ASSERT_TRUE(lines.isOk()) << lines.status().toString();
  EXPECT_THAT(*lines, ElementsAre("x", "y"));
}

TEST(GzipLineReaderTest, ReadsLinesLongerThanItsBuffer) {
  const std::string path = tempPath("long.gz");
  const std::string long_line(700'000, 'z');  // spans several 256 KiB chunks
  writeGzip(path, "short\n" + long_line + "\nend\n");
  auto lines = readAll(path);
  ASSERT_TRUE(lines.isOk()) << lines.status().toString();
  EXPECT_THAT(*lines, ElementsAre("short", long_line, "end"));
}

TEST(GzipLineReaderTest, CountsLineNumbers) {
  const std::string path = tempPath("numbers.txt");
  writePlain(path, "1\n2\n3\n");
  auto reader = GzipLineReader::open(path);
  ASSERT_TRUE(reader.isOk());
  std::string line;
  ASSERT_TRUE(*reader->next(line));
  ASSERT_TRUE(*reader->next(line));
  EXPECT_EQ(reader->lineNumber(), 2u);
  EXPECT_EQ(line, "2");
}

TEST(GzipLineReaderTest, ReportsMissingFileAsNotFoundWithPath) {
  auto reader = GzipLineReader::open(tempPath("does_not_exist.csv"));
  ASSERT_FALSE(reader.isOk());
  EXPECT_EQ(reader.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(reader.status().message(), HasSubstr("does_not_exist.csv"));
}

TEST(GzipLineReaderTest, ReportsTruncatedGzipAsCorruption) {
  const std::string full = tempPath("full.gz");
  std::string text;
  for (int i = 0; i < 20'000; ++i) text += "line " + std::to_string(i * 7919) + "\n";
  writeGzip(full, text);
  std::ifstream in(full, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = tempPath("truncated.gz");
  writePlain(cut, bytes.substr(0, bytes.size() / 2));
  auto lines = readAll(cut);
  ASSERT_FALSE(lines.isOk());
  EXPECT_EQ(lines.status().code(), ErrorCode::kCorruption);
  EXPECT_THAT(lines.status().message(), HasSubstr("truncated.gz"));
}

TEST(GzipLineReaderTest, RefusesLineLongerThanTheLimit) {
  const std::string path = tempPath("no_newline.bin");
  writePlain(path, std::string(600'000, 'q'));
  auto lines = readAll(path, 100'000);
  ASSERT_FALSE(lines.isOk());
  EXPECT_EQ(lines.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(lines.status().message(), HasSubstr("no_newline.bin:1: line longer than"));
}

}  // namespace
}  // namespace storepulse::importers
