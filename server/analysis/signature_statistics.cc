#include "server/analysis/signature_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace affsig::analysis {

SignatureSummary Summarize(const Signature& signature) {
  SignatureSummary summary;
  summary.entries = static_cast<int64_t>(signature.size());
  std::vector<double> scores;
  size_t lowest = 0;
  for (size_t i = 0; i < signature.size(); ++i) {
    if (signature[i].status != EntryStatus::kOk) continue;
    if (scores.empty() || signature[i].score < signature[lowest].score) lowest = i;
    scores.push_back(signature[i].score);
  }
  summary.scored = static_cast<int64_t>(scores.size());
  if (scores.empty()) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    summary.mean_score = summary.median_score = summary.std_score = kNaN;
    summary.min_score = summary.max_score = summary.lowest_score_depth = kNaN;
    return summary;
  }
  const double size = static_cast<double>(scores.size());
  double sum = 0.0;
  for (double score : scores) sum += score;
  summary.mean_score = sum / size;
  double squares = 0.0;
  for (double score : scores) {
    squares += (score - summary.mean_score) * (score - summary.mean_score);
  }
  summary.std_score = std::sqrt(squares / size);

  std::sort(scores.begin(), scores.end());
  const size_t middle = scores.size() / 2;
  summary.median_score =
      scores.size() % 2 == 1 ? scores[middle] : (scores[middle - 1] + scores[middle]) / 2.0;
  summary.min_score = scores.front();
  summary.max_score = scores.back();
  summary.lowest_score_depth =
      signature.size() == 1
          ? 0.0
          : static_cast<double>(lowest) / static_cast<double>(signature.size() - 1);
  return summary;
}

}  // namespace affsig::analysis
