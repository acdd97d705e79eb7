#include "common/reload_signal.h"

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace affsig {
namespace {

sigset_t ReloadSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

void BlockReloadSignal() {
  const sigset_t signals = ReloadSignal();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void OnReloadSignal(std::function<void()> on_reload) {
  // Detached: it waits for signals as long as the program runs.
  std::thread([on_reload = std::move(on_reload)] {
    const sigset_t signals = ReloadSignal();
    while (true) {
      int signal_number = 0;
      if (sigwait(&signals, &signal_number) == 0) on_reload();
    }
  }).detach();
}

}  // namespace affsig
