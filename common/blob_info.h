// What the server knows of an uploaded blob beside its bytes: its kind (model or input), size,
// the file name it was first uploaded under, when, and how many jobs use it (ListModels).
#ifndef AFFSIG_COMMON_BLOB_INFO_H_
#define AFFSIG_COMMON_BLOB_INFO_H_

#include <cstdint>
#include <optional>
#include <string>

namespace affsig {

enum class BlobKind { kModel, kInput };

struct BlobInfo {
  std::string sha256;
  BlobKind kind = BlobKind::kModel;
  std::optional<int64_t> size;  // nullopt for blobs that the catalog learnt of from old jobs
  std::string name;
  int64_t uploaded_at_ms = 0;
  int64_t job_count = 0;
};

}  // namespace affsig

#endif  // AFFSIG_COMMON_BLOB_INFO_H_
