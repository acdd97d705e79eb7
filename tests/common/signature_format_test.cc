#include "common/signature_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace affsig {
namespace {

using ::testing::HasSubstr;

Signature Sample() {
  // Fields: index, module, call, op, d, n, score, status, reason.
  SignatureEntry relu{0, "layer1.0.relu", 1, "ReLU", 256, 64, 0.8125, EntryStatus::kOk, ""};
  SignatureEntry softmax{1,
                         "",
                         0,
                         "softmax",
                         10,
                         1,
                         0.0,
                         EntryStatus::kTooFewSamples,
                         "needs at least 2 samples, the batch has 1"};
  SignatureEntry quoted{2, "head,\"x\"", 0, "GELU", 8, 64, 0.5, EntryStatus::kOk, ""};
  return {relu, softmax, quoted};
}

TEST(SignatureFormatTest, TableAlignsColumnsAndExplainsUnscoredEntries) {
  const std::string table = FormatSignatureTable(Sample());
  EXPECT_THAT(table, HasSubstr("index  module"));
  EXPECT_THAT(table, HasSubstr("0.812500  ok"));
  EXPECT_THAT(table, HasSubstr("(model)"));
  EXPECT_THAT(table, HasSubstr("too_few_samples: needs at least 2 samples"));
  // Every line is as wide as the header up to the status column.
  const size_t status_column = table.find("status");
  EXPECT_EQ(table.find("ok", table.find('\n')) - table.find('\n') - 1, status_column);
}

TEST(SignatureFormatTest, JsonHasNullScoresAndEscapedStrings) {
  const std::string json = FormatSignatureJson(Sample());
  EXPECT_THAT(json, HasSubstr("\"module\": \"layer1.0.relu\", \"call\": 1, \"op\": \"ReLU\""));
  EXPECT_THAT(json, HasSubstr("\"score\": 0.8125"));
  EXPECT_THAT(json, HasSubstr("\"score\": null, \"status\": \"too_few_samples\""));
  EXPECT_THAT(json, HasSubstr("\"module\": \"head,\\\"x\\\"\""));
  EXPECT_EQ(FormatSignatureJson({}), "[]");
  EXPECT_EQ(JsonQuote("a\nb\x01"), "\"a\\nb\\u0001\"");
}

TEST(SignatureFormatTest, CsvQuotesFieldsThatNeedIt) {
  const std::string csv = FormatSignatureCsv(Sample());
  EXPECT_THAT(csv, HasSubstr("index,module,call,op,n,d,score,status,reason\n"));
  EXPECT_THAT(csv, HasSubstr("0,layer1.0.relu,1,ReLU,64,256,0.8125,ok,\n"));
  EXPECT_THAT(csv, HasSubstr("1,,0,softmax,1,10,,too_few_samples,"));
  EXPECT_THAT(csv, HasSubstr("2,\"head,\"\"x\"\"\",0,GELU"));
}

TEST(SignatureFormatTest, ParsesFormatNamesAndStatusNames) {
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_THAT(ParseOutputFormat("yaml").status().message(), HasSubstr("table, json or csv"));
  for (EntryStatus status : {EntryStatus::kOk, EntryStatus::kTooFewSamples, EntryStatus::kNonFinite,
                             EntryStatus::kDimMismatch, EntryStatus::kFailed}) {
    EXPECT_EQ(*ParseEntryStatus(EntryStatusName(status)), status);
  }
  EXPECT_FALSE(ParseEntryStatus("fine").ok());
}

}  // namespace
}  // namespace affsig
