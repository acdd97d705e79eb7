// SIGHUP, which daemons take as "read your configuration again", in a multi-threaded program:
// blocked in every thread and taken by one thread of its own, as termination_signals.h does for
// SIGTERM, so that reloading runs as ordinary code rather than in a signal handler.
#ifndef AFFSIG_COMMON_RELOAD_SIGNAL_H_
#define AFFSIG_COMMON_RELOAD_SIGNAL_H_

#include <functional>
#include <memory>

namespace affsig {

// Blocks SIGHUP in the calling thread and in every thread it starts afterwards: call it first in
// main.
void BlockReloadSignal();

// Calls from a thread of its own `on_reload` at every SIGHUP, until destroyed: then it waits for
// a call under way and makes no more, so that `on_reload` may refer to objects that outlive it
// and no longer (a signal that comes while main returns finds nothing to call).
class ReloadSubscription {
 public:
  explicit ReloadSubscription(std::function<void()> on_reload);
  ~ReloadSubscription();
  ReloadSubscription(const ReloadSubscription&) = delete;
  ReloadSubscription& operator=(const ReloadSubscription&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the waiting thread, which outlives this.
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_RELOAD_SIGNAL_H_
