#include "tests/api/open_watch.h"

namespace affsig::testing {

OpenWatch::OpenWatch(v1::SignatureService::Stub& stub, const std::string& job_id) {
  request_.set_job_id(job_id);
  stub.async()->WatchJob(&context_, &request_, this);
  StartRead(&job_);
  StartCall();
}

void OpenWatch::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  {
    absl::MutexLock lock(&mutex_);
    ++views_;
    state_ = job_.state();
  }
  StartRead(&job_);
}

void OpenWatch::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mutex_);
  status_ = status;
  ended_ = true;
}

bool OpenWatch::WaitFor(
    const std::function<bool(int views, v1::JobState state, bool ended)>& condition,
    absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto met = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return condition(views_, state_, ended_);
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&met), timeout);
}

grpc::Status OpenWatch::status() {
  absl::MutexLock lock(&mutex_);
  return status_;
}

}  // namespace affsig::testing
