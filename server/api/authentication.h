// Who makes each gRPC call, established once, before any service sees the call: a server
// interceptor reads the call's `authorization` metadata, has the token registry check it, takes
// the token out of the metadata (no handler can log it) and keeps the verdict for the call's
// lifetime; the services ask CallerOf. (This gRPC's AuthMetadataProcessor cannot serve plaintext
// ports, and an interceptor cannot end a call with a status of its own: hence the verdict.)
// Without a registry (no --auth-tokens) every call is the local user's.
#ifndef AFFSIG_SERVER_API_AUTHENTICATION_H_
#define AFFSIG_SERVER_API_AUTHENTICATION_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/token_registry.h"
#include "server/core/caller.h"

namespace affsig::api {

class Authentication {
 public:
  // `registry` (may be null) outlives this.
  explicit Authentication(const auth::TokenRegistry* registry) : registry_(registry) {}

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // The caller of the call `context` belongs to, or UNAUTHENTICATED saying why not.
  absl::StatusOr<core::Caller> CallerOf(const grpc::ServerContextBase* context) const;
  // The caller, when their role may call the service: SignatureService users and admins,
  // WorkerService workers. PERMISSION_DENIED (reason ROLE_NOT_ALLOWED) otherwise.
  enum class Service { kSignatures, kWorkers };
  absl::StatusOr<core::Caller> Authorize(const grpc::ServerContextBase* context,
                                         Service service) const;
  // Checks an HTTP request's Authorization header as a call's metadata is checked.
  absl::StatusOr<core::Caller> Authenticate(absl::string_view authorization) const;
  // A call's caller: its token's user; without a token, the worker a client certificate names
  // by its common name (verified at the handshake against --tls-client-ca, which a lab gives
  // its worker machines), when the tokens file has a `worker` line of that name.
  absl::StatusOr<core::Caller> AuthenticateCall(const grpc::ServerContextBase& context,
                                                absl::string_view authorization) const;

 private:
  friend class AuthenticationInterceptor;
  // The verdict on the call `interceptor` intercepts, kept under its context until End. A
  // context may serve one call after another (gRPC reuses them): End forgets only the verdict
  // its own interceptor left, never a later call's.
  struct Verdict {
    const void* interceptor;
    absl::StatusOr<core::Caller> caller;
  };
  void Begin(const grpc::ServerContextBase* context, Verdict verdict);
  void End(const grpc::ServerContextBase* context, const void* interceptor);

  const auth::TokenRegistry* const registry_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<const grpc::ServerContextBase*, Verdict> calls_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::api

#endif  // AFFSIG_SERVER_API_AUTHENTICATION_H_
