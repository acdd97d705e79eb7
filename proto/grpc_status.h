// absl::Status <-> grpc::Status, once at each edge (the server's adapters, the client library):
// same code and message, and the reason (common/error_reason.h) as a google.rpc.ErrorInfo in the
// status details, where grpcurl and other gRPC clients find it.
#ifndef AFFSIG_PROTO_GRPC_STATUS_H_
#define AFFSIG_PROTO_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace affsig {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace affsig

#endif  // AFFSIG_PROTO_GRPC_STATUS_H_
