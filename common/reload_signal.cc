#include "common/reload_signal.h"

#include <pthread.h>
#include <signal.h>

#include <mutex>
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

struct ReloadSubscription::State {
  std::mutex mutex;
  std::function<void()> on_reload;  // empty once the subscription is gone.
};

ReloadSubscription::ReloadSubscription(std::function<void()> on_reload)
    : state_(std::make_shared<State>()) {
  state_->on_reload = std::move(on_reload);
  // Detached: it waits for signals as long as the program runs; sigwait cannot be interrupted
  // for it to end sooner.
  std::thread([state = state_] {
    const sigset_t signals = ReloadSignal();
    while (true) {
      int signal_number = 0;
      if (sigwait(&signals, &signal_number) != 0) continue;
      std::lock_guard<std::mutex> lock(state->mutex);
      if (state->on_reload) state->on_reload();
    }
  }).detach();
}

ReloadSubscription::~ReloadSubscription() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->on_reload = nullptr;
}

}  // namespace affsig
