// A job as clients see it: the stored job and, while it runs, where and how far.
#ifndef AFFSIG_SERVER_CORE_JOB_VIEW_H_
#define AFFSIG_SERVER_CORE_JOB_VIEW_H_

#include <optional>

#include "common/job.h"
#include "server/core/job_monitor.h"

namespace affsig::core {

struct JobView {
  Job job;
  std::optional<RunningJob> running;
};

// True when `b` tells a watcher nothing that `a` did not: the same state and progress.
bool SameUpdate(const JobView& a, const JobView& b);

}  // namespace affsig::core

#endif  // AFFSIG_SERVER_CORE_JOB_VIEW_H_
