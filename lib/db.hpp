/* db.hpp: MariaDB access through MySQL Connector/C++ 1.1. One connection per
 * process (FastCGI processes serve one request at a time), re-opened after a
 * lost connection; small typed helpers for parameterized queries; transactions
 * retried as a whole on deadlock / Galera certification failure (1213), lock
 * wait timeout (1205) and lost connection. */
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "config.hpp"
#include "result.hpp"

namespace sql { class Connection; }

namespace coach::db {

struct Null {};
using Param = std::variant<Null, int64_t, std::string>;
inline Param null() { return Null{}; }
inline Param opt(const std::optional<std::string>& s) { return s ? Param(*s) : Param(Null{}); }

/* One result row: column label -> value (nullopt for SQL NULL). */
class Row {
 public:
  std::map<std::string, std::optional<std::string>> cols;
  std::string str(const std::string& col) const;         // "" for NULL/absent
  int64_t i64(const std::string& col, int64_t dflt = 0) const;
  bool is_null(const std::string& col) const;
};
using Rows = std::vector<Row>;

/* Thrown (and caught by transaction()/with_retry) for retryable conditions. */
struct DbError : std::runtime_error {
  int code;
  DbError(int c, const std::string& m) : std::runtime_error(m), code(c) {}
  bool retryable() const;
};

struct DbSettings {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string name, user, password;
};
DbSettings settings_from(const Config& cfg);

class Db {
 public:
  explicit Db(DbSettings s);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /* Run a statement; throws DbError on failure. */
  Rows query(const std::string& sql, const std::vector<Param>& params = {});
  uint64_t exec(const std::string& sql, const std::vector<Param>& params = {});  // affected rows
  uint64_t last_insert_id();
  std::optional<Row> query_one(const std::string& sql, const std::vector<Param>& params = {});

  /* Runs fn inside BEGIN..COMMIT. If fn throws DbError that is retryable
   * (1213, 1205, lost connection), rolls back and runs fn again (max 4 tries).
   * Any other exception rolls back and propagates. fn must only touch the
   * database (side effects go to the outbox). */
  void transaction(const std::function<void(Db&)>& fn);

  /* Returns a Result instead of throwing: DbError -> 503 db_unavailable for
   * connection problems, 500 db_error otherwise. */
  Status try_transaction(const std::function<void(Db&)>& fn);

  /* Connects if needed and answers SELECT 1; false on failure. */
  bool ping();

  /* Drops the connection (tests use this to simulate a server restart). */
  void disconnect();

 private:
  sql::Connection& conn();
  DbSettings s_;
  std::unique_ptr<sql::Connection> conn_;
  bool in_tx_ = false;
};

/* Connector/C++ needs these around each extra thread that uses a Db. */
void thread_init();
void thread_end();

/* Maps a std::exception thrown while handling a request to an Error. */
Error to_error(const std::exception& e);

}  // namespace coach::db
