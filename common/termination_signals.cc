#include "common/termination_signals.h"

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace affsig {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void BlockTerminationSignals() {
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void OnTerminationSignal(std::function<void(int signal)> on_signal) {
  // Detached: a program that ends by itself (a worker idle past --idle-exit) need not join it.
  std::thread([on_signal = std::move(on_signal)] {
    const sigset_t signals = TerminationSignals();
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    on_signal(signal_number);
  }).detach();
}

}  // namespace affsig
