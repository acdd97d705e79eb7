// Who makes a call: the user a token named (server/auth/), their role and their own quotas. The
// gRPC edge establishes it once per call; the core decides with it what the call may do: whose
// jobs it may cancel or delete, at what priority it may submit, how much it may queue and store.
#ifndef AFFSIG_SERVER_CORE_CALLER_H_
#define AFFSIG_SERVER_CORE_CALLER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/job.h"

namespace affsig::core {

enum class Role {
  kUser,    // submits, reads everything, cancels and deletes their own jobs
  kAdmin,   // a user who may also cancel and delete anyone's jobs and submit above priority 0
  kWorker,  // leases and runs jobs, and nothing else
  // The one user of a server without --auth-tokens (loopback only): everything, as before
  // identities existed.
  kLocal,
};

absl::string_view RoleName(Role role);
// "user", "admin" or "worker": the roles a tokens file may give (kLocal is no one's).
absl::StatusOr<Role> ParseRole(absl::string_view name);

// A user's own limits, from their line of the tokens file; unset: the server's default.
struct UserQuotas {
  std::optional<int64_t> max_queued_jobs;
  std::optional<int64_t> max_upload_bytes;
};

struct Caller {
  std::string user;
  Role role = Role::kUser;
  UserQuotas quotas;
};

// The caller of a server without --auth-tokens.
Caller LocalCaller();

// The user the server's own local workers call as (server.h makes their token at start); the
// only one whose workers may lease under "local/" names, which the server trusts to die with it.
inline constexpr char kLocalWorkersUser[] = "local-workers";

// One audit log line: who (user and role) did or was refused what. Never a token.
void Audit(const Caller& caller, absl::string_view what);

// May `caller` cancel or delete what `owner` owns?
bool MayManage(const Caller& caller, absl::string_view owner);
// May `caller` submit, upload and read (users and admins), or lease jobs (workers)?
bool MayUseService(const Caller& caller);
bool MayRunJobs(const Caller& caller);
// May `caller` queue a job above the default priority 0?
bool MayRaisePriority(const Caller& caller);

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_CALLER_H_
