#include "server/store/database.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace affsig::store {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Statement& Statement::Bind(int position, absl::string_view text) {
  sqlite3_bind_text(statement_, position, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int position, int64_t value) {
  sqlite3_bind_int64(statement_, position, value);
  return *this;
}

Statement& Statement::Bind(int position, double value) {
  sqlite3_bind_double(statement_, position, value);
  return *this;
}

Statement& Statement::BindNull(int position) {
  sqlite3_bind_null(statement_, position);
  return *this;
}

bool Statement::Step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    status_ = absl::InternalError(absl::StrCat("sqlite: ", sqlite3_errmsg(db_)));
  }
  return false;
}

absl::Status Statement::Run() {
  while (Step()) {
  }
  return status_;
}

void Statement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  status_ = absl::OkStatus();
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       sqlite3_column_bytes(statement_, column));
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         const std::vector<Migration>& migrations) {
  sqlite3* handle = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return absl::UnavailableError(absl::StrCat("cannot open database '", path, "': ", message));
  }
  std::unique_ptr<Database> db(new Database(handle));
  sqlite3_busy_timeout(handle, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"}) {
    RETURN_IF_ERROR(db->Execute(pragma));
  }
  RETURN_IF_ERROR(db->Migrate(migrations));
  return db;
}

Database::~Database() { sqlite3_close(db_); }

absl::Status Database::Error(absl::string_view what) const {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db_)));
}

absl::StatusOr<std::unique_ptr<Statement>> Database::Prepare(absl::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    return Error(absl::StrCat("sqlite cannot prepare '", sql, "'"));
  }
  return std::make_unique<Statement>(db_, statement);
}

absl::Status Database::Execute(absl::string_view sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status status = absl::InternalError(absl::StrCat("sqlite: ", message ? message : ""));
    sqlite3_free(message);
    return status;
  }
  return absl::OkStatus();
}

absl::Status Database::Transaction(const std::function<absl::Status()>& body) {
  RETURN_IF_ERROR(Execute("BEGIN IMMEDIATE"));
  absl::Status status = body();
  if (!status.ok()) {
    Execute("ROLLBACK").IgnoreError();
    return status;
  }
  if (absl::Status commit = Execute("COMMIT"); !commit.ok()) {
    Execute("ROLLBACK").IgnoreError();
    return commit;
  }
  return absl::OkStatus();
}

absl::Status Database::ReadTransaction(const std::function<absl::Status()>& body) {
  RETURN_IF_ERROR(Execute("BEGIN"));
  absl::Status status = body();
  Execute("COMMIT").IgnoreError();  // nothing was written: ending the snapshot cannot lose data
  return status;
}

int Database::SchemaVersion() {
  auto statement = Prepare("PRAGMA user_version");
  if (!statement.ok() || !(*statement)->Step()) return -1;
  return static_cast<int>((*statement)->Int(0));
}

absl::Status Database::Migrate(const std::vector<Migration>& migrations) {
  const int current = SchemaVersion();
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  if (current > newest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database is at schema version ", current, " but this affsig knows versions up to ",
        newest, ": run a newer affsig-server (or restore a backup made with this version)"));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    RETURN_IF_ERROR(Transaction([&] {
      if (absl::Status applied = Execute(migration.sql); !applied.ok()) {
        return absl::InternalError(
            absl::StrCat("migration ", migration.name, " failed: ", applied.message()));
      }
      return Execute(absl::StrCat("PRAGMA user_version = ", migration.version));
    }));
  }
  return absl::OkStatus();
}

}  // namespace affsig::store
