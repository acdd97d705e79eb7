// The worker's side of affsig.v1.WorkerService: one method per call, each with a deadline that
// fits it, grpc::Status turned into absl::Status once. The channel reconnects quickly to a server
// that restarts, and waits for it where waiting is right (asking for a job, ending one).
#ifndef AFFSIG_SERVER_WORKER_LEASE_CLIENT_H_
#define AFFSIG_SERVER_WORKER_LEASE_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "affsig/v1/worker_service.grpc.pb.h"
#include "common/signature.h"
#include "server/store/blob_store.h"

namespace affsig::worker {

class LeaseClient {
 public:
  // `token`: sent with every call (a server with --auth-tokens wants one of the worker role).
  // `credentials`: TLS or plaintext (proto/channel_credentials.h).
  LeaseClient(const std::string& server, std::string token,
              const std::shared_ptr<grpc::ChannelCredentials>& credentials);

  // Waits up to `wait` for a job (the server holds the call), and meanwhile for a server that is
  // not up yet. nullopt when no job came; CANCELLED after CancelLeaseWait.
  absl::StatusOr<std::optional<v1::Lease>> LeaseJob(v1::LeaseJobRequest request,
                                                    absl::Duration wait);
  // Ends a LeaseJob call that is waiting (the worker is stopping).
  void CancelLeaseWait();
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request);
  // Streams the blob into `upload`, which checks its sha256 when it finishes.
  absl::Status FetchBlob(const std::string& sha256, store::BlobUpload& upload);
  absl::Status CompleteJob(const std::string& lease_id, const Signature& signature,
                           const std::string& note, absl::Duration deadline);
  absl::Status FailJob(const std::string& lease_id, v1::AttemptOutcome outcome,
                       const std::string& reason, absl::Duration deadline);

 private:
  // A context for a call: the token's metadata, when there is a token.
  void Prepare(grpc::ClientContext& context) const;

  const std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  absl::Mutex mutex_;
  grpc::ClientContext* waiting_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace affsig::worker

#endif  // AFFSIG_SERVER_WORKER_LEASE_CLIENT_H_
