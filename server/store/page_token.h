// AIP-158 pagination over listings ordered by a descending sequence number (newest first). A
// page token is opaque to clients: it carries the position after which the next page starts and
// a fingerprint of the request's filter, so that a token is refused with another filter.
#ifndef AFFSIG_SERVER_STORE_PAGE_TOKEN_H_
#define AFFSIG_SERVER_STORE_PAGE_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/listing.h"
#include "server/store/database.h"

namespace affsig::store {

// Where a page starts: the page size to read and the sequence number to read below (nullopt for
// the first page).
struct PageStart {
  int size = kDefaultPageSize;
  std::optional<int64_t> before_seq;
};

// INVALID_ARGUMENT for a negative size, a malformed token, or a token of another filter.
absl::StatusOr<PageStart> StartPage(const PageRequest& request, absl::string_view filter_key);

// The token of the page after the one that ended with sequence number `last_seq`.
std::string NextPageToken(int64_t last_seq, absl::string_view filter_key);

// Reads one page from `select`, a query that returns up to start.size + 1 rows ordered by the
// descending sequence number in column `seq_column`; the extra row, when there, says that another
// page follows. `read_row` turns a row into an item.
template <typename T, typename ReadRow>
absl::StatusOr<Page<T>> ReadPage(Statement& select, const PageStart& start, int seq_column,
                                 absl::string_view filter_key, ReadRow read_row) {
  Page<T> page;
  int64_t last_seq = 0;
  while (select.Step()) {
    if (static_cast<int>(page.items.size()) == start.size) {
      page.next_page_token = NextPageToken(last_seq, filter_key);
      break;
    }
    page.items.push_back(read_row(select));
    last_seq = select.Int(seq_column);
  }
  if (!select.status().ok()) return select.status();
  return page;
}

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_PAGE_TOKEN_H_
