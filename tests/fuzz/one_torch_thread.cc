// LLVMFuzzerInitialize of the harnesses that link LibTorch: one intra-op thread. Their inputs are
// small, and waking a pool of threads for each would only slow them.
#include <ATen/Parallel.h>

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  at::set_num_threads(1);
  return 0;
}
