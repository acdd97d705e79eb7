#include "server/api/authentication.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/error_reason.h"
#include "common/log_line.h"
#include "common/status_macros.h"

namespace affsig::api {

// One per call: authenticates when the call's metadata has arrived, forgets the verdict when the
// call is over.
class AuthenticationInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthenticationInterceptor(Authentication& authentication, grpc::experimental::ServerRpcInfo* info)
      : authentication_(authentication), info_(info) {}
  ~AuthenticationInterceptor() override {
    if (began_) authentication_.End(info_->server_context(), this);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      std::string authorization;
      auto found = metadata->find("authorization");
      if (found != metadata->end()) {
        authorization.assign(found->second.data(), found->second.size());
        metadata->erase(found);
      }
      absl::StatusOr<core::Caller> caller =
          authentication_.AuthenticateCall(*info_->server_context(), authorization);
      // Audited here, without the token; the standard services' calls (health checks of
      // probes that carry no token) are not ours to log.
      if (!caller.ok() && absl::StartsWith(info_->method(), "/affsig.")) {
        LogLine(absl::StrCat("audit: authentication failed for ", info_->method(), " from ",
                             info_->server_context()->peer(), ": ", caller.status().message()));
      }
      authentication_.Begin(info_->server_context(), {this, std::move(caller)});
      began_ = true;
    }
    methods->Proceed();
  }

 private:
  Authentication& authentication_;
  grpc::experimental::ServerRpcInfo* const info_;
  bool began_ = false;
};

namespace {

class AuthenticationInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthenticationInterceptorFactory(Authentication& authentication)
      : authentication_(authentication) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthenticationInterceptor(authentication_, info);
  }

 private:
  Authentication& authentication_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Authentication::InterceptorFactory() {
  return std::make_unique<AuthenticationInterceptorFactory>(*this);
}

absl::StatusOr<core::Caller> Authentication::Authenticate(absl::string_view authorization) const {
  if (registry_ == nullptr) return core::LocalCaller();
  return registry_->Authenticate(authorization);
}

absl::StatusOr<core::Caller> Authentication::AuthenticateCall(
    const grpc::ServerContextBase& context, absl::string_view authorization) const {
  if (registry_ != nullptr && authorization.empty()) {
    const std::shared_ptr<const grpc::AuthContext> peer = context.auth_context();
    if (peer != nullptr && peer->IsPeerAuthenticated()) {
      const std::vector<grpc::string_ref> names = peer->FindPropertyValues("x509_common_name");
      if (!names.empty()) {
        return registry_->FindWorker(absl::string_view(names[0].data(), names[0].size()));
      }
    }
  }
  return Authenticate(authorization);
}

absl::StatusOr<core::Caller> Authentication::CallerOf(
    const grpc::ServerContextBase* context) const {
  absl::MutexLock lock(&mutex_);
  auto found = calls_.find(context);
  if (found == calls_.end()) return absl::UnauthenticatedError("the call was not authenticated");
  return found->second.caller;
}

absl::StatusOr<core::Caller> Authentication::Authorize(const grpc::ServerContextBase* context,
                                                       Service service) const {
  ASSIGN_OR_RETURN(core::Caller caller, CallerOf(context));
  const bool allowed =
      service == Service::kSignatures ? core::MayUseService(caller) : core::MayRunJobs(caller);
  if (allowed) return caller;
  const std::string refusal =
      service == Service::kSignatures
          ? "the worker role may lease and run jobs, nothing else"
          : absl::StrCat("the ", core::RoleName(caller.role),
                         " role may not lease or run jobs: workers need a token of the worker "
                         "role");
  core::Audit(caller, absl::StrCat("refused: ", refusal));
  return WithReason(absl::PermissionDeniedError(refusal), reason::kRoleNotAllowed);
}

void Authentication::Begin(const grpc::ServerContextBase* context, Verdict verdict) {
  absl::MutexLock lock(&mutex_);
  calls_.insert_or_assign(context, std::move(verdict));
}

void Authentication::End(const grpc::ServerContextBase* context, const void* interceptor) {
  absl::MutexLock lock(&mutex_);
  auto found = calls_.find(context);
  if (found != calls_.end() && found->second.interceptor == interceptor) calls_.erase(found);
}

}  // namespace affsig::api
