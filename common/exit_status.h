// Exit statuses that affsig's programs, and the scripts and units that start them, agree on.
#ifndef AFFSIG_COMMON_EXIT_STATUS_H_
#define AFFSIG_COMMON_EXIT_STATUS_H_

namespace affsig {

// A worker stopped itself to drop a job LibTorch could not interrupt (EX_TEMPFAIL): start it
// again at once. deploy/slurm/affsig-worker.sbatch and deploy/affsig-worker@.service know it too.
inline constexpr int kWorkerExitRestartMe = 75;

}  // namespace affsig

#endif  // AFFSIG_COMMON_EXIT_STATUS_H_
