#include "common/signature_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace affsig {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  EXPECT_THAT(csv, HasSubstr("index,module,call,op,n,d,score,status,reason,std,min,max,batches\n"));
  EXPECT_THAT(csv, HasSubstr("0,layer1.0.relu,1,ReLU,64,256,0.8125,ok,,0,0,0,1\n"));
  EXPECT_THAT(csv, HasSubstr("1,,0,softmax,1,10,,too_few_samples,"));
  EXPECT_THAT(csv, HasSubstr("2,\"head,\"\"x\"\"\",0,GELU"));
}

TEST(SignatureFormatTest, SeveralBatchesShowTheirSpread) {
  SignatureEntry entry;
  entry.module = "relu";
  entry.op = "ReLU";
  entry.score = 0.5;
  entry.score_std = 0.25;
  entry.score_min = 0.25;
  entry.score_max = 0.75;
  entry.batches = 2;
  entry.batch_scores = {0.25, std::nan(""), 0.75};
  const std::string table = FormatSignatureTable({entry});
  EXPECT_THAT(table, HasSubstr("score       std  batches  status"));
  EXPECT_THAT(table, HasSubstr("0.500000  0.250000      2/3  ok"));
  const std::string json = FormatSignatureJson({entry});
  EXPECT_THAT(json, HasSubstr("\"batches\": 2, \"std\": 0.25, \"min\": 0.25, \"max\": 0.75"));
  EXPECT_THAT(json, HasSubstr("\"batch_scores\": [0.25, null, 0.75]"));
  // One batch: no spread columns for people.
  EXPECT_THAT(FormatSignatureTable(Sample()), Not(HasSubstr("std")));
}

TEST(SignatureFormatTest, CompanionMeasuresAddColumnsOnlyWhereAJobHasThem) {
  Signature measured = Sample();
  measured[0].measures = {{Measure::kCka, 0.75, 0.125}, {Measure::kR2, std::nan(""), std::nan("")}};
  measured[2].measures = {{Measure::kCka, 0.5, 0.0}, {Measure::kR2, 1.0, 0.0}};
  const std::string table = FormatSignatureTable(measured);
  EXPECT_THAT(table, HasSubstr("score   cka  r2  status"));
  EXPECT_THAT(table, HasSubstr("0.812500  0.75   -  ok"));
  EXPECT_THAT(table, HasSubstr("-     -   -  too_few_samples"));
  const std::string json = FormatSignatureJson(measured);
  EXPECT_THAT(json, HasSubstr("\"batch_scores\": [], \"cka\": 0.75, \"cka_std\": 0.125, "
                              "\"r2\": null, \"r2_std\": null}"));
  EXPECT_THAT(json, HasSubstr("\"cka\": null, \"cka_std\": null, \"r2\": null"));
  const std::string csv = FormatSignatureCsv(measured);
  EXPECT_THAT(csv, HasSubstr(",batches,cka,cka_std,r2,r2_std\n"));
  EXPECT_THAT(csv, HasSubstr(",ok,,0,0,0,1,0.75,0.125,,\n"));
  // Without measures, the columns are those of every other signature.
  for (const std::string& text : {FormatSignatureTable(Sample()), FormatSignatureJson(Sample()),
                                  FormatSignatureCsv(Sample())}) {
    EXPECT_THAT(text, Not(HasSubstr("cka")));
  }
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
