// The exposition on its own: every family with HELP and TYPE, states and kinds with no count
// shown as 0, the attempt histogram cumulative with +Inf equal to its count, label values escaped.
#include "server/http/prometheus_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace affsig::http {
namespace {

using ::testing::HasSubstr;

JobAttempt Attempt(const std::string& device, AttemptOutcome outcome, int64_t ran_ms) {
  JobAttempt attempt;
  attempt.device = device;
  attempt.outcome = outcome;
  attempt.started_at_ms = 1000;
  attempt.ended_at_ms = 1000 + ran_ms;
  return attempt;
}

TEST(PrometheusMetricsTest, StateCountersAndHistogramsInTheTextFormat) {
  core::ServiceCounters counters;
  counters.AttemptEnded(Attempt("cuda:0", AttemptOutcome::kSucceeded, 500));
  counters.AttemptEnded(Attempt("cuda:0", AttemptOutcome::kSucceeded, 7000));
  counters.AttemptEnded(Attempt("cuda:0", AttemptOutcome::kSucceeded, 100000000));
  counters.AttemptEnded(Attempt("odd\"device\\", AttemptOutcome::kLost, 1000));
  counters.Uploaded(BlobKind::kModel, 1234);
  Signature signature(2);
  signature[0].batches = 3;
  signature[1].status = EntryStatus::kDimMismatch;
  counters.Scored(signature);

  core::ServerStatus status;
  status.version = "1.2.3";
  status.queued_jobs = 4;
  status.jobs_by_state = {{JobState::kQueued, 4}, {JobState::kSucceeded, 3}};
  core::WorkerStatus busy;
  busy.job_id = "job-1";
  busy.last_seen = absl::Now();
  status.workers = {busy, core::WorkerStatus()};
  status.counters = counters.Read();
  const std::string text = PrometheusMetrics(status);

  const std::string succeeded = "device=\"cuda:0\",outcome=\"SUCCEEDED\"";
  const std::string duration = "affsig_job_attempt_duration_seconds";
  for (const std::string& line : {
           std::string("# TYPE affsig_jobs gauge"),
           std::string("affsig_jobs{state=\"SUCCEEDED\"} 3"),
           std::string("affsig_jobs{state=\"CANCELLED\"} 0"),
           std::string("affsig_queue_depth 4"),
           std::string("affsig_workers{state=\"busy\"} 1"),
           std::string("affsig_workers{state=\"starting\"} 1"),
           std::string("affsig_workers{state=\"idle\"} 0"),
           std::string("affsig_build_info{version=\"1.2.3\"} 1"),
           // Cumulative buckets: 0.5 s, 7 s and 27.8 h.
           duration + "_bucket{" + succeeded + ",le=\"1\"} 1",
           duration + "_bucket{" + succeeded + ",le=\"10\"} 2",
           duration + "_bucket{" + succeeded + ",le=\"43200\"} 2",
           duration + "_bucket{" + succeeded + ",le=\"+Inf\"} 3",
           duration + "_count{" + succeeded + "} 3",
           duration + "_sum{" + succeeded + "} 100007.5",
           duration + "_bucket{device=\"odd\\\"device\\\\\",outcome=\"LOST\",le=\"1\"} 1",
           std::string("affsig_activations_scored_total 3"),  // 3 batches of the one ok entry
           std::string("affsig_upload_bytes_total{kind=\"model\"} 1234"),
           std::string("affsig_upload_bytes_total{kind=\"input\"} 0"),
           std::string("# TYPE process_cpu_seconds_total counter"),
       }) {
    EXPECT_THAT(text, HasSubstr(line + "\n"));
  }
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
}

}  // namespace
}  // namespace affsig::http
