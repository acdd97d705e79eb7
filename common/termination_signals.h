// SIGINT and SIGTERM in a multi-threaded program: blocked in every thread, taken by one thread of
// their own, so that stopping runs as ordinary code rather than in a signal handler.
#ifndef AFFSIG_COMMON_TERMINATION_SIGNALS_H_
#define AFFSIG_COMMON_TERMINATION_SIGNALS_H_

#include <functional>

namespace affsig {

// Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it starts afterwards
// (gRPC's and LibTorch's among them): call it first in main.
void BlockTerminationSignals();

// A thread of its own waits for the first SIGINT or SIGTERM and calls `on_signal` with its
// number, once.
void OnTerminationSignal(std::function<void(int signal)> on_signal);

}  // namespace affsig

#endif  // AFFSIG_COMMON_TERMINATION_SIGNALS_H_
