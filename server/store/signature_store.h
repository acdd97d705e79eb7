// Reading stored signatures: one job's entries, and the signatures of SUCCEEDED jobs filtered by
// label, model, name and time for dashboards, each job with its signature's summary. The entries
// are written by JobQueue::Complete, in the transaction that ends the job (signature_record.h).
#ifndef AFFSIG_SERVER_STORE_SIGNATURE_STORE_H_
#define AFFSIG_SERVER_STORE_SIGNATURE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/signature.h"
#include "server/store/database.h"
#include "server/store/job_record.h"
#include "server/store/page_token.h"

namespace affsig::store {

class SignatureStore {
 public:
  // Opens its own connection to the database at `path` (migrating it when needed).
  static absl::StatusOr<std::unique_ptr<SignatureStore>> Open(const std::string& path);

  // The entries of job `id` in execution order (none unless it SUCCEEDED); NOT_FOUND for an
  // unknown job.
  absl::StatusOr<StoredSignature> Get(absl::string_view id);
  // SUCCEEDED jobs that `filter` selects (its state is ignored), newest first; with entries when
  // `with_entries`.
  absl::StatusOr<Page<StoredSignature>> List(JobFilter filter, bool with_entries,
                                             const PageRequest& page);

 private:
  explicit SignatureStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  absl::Mutex mutex_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_SIGNATURE_STORE_H_
