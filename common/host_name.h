// This machine's name, for worker names and Slurm addresses.
#ifndef AFFSIG_COMMON_HOST_NAME_H_
#define AFFSIG_COMMON_HOST_NAME_H_

#include <unistd.h>

#include <string>

namespace affsig {

inline std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace affsig

#endif  // AFFSIG_COMMON_HOST_NAME_H_
