#include "server/store/signature_store.h"

#include <utility>

#include "common/status_macros.h"
#include "server/store/signature_record.h"

namespace affsig::store {

absl::StatusOr<std::unique_ptr<SignatureStore>> SignatureStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Database::Open(path));
  return std::unique_ptr<SignatureStore>(new SignatureStore(std::move(db)));
}

absl::StatusOr<StoredSignature> SignatureStore::Get(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  StoredSignature signature;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ASSIGN_OR_RETURN(signature.job, ReadJob(*db_, id));
    ASSIGN_OR_RETURN(signature.entries, ReadSignatureEntries(*db_, id));
    return absl::OkStatus();
  }));
  return signature;
}

absl::StatusOr<Page<StoredSignature>> SignatureStore::List(JobFilter filter, bool with_entries,
                                                           const PageRequest& page) {
  filter.state = JobState::kSucceeded;
  absl::MutexLock lock(&mutex_);
  Page<StoredSignature> result;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ASSIGN_OR_RETURN(auto jobs, ReadJobs(*db_, filter, page));
    result.next_page_token = std::move(jobs.next_page_token);
    for (Job& job : jobs.items) {
      StoredSignature& signature = result.items.emplace_back();
      signature.job = std::move(job);
      if (!with_entries) continue;
      ASSIGN_OR_RETURN(signature.entries, ReadSignatureEntries(*db_, signature.job.id));
    }
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace affsig::store
