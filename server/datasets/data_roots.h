// Server paths that jobs name must lie inside one of the allowed roots: no "..", no escape
// through a symbolic link, nothing that does not exist.
#ifndef AFFSIG_SERVER_DATASETS_DATA_ROOTS_H_
#define AFFSIG_SERVER_DATASETS_DATA_ROOTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig::datasets {

// The canonical form of `path` (absolute, symbolic links resolved) when it is inside one of
// `roots`; PERMISSION_DENIED when it is not, NOT_FOUND when it does not exist.
absl::StatusOr<std::string> ResolveUnderRoots(absl::string_view path,
                                              const std::vector<std::string>& roots);

}  // namespace affsig::datasets

#endif  // AFFSIG_SERVER_DATASETS_DATA_ROOTS_H_
