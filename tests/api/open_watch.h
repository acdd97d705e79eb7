// A WatchJob stream opened through gRPC's callback client API, so that a test or a benchmark can
// hold hundreds open without a thread each: it keeps how many views came, the last state, and how
// the stream ended.
#ifndef AFFSIG_TESTS_API_OPEN_WATCH_H_
#define AFFSIG_TESTS_API_OPEN_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "affsig/v1/signature_service.grpc.pb.h"

namespace affsig::testing {

class OpenWatch final : public grpc::ClientReadReactor<v1::Job> {
 public:
  // Starts watching `job_id`; the stub must outlive the watch.
  OpenWatch(v1::SignatureService::Stub& stub, const std::string& job_id);

  // True once `condition(views received, last state, ended)` holds; false after `timeout`.
  bool WaitFor(const std::function<bool(int views, v1::JobState state, bool ended)>& condition,
               absl::Duration timeout);
  grpc::Status status();
  // Ends the watch from this side.
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  v1::WatchJobRequest request_;
  v1::Job job_;
  absl::Mutex mutex_;
  int views_ ABSL_GUARDED_BY(mutex_) = 0;
  v1::JobState state_ ABSL_GUARDED_BY(mutex_) = v1::JOB_STATE_UNSPECIFIED;
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_API_OPEN_WATCH_H_
