// The server's own workers: one affsig-worker child process per local device, supervised. A
// worker that dies is reported (its lease is lost at once, not when it would have expired) and
// started again, after a backoff that grows while it keeps dying; its output goes to the server's
// log, each line prefixed with its device. Children die with the server.
#ifndef AFFSIG_SERVER_LAUNCHERS_LOCAL_WORKERS_H_
#define AFFSIG_SERVER_LAUNCHERS_LOCAL_WORKERS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace affsig::launchers {

struct LocalWorkersOptions {
  std::string worker_binary;   // affsig-worker
  std::string server_address;  // where the children reach the server, e.g. 127.0.0.1:PORT
  std::vector<std::string> devices;
  int threads = 0;                      // LibTorch intra-op threads of each worker
  std::vector<std::string> data_roots;  // the server's --data-root folders
  std::string server_data_dir;          // the server's blobs are read in place, not fetched
  std::string cache_dir;                // a folder each worker gets its own cache in
  // How long a worker told to stop (SIGTERM) may take to finish or return its job.
  absl::Duration stop_grace = absl::Seconds(30);
};

class LocalWorkers {
 public:
  // `on_exit(worker, reason)` is called when a worker ended other than by Stop.
  using ExitCallback = std::function<void(const std::string& worker, const std::string& reason)>;
  LocalWorkers(LocalWorkersOptions options, ExitCallback on_exit);
  ~LocalWorkers();

  // The names the workers of `devices` lease under, in order: "local/<device>", and
  // "local/<device>.<n>" for the n-th further worker on one device.
  static std::vector<std::string> Names(const std::vector<std::string>& devices);

  void Start();
  // SIGTERM to every worker; SIGKILL to those still running after the stop grace. Returns once
  // every worker has exited.
  void Stop();

 private:
  struct Slot {
    std::string device;
    pid_t pid = -1;
  };
  void Supervise(size_t index);
  std::vector<std::string> Arguments(size_t index) const;

  const LocalWorkersOptions options_;
  const std::vector<std::string> names_;
  const ExitCallback on_exit_;
  std::vector<std::thread> threads_;
  absl::Mutex mutex_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace affsig::launchers

#endif  // AFFSIG_SERVER_LAUNCHERS_LOCAL_WORKERS_H_
