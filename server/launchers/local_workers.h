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
  std::string server_address;  // where the children reach the server: SocketAddress(...)
  std::vector<std::string> devices;
  int threads = 0;                      // LibTorch intra-op threads of each worker
  std::vector<std::string> data_roots;  // the server's --data-root folders
  std::string server_data_dir;          // the server's blobs are read in place, not fetched
  std::string cache_dir;                // a folder each worker gets its own cache in
  // The token the workers call the server with (servers with --auth-tokens; "": none). Handed
  // over in their environment: a command line is anyone's to read in /proc.
  std::string token;
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
  // A new address for the server to listen on for its local workers: a Unix socket in the
  // abstract namespace, named by this process and a random number. Not the --listen address:
  // the children need no certificate whatever --listen's TLS (they could not verify one by an
  // address such as 0.0.0.0), and nothing crosses the network. Abstract rather than a file: a
  // file's path must fit in 107 bytes, which a deep --data-dir's does not, and a killed server
  // leaves nothing behind. It has no permissions: any process of this machine may connect, as
  // to a loopback port, so a call through it is authenticated as any other.
  static std::string SocketAddress();

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
