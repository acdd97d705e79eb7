// AIP-193: every error of the API carries, beside its one-line message, a machine-readable
// reason (UPPER_SNAKE_CASE) in the domain "affsig.v1". Inside the server and the client the
// reason rides in the absl::Status as a payload; over gRPC it is a google.rpc.ErrorInfo
// (proto/grpc_status.h).
#ifndef AFFSIG_COMMON_ERROR_REASON_H_
#define AFFSIG_COMMON_ERROR_REASON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace affsig {

inline constexpr char kErrorDomain[] = "affsig.v1";

// The reasons affsig gives; a client may rely on them.
namespace reason {
inline constexpr char kJobNotFound[] = "JOB_NOT_FOUND";
inline constexpr char kJobRunning[] = "JOB_RUNNING";             // delete: cancel it first
inline constexpr char kJobAlreadyEnded[] = "JOB_ALREADY_ENDED";  // cancel of an ended job
inline constexpr char kBlobNotUploaded[] = "BLOB_NOT_UPLOADED";  // submit before upload
inline constexpr char kInvalidDigest[] = "INVALID_DIGEST";
inline constexpr char kUploadTooLarge[] = "UPLOAD_TOO_LARGE";
inline constexpr char kUploadCorrupted[] = "UPLOAD_CORRUPTED";  // bytes hash otherwise
inline constexpr char kInvalidPageToken[] = "INVALID_PAGE_TOKEN";
inline constexpr char kInvalidPageSize[] = "INVALID_PAGE_SIZE";
inline constexpr char kInvalidLabel[] = "INVALID_LABEL";
inline constexpr char kInvalidActivations[] = "INVALID_ACTIVATIONS";
inline constexpr char kInvalidDataSource[] = "INVALID_DATA_SOURCE";  // or its options
inline constexpr char kInvalidMeasures[] = "INVALID_MEASURES";       // an unknown measure's name
inline constexpr char kInvalidTimeout[] = "INVALID_TIMEOUT";
inline constexpr char kInvalidRequestId[] = "INVALID_REQUEST_ID";
inline constexpr char kQueueFull[] = "QUEUE_FULL";  // backpressure: submit again later
// A per-user quota (--max-queued-per-user, --max-upload-bytes-per-user) would be exceeded.
inline constexpr char kQuotaExceeded[] = "QUOTA_EXCEEDED";
// Identities (--auth-tokens): the caller may not do this to a job that is another user's.
inline constexpr char kNotOwner[] = "NOT_OWNER";
// The caller's role may not make this call (a worker submitting, a user leasing, a user
// submitting above priority 0).
inline constexpr char kRoleNotAllowed[] = "ROLE_NOT_ALLOWED";
inline constexpr char kServerStopping[] = "SERVER_STOPPING";
// Analyses (compare, cluster, correlate): a job named has no signature (not SUCCEEDED) ...
inline constexpr char kNoSignature[] = "NO_SIGNATURE";
// ... or the request cannot be answered as asked (too few or too many signatures, lengths that
// differ for a distance that needs one length, a constant series).
inline constexpr char kInvalidAnalysis[] = "INVALID_ANALYSIS";
// Workers (WorkerService): a lease that is no longer the job's current attempt.
inline constexpr char kLeaseExpired[] = "LEASE_EXPIRED";
}  // namespace reason

// `status` with `reason` attached (an OK status stays OK).
absl::Status WithReason(absl::Status status, absl::string_view reason);
// The attached reason; for an error without one, its code's name (NOT_FOUND, ...); "" for OK.
std::string ErrorReason(const absl::Status& status);

}  // namespace affsig

#endif  // AFFSIG_COMMON_ERROR_REASON_H_
