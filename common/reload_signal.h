// SIGHUP, which daemons take as "read your configuration again", in a multi-threaded program:
// blocked in every thread and taken by one thread of its own, as termination_signals.h does for
// SIGTERM, so that reloading runs as ordinary code rather than in a signal handler.
#ifndef AFFSIG_COMMON_RELOAD_SIGNAL_H_
#define AFFSIG_COMMON_RELOAD_SIGNAL_H_

#include <functional>

namespace affsig {

// Blocks SIGHUP in the calling thread and in every thread it starts afterwards: call it first in
// main.
void BlockReloadSignal();

// A thread of its own calls `on_reload` at every SIGHUP.
void OnReloadSignal(std::function<void()> on_reload);

}  // namespace affsig

#endif  // AFFSIG_COMMON_RELOAD_SIGNAL_H_
