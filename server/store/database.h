// A SQLite database opened the way affsig's store needs it: WAL journal, a busy timeout, foreign
// keys on, and the numbered migrations of migrations/ applied in order, the version recorded in
// PRAGMA user_version. A database newer than this binary is refused.
#ifndef AFFSIG_SERVER_STORE_DATABASE_H_
#define AFFSIG_SERVER_STORE_DATABASE_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace affsig::store {

struct Migration {
  int version = 0;  // from the file name: 0001_jobs.sql -> 1
  std::string name;
  std::string sql;
};

// The time the store records: Unix milliseconds.
int64_t NowMs();

// The migrations compiled into this binary, in version order.
const std::vector<Migration>& BuiltInMigrations();

// One prepared statement; bind by 1-based position, step, read columns by 0-based index.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int position, absl::string_view text);
  Statement& Bind(int position, int64_t value);
  Statement& Bind(int position, double value);
  Statement& BindNull(int position);

  // True while a row is available; an error ends the rows and is kept in status().
  bool Step();
  // Runs a statement that returns no rows.
  absl::Status Run();
  // Makes the statement ready to bind and run again.
  void Reset();
  const absl::Status& status() const { return status_; }

  int64_t Int(int column) const { return sqlite3_column_int64(statement_, column); }
  double Double(int column) const { return sqlite3_column_double(statement_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string Text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_;
  absl::Status status_;
};

class Database {
 public:
  // Opens (creating if needed) and migrates with `migrations`.
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path, const std::vector<Migration>& migrations = BuiltInMigrations());
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  absl::StatusOr<std::unique_ptr<Statement>> Prepare(absl::string_view sql);
  absl::Status Execute(absl::string_view sql);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it returns an error).
  absl::Status Transaction(const std::function<absl::Status()>& body);
  // Runs `body` inside one read transaction, so that its reads all see the same snapshot.
  absl::Status ReadTransaction(const std::function<absl::Status()>& body);

  int SchemaVersion();
  // For sqlite3_changes and the like.
  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  absl::Status Migrate(const std::vector<Migration>& migrations);
  absl::Status Error(absl::string_view what) const;

  sqlite3* db_;
};

}  // namespace affsig::store

#endif  // AFFSIG_SERVER_STORE_DATABASE_H_
