#include "common/job.h"

#include "absl/strings/str_cat.h"
#include "common/enum_names.h"

namespace affsig {
namespace {

constexpr EnumNames<ActivationMode, 2> kModeNames = {{
    {ActivationMode::kModules, "modules"},
    {ActivationMode::kAll, "all"},
}};

constexpr EnumNames<ForwardOptimization, 2> kOptimizationNames = {{
    {ForwardOptimization::kAuto, "auto"},
    {ForwardOptimization::kOff, "off"},
}};

constexpr EnumNames<JobState, 5> kStateNames = {{
    {JobState::kQueued, "QUEUED"},
    {JobState::kRunning, "RUNNING"},
    {JobState::kSucceeded, "SUCCEEDED"},
    {JobState::kFailed, "FAILED"},
    {JobState::kCancelled, "CANCELLED"},
}};

constexpr EnumNames<AttemptOutcome, 6> kOutcomeNames = {{
    {AttemptOutcome::kSucceeded, "SUCCEEDED"},
    {AttemptOutcome::kFailed, "FAILED"},
    {AttemptOutcome::kCancelled, "CANCELLED"},
    {AttemptOutcome::kTimedOut, "TIMED_OUT"},
    {AttemptOutcome::kLost, "LOST"},
    {AttemptOutcome::kReturned, "RETURNED"},
}};

}  // namespace

absl::string_view ActivationModeName(ActivationMode mode) {
  return NameOf(kModeNames, mode, "modules");
}

absl::StatusOr<ActivationMode> ParseActivationMode(absl::string_view name) {
  if (auto mode = ValueNamed(kModeNames, name)) return *mode;
  return absl::InvalidArgumentError(
      absl::StrCat("activations must be 'modules' or 'all', got '", name, "'"));
}

absl::string_view ForwardOptimizationName(ForwardOptimization optimization) {
  return NameOf(kOptimizationNames, optimization, "auto");
}

absl::StatusOr<ForwardOptimization> ParseForwardOptimization(absl::string_view name) {
  if (auto optimization = ValueNamed(kOptimizationNames, name)) return *optimization;
  return absl::InvalidArgumentError(
      absl::StrCat("optimize must be 'auto' or 'off', got '", name, "'"));
}

absl::string_view JobStateName(JobState state) { return NameOf(kStateNames, state, "UNKNOWN"); }

absl::StatusOr<JobState> ParseJobState(absl::string_view name) {
  if (auto state = ValueNamed(kStateNames, name)) return *state;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown job state '", name, "': use QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"));
}

bool IsFinal(JobState state) { return state != JobState::kQueued && state != JobState::kRunning; }

absl::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  return NameOf(kOutcomeNames, outcome, "UNKNOWN");
}

absl::StatusOr<AttemptOutcome> ParseAttemptOutcome(absl::string_view name) {
  if (auto outcome = ValueNamed(kOutcomeNames, name)) return *outcome;
  return absl::InvalidArgumentError(absl::StrCat("unknown attempt outcome '", name, "'"));
}

}  // namespace affsig
