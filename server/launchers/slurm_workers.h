// Workers from the lab's Slurm cluster: while jobs wait, the server submits its worker batch
// script (deploy/slurm/affsig-worker.sbatch, or the lab's own) with sbatch, keeping at most
// `max_workers` of its Slurm jobs pending or running (counted by job name with squeue). Each
// such worker leases jobs over gRPC like any other and exits once idle (--idle-exit), giving its
// allocation back.
#ifndef AFFSIG_SERVER_LAUNCHERS_SLURM_WORKERS_H_
#define AFFSIG_SERVER_LAUNCHERS_SLURM_WORKERS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace affsig::launchers {

struct SlurmWorkersOptions {
  std::string sbatch_script;
  int max_workers = 4;
  std::string server_address;  // how the workers reach this server: AFFSIG_SERVER in their job
  std::vector<std::string> environment;  // more NAME=VALUE for their job (AFFSIG_TLS_CA, ...)
  std::string job_name = "affsig-worker";
  absl::Duration poll = absl::Seconds(2);
};

// Slurm's view of our workers.
struct SlurmCount {
  int64_t pending = 0;
  int64_t running = 0;
};

class SlurmWorkers {
 public:
  // `waiting_jobs` says how many jobs wait for a worker now.
  SlurmWorkers(SlurmWorkersOptions options,
               std::function<absl::StatusOr<int64_t>()> waiting_jobs);
  ~SlurmWorkers();

  void Start();
  // Stops submitting; Slurm jobs already submitted run on and finish their work.
  void Stop();
  // One round: counts our Slurm jobs and submits what the waiting jobs need.
  absl::Status Scale();

 private:
  absl::StatusOr<SlurmCount> Count();
  absl::Status Submit();
  void Loop();

  const SlurmWorkersOptions options_;
  const std::function<absl::StatusOr<int64_t>()> waiting_jobs_;
  std::thread thread_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace affsig::launchers

#endif  // AFFSIG_SERVER_LAUNCHERS_SLURM_WORKERS_H_
