// One worker thread per device. Each takes jobs until stopped; a stop lets running jobs finish
// (a job interrupted by a crash instead is requeued when the queue is next opened). Each job's
// start and end is logged, one line each, and passed on to `events`.
#ifndef AFFSIG_SERVER_WORKERS_WORKER_POOL_H_
#define AFFSIG_SERVER_WORKERS_WORKER_POOL_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/workers/signature_worker.h"

namespace affsig::workers {

class WorkerPool {
 public:
  WorkerPool(store::JobQueue& queue, const store::BlobStore& blobs,
             std::vector<WorkerOptions> devices, WorkerEvents events = {});
  ~WorkerPool();

  void Start();
  // A job was submitted: idle workers look at once instead of at their next poll.
  void WakeUp();
  // Returns when every worker has finished its current job.
  void Stop();

 private:
  void Loop(const WorkerOptions& options);

  store::JobQueue& queue_;
  const store::BlobStore& blobs_;
  std::vector<WorkerOptions> devices_;
  WorkerEvents events_;
  std::vector<std::thread> threads_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t wake_ups_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace affsig::workers

#endif  // AFFSIG_SERVER_WORKERS_WORKER_POOL_H_
