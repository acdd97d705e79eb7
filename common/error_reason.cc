#include "common/error_reason.h"

#include "absl/strings/ascii.h"

namespace affsig {
namespace {

constexpr char kReasonPayload[] = "type.googleapis.com/google.rpc.ErrorInfo.reason";

}  // namespace

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

std::string ErrorReason(const absl::Status& status) {
  if (status.ok()) return "";
  if (auto reason = status.GetPayload(kReasonPayload); reason.has_value()) {
    return std::string(*reason);
  }
  return absl::AsciiStrToUpper(absl::StatusCodeToString(status.code()));
}

}  // namespace affsig
