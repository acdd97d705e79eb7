#include "server/core/caller.h"

#include "absl/strings/str_cat.h"
#include "common/enum_names.h"
#include "common/log_line.h"

namespace affsig::core {
namespace {

constexpr EnumNames<Role, 4> kRoleNames = {{
    {Role::kUser, "user"},
    {Role::kAdmin, "admin"},
    {Role::kWorker, "worker"},
    {Role::kLocal, "local"},
}};

}  // namespace

absl::string_view RoleName(Role role) { return NameOf(kRoleNames, role, "unknown"); }

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  const std::optional<Role> role = ValueNamed(kRoleNames, name);
  if (!role || *role == Role::kLocal) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown role '", name, "': user, admin or worker"));
  }
  return *role;
}

void Audit(const Caller& caller, absl::string_view what) {
  LogLine(absl::StrCat("audit: ", caller.user, " (", RoleName(caller.role), ") ", what));
}

Caller LocalCaller() { return Caller{kUnknownOwner, Role::kLocal, {}}; }

bool MayManage(const Caller& caller, absl::string_view owner) {
  switch (caller.role) {
    case Role::kAdmin:
    case Role::kLocal:
      return true;
    case Role::kUser:
      return caller.user == owner;
    case Role::kWorker:
      return false;
  }
  return false;
}

bool MayUseService(const Caller& caller) { return caller.role != Role::kWorker; }

bool MayRunJobs(const Caller& caller) {
  return caller.role == Role::kWorker || caller.role == Role::kLocal;
}

bool MayRaisePriority(const Caller& caller) {
  return caller.role == Role::kAdmin || caller.role == Role::kLocal;
}

}  // namespace affsig::core
