// Turns exceptions thrown by LibTorch into one line that says what went wrong.
#ifndef AFFSIG_SERVER_ENGINE_TORCH_ERROR_H_
#define AFFSIG_SERVER_ENGINE_TORCH_ERROR_H_

#include <exception>
#include <string>

namespace affsig::engine {

// The message of a c10::Error or TorchScript interpreter error without its C++ backtrace and
// TorchScript traceback: the last "SomethingError: message" line, else the first line.
std::string OneLineTorchError(const std::exception& error);

}  // namespace affsig::engine

#endif  // AFFSIG_SERVER_ENGINE_TORCH_ERROR_H_
