#include "client/analysis_format.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/analysis_options.h"
#include "common/cluster_merge.h"
#include "common/table_format.h"
#include "common/text_dendrogram.h"
#include "proto/proto_types.h"

namespace affsig::client {
namespace {

std::string StringsJson(const google::protobuf::RepeatedPtrField<std::string>& strings) {
  std::vector<std::string> quoted;
  for (const std::string& text : strings) quoted.push_back(JsonQuote(text));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string NumbersJson(const google::protobuf::RepeatedField<double>& values) {
  std::vector<std::string> numbers;
  for (double value : values) numbers.push_back(JsonNumber(value));
  return absl::StrCat("[", absl::StrJoin(numbers, ", "), "]");
}

// A job as people know it: its name, else its id.
std::string JobLabel(const v1::SignatureComparison& comparison, int i) {
  return comparison.names(i).empty() ? comparison.job_ids(i) : comparison.names(i);
}

std::string ComparisonFields(const v1::SignatureComparison& comparison) {
  std::vector<std::string> rows;
  for (const v1::DistanceRow& row : comparison.matrix()) rows.push_back(NumbersJson(row.distances()));
  return absl::StrCat(
      "\"job_ids\": ", StringsJson(comparison.job_ids()),
      ", \"names\": ", StringsJson(comparison.names()), ", \"distance\": ",
      JsonQuote(SignatureDistanceName(SignatureDistanceFromProto(comparison.distance()))),
      ", \"value\": ", JsonQuote(comparison.value()), ", \"matrix\": [",
      absl::StrJoin(rows, ",\n    "), "]");
}

std::string Optional(bool present, double value, const char* format) {
  return present ? absl::StrFormat(format, value) : "-";
}

}  // namespace

std::string FormatComparison(const v1::SignatureComparison& comparison, OutputFormat format) {
  const int n = comparison.job_ids_size();
  if (format == OutputFormat::kJson) return absl::StrCat("{", ComparisonFields(comparison), "}\n");
  TextTable table;
  if (format == OutputFormat::kCsv) {
    table.header = {"job_id", "name"};
    table.header.insert(table.header.end(), comparison.job_ids().begin(),
                        comparison.job_ids().end());
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> row = {comparison.job_ids(i), comparison.names(i)};
      for (double d : comparison.matrix(i).distances()) row.push_back(absl::StrFormat("%.17g", d));
      table.rows.push_back(std::move(row));
    }
    return RenderCsv(table);
  }
  table.header = {"", "job_id", "name"};
  table.right_aligned = {true, false, false};
  for (int j = 0; j < n; ++j) {
    table.header.push_back(absl::StrCat(j + 1));
    table.right_aligned.push_back(true);
  }
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> row = {absl::StrCat(i + 1), comparison.job_ids(i),
                                    comparison.names(i)};
    for (double d : comparison.matrix(i).distances()) row.push_back(absl::StrFormat("%.4f", d));
    table.rows.push_back(std::move(row));
  }
  return absl::StrCat(
      SignatureDistanceName(SignatureDistanceFromProto(comparison.distance())), " distances of ",
      comparison.value(), ":\n", RenderAligned(table));
}

std::string FormatClustering(const v1::SignatureClustering& clustering, OutputFormat format) {
  const v1::SignatureComparison& comparison = clustering.comparison();
  const int n = comparison.job_ids_size();
  if (format == OutputFormat::kJson) {
    std::vector<std::string> rows;
    for (const v1::LinkageRow& row : clustering.linkage()) {
      rows.push_back(absl::StrCat("[", row.a(), ", ", row.b(), ", ", JsonNumber(row.distance()),
                                  ", ", row.size(), "]"));
    }
    return absl::StrCat(
        "{", ComparisonFields(comparison), ", \"method\": ",
        JsonQuote(LinkageName(LinkageFromProto(clustering.method()))), ", \"linkage\": [",
        absl::StrJoin(rows, ", "), "], \"labels\": [", absl::StrJoin(clustering.labels(), ", "),
        "]}\n");
  }
  const bool labelled = clustering.labels_size() == n;
  if (format == OutputFormat::kCsv) {
    TextTable table;
    table.header = {"job_id", "name", "cluster"};
    for (int i = 0; i < n; ++i) {
      table.rows.push_back({comparison.job_ids(i), comparison.names(i),
                            labelled ? absl::StrCat(clustering.labels(i)) : ""});
    }
    return RenderCsv(table);
  }
  std::vector<Merge> merges;
  for (const v1::LinkageRow& row : clustering.linkage()) {
    merges.push_back({row.a(), row.b(), row.distance(), row.size()});
  }
  std::vector<std::string> leaves;
  for (int i = 0; i < n; ++i) {
    leaves.push_back(labelled ? absl::StrCat("[", clustering.labels(i), "] ", JobLabel(comparison, i))
                              : JobLabel(comparison, i));
  }
  return absl::StrCat(LinkageName(LinkageFromProto(clustering.method())), " linkage of ",
                      SignatureDistanceName(SignatureDistanceFromProto(comparison.distance())),
                      " distances", labelled ? " ([flat cluster])" : "", ":\n",
                      TextDendrogram(merges, leaves));
}

std::string FormatCorrelation(const v1::SignatureCorrelation& correlation, OutputFormat format) {
  const std::string statistic(
      SignatureStatisticName(SignatureStatisticFromProto(correlation.statistic())));
  if (format == OutputFormat::kJson) {
    std::vector<std::string> groups;
    for (const v1::CorrelationGroup& group : correlation.groups()) {
      auto number = [](bool present, double value) {
        return present ? JsonNumber(value) : std::string("null");
      };
      groups.push_back(absl::StrCat(
          "{\"group\": ", JsonQuote(group.group()), ", \"n\": ", group.n(),
          ", \"pearson_r\": ", number(group.has_pearson_r(), group.pearson_r()),
          ", \"pearson_p\": ", number(group.has_pearson_p(), group.pearson_p()),
          ", \"spearman_rho\": ", number(group.has_spearman_rho(), group.spearman_rho()),
          ", \"spearman_p\": ", number(group.has_spearman_p(), group.spearman_p()),
          ", \"reason\": ", JsonQuote(group.reason()), ", \"job_ids\": ",
          StringsJson(group.job_ids()), "}"));
    }
    return absl::StrCat("{\"label\": ", JsonQuote(correlation.label()),
                        ", \"statistic\": ", JsonQuote(statistic), ", \"groups\": [",
                        absl::StrJoin(groups, ",\n  "), "], \"skipped_job_ids\": ",
                        StringsJson(correlation.skipped_job_ids()), "}\n");
  }
  TextTable table;
  table.header = {"group", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p", "reason"};
  table.right_aligned = {false, true, true, true, true, true, false};
  const char* number_format = format == OutputFormat::kCsv ? "%.17g" : "%.4f";
  const char* p_format = format == OutputFormat::kCsv ? "%.17g" : "%.3g";
  for (const v1::CorrelationGroup& group : correlation.groups()) {
    table.rows.push_back({group.group().empty() && format == OutputFormat::kTable ? "-"
                                                                                : group.group(),
                          absl::StrCat(group.n()),
                          Optional(group.has_pearson_r(), group.pearson_r(), number_format),
                          Optional(group.has_pearson_p(), group.pearson_p(), p_format),
                          Optional(group.has_spearman_rho(), group.spearman_rho(), number_format),
                          Optional(group.has_spearman_p(), group.spearman_p(), p_format),
                          group.reason()});
  }
  if (format == OutputFormat::kCsv) return RenderCsv(table);
  std::string text = absl::StrCat("the signature's ", statistic, " against ", correlation.label(),
                                  ":\n", RenderAligned(table));
  if (correlation.skipped_job_ids_size() > 0) {
    absl::StrAppend(&text, correlation.skipped_job_ids_size(),
                    " jobs left out (the label is not a number, or no entry was scored): ",
                    absl::StrJoin(correlation.skipped_job_ids(), " "), "\n");
  }
  return text;
}

}  // namespace affsig::client
