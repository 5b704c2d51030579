/* db.cpp: Connector/C++ wrapper with reconnect and transaction retry. */
#include "db.hpp"

#include <chrono>
#include <random>
#include <thread>

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include "log.hpp"

namespace coach::db {

std::string Row::str(const std::string& col) const {
  auto it = cols.find(col);
  return (it == cols.end() || !it->second) ? "" : *it->second;
}
int64_t Row::i64(const std::string& col, int64_t dflt) const {
  auto it = cols.find(col);
  if (it == cols.end() || !it->second || it->second->empty()) return dflt;
  try {
    return std::stoll(*it->second);
  } catch (...) {
    return dflt;
  }
}
bool Row::is_null(const std::string& col) const {
  auto it = cols.find(col);
  return it == cols.end() || !it->second;
}

bool DbError::retryable() const {
  return code == 1213 || code == 1205 || code == 2006 || code == 2013 || code == 1243 || code == 2055;
}

static bool is_connection_error(int code) { return code == 2006 || code == 2013 || code == 2055 || code == 2003 || code == 2002 || code == 1243; }

DbSettings settings_from(const Config& cfg) {
  DbSettings s;
  s.host = cfg.db_host;
  s.port = cfg.db_port;
  s.name = cfg.db_name;
  s.user = cfg.db_user;
  s.password = cfg.db_password;
  return s;
}

Db::Db(DbSettings s) : s_(std::move(s)) {}
Db::~Db() = default;

sql::Connection& Db::conn() {
  if (conn_ && !conn_->isClosed()) return *conn_;
  conn_.reset();
  try {
    sql::mysql::MySQL_Driver* drv = sql::mysql::get_mysql_driver_instance();
    sql::ConnectOptionsMap opts;
    opts["hostName"] = "tcp://" + s_.host + ":" + std::to_string(s_.port);
    opts["userName"] = s_.user;
    opts["password"] = s_.password;
    opts["schema"] = s_.name;
    opts["OPT_CONNECT_TIMEOUT"] = 3;
    opts["OPT_READ_TIMEOUT"] = 30;
    opts["OPT_WRITE_TIMEOUT"] = 30;
    opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    opts["OPT_RECONNECT"] = false;
    conn_.reset(drv->connect(opts));
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute("SET time_zone = '+00:00'");
    st->execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'");
    st->execute("SET SESSION innodb_lock_wait_timeout = 10");
  } catch (const sql::SQLException& e) {
    conn_.reset();
    throw DbError(e.getErrorCode() ? e.getErrorCode() : 2003, "cannot connect to database");
  }
  return *conn_;
}

void Db::disconnect() {
  if (conn_) {
    try {
      conn_->close();
    } catch (...) {
    }
  }
  conn_.reset();
  in_tx_ = false;
}

namespace {
void bind(sql::PreparedStatement& ps, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    unsigned idx = static_cast<unsigned>(i + 1);
    const Param& p = params[i];
    if (std::holds_alternative<Null>(p)) ps.setNull(idx, 0);
    else if (std::holds_alternative<int64_t>(p)) ps.setInt64(idx, std::get<int64_t>(p));
    else ps.setString(idx, std::get<std::string>(p));
  }
}
}  // namespace

template <class F>
static auto run_stmt(Db& self, bool in_tx, F&& f, const std::function<void()>& drop) -> decltype(f()) {
  // Outside a transaction a statement that lost its connection is retried once
  // on a fresh connection (prepared statements do not survive a reconnect).
  for (int attempt = 0;; ++attempt) {
    try {
      return f();
    } catch (const sql::SQLException& e) {
      int code = e.getErrorCode();
      if (is_connection_error(code)) drop();
      if (is_connection_error(code) && !in_tx && attempt == 0) continue;
      throw DbError(code, e.what());
    }
  }
  (void)self;
}

Rows Db::query(const std::string& sql_text, const std::vector<Param>& params) {
  return run_stmt(*this, in_tx_, [&]() {
    std::unique_ptr<sql::PreparedStatement> ps(conn().prepareStatement(sql_text));
    bind(*ps, params);
    std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
    sql::ResultSetMetaData* md = rs->getMetaData();
    unsigned n = md->getColumnCount();
    Rows rows;
    while (rs->next()) {
      Row r;
      for (unsigned c = 1; c <= n; ++c) {
        std::string label = md->getColumnLabel(c);
        if (rs->isNull(c)) r.cols[label] = std::nullopt;
        else r.cols[label] = std::string(rs->getString(c));
      }
      rows.push_back(std::move(r));
    }
    return rows;
  }, [this] { disconnect(); });
}

std::optional<Row> Db::query_one(const std::string& sql_text, const std::vector<Param>& params) {
  Rows r = query(sql_text, params);
  if (r.empty()) return std::nullopt;
  return r.front();
}

uint64_t Db::exec(const std::string& sql_text, const std::vector<Param>& params) {
  return run_stmt(*this, in_tx_, [&]() {
    std::unique_ptr<sql::PreparedStatement> ps(conn().prepareStatement(sql_text));
    bind(*ps, params);
    return static_cast<uint64_t>(ps->executeUpdate());
  }, [this] { disconnect(); });
}

uint64_t Db::last_insert_id() {
  auto r = query_one("SELECT LAST_INSERT_ID() AS id");
  return r ? static_cast<uint64_t>(r->i64("id")) : 0;
}

bool Db::ping() {
  try {
    auto r = query_one("SELECT 1 AS one");
    return r && r->i64("one") == 1;
  } catch (...) {
    return false;
  }
}

void Db::transaction(const std::function<void(Db&)>& fn) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int max_tries = 4;
  for (int attempt = 1;; ++attempt) {
    try {
      {
        std::unique_ptr<sql::Statement> st(conn().createStatement());
        st->execute("START TRANSACTION");
      }
      in_tx_ = true;
      fn(*this);
      {
        std::unique_ptr<sql::Statement> st(conn().createStatement());
        st->execute("COMMIT");
      }
      in_tx_ = false;
      return;
    } catch (const sql::SQLException& e) {
      // Raised by START/COMMIT themselves.
      in_tx_ = false;
      int code = e.getErrorCode();
      try { if (conn_) { std::unique_ptr<sql::Statement> st(conn_->createStatement()); st->execute("ROLLBACK"); } } catch (...) { disconnect(); }
      if (is_connection_error(code)) disconnect();
      DbError de(code, e.what());
      if (!de.retryable() || attempt >= max_tries) throw de;
      log::warn("transaction retry", {{"code", std::to_string(code)}, {"attempt", std::to_string(attempt)}});
    } catch (const DbError& e) {
      in_tx_ = false;
      try { if (conn_) { std::unique_ptr<sql::Statement> st(conn_->createStatement()); st->execute("ROLLBACK"); } } catch (...) { disconnect(); }
      if (!e.retryable() || attempt >= max_tries) throw;
      log::warn("transaction retry", {{"code", std::to_string(e.code)}, {"attempt", std::to_string(attempt)}});
    } catch (...) {
      in_tx_ = false;
      try { if (conn_) { std::unique_ptr<sql::Statement> st(conn_->createStatement()); st->execute("ROLLBACK"); } } catch (...) { disconnect(); }
      throw;
    }
    std::uniform_int_distribution<int> jitter(5, 40);
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng) * attempt));
  }
}

Status Db::try_transaction(const std::function<void(Db&)>& fn) {
  try {
    transaction(fn);
    return ok_status();
  } catch (const DbError& e) {
    return to_error(e);
  }
}

void thread_init() { sql::mysql::get_mysql_driver_instance()->threadInit(); }
void thread_end() { sql::mysql::get_mysql_driver_instance()->threadEnd(); }

Error to_error(const std::exception& e) {
  if (const auto* de = dynamic_cast<const DbError*>(&e)) {
    log::error("database error", {{"code", std::to_string(de->code)}, {"what", de->what()}});
    if (is_connection_error(de->code)) return make_error(503, "db_unavailable", "The database is unavailable; try again shortly");
    return make_error(500, "db_error", "A database error occurred");
  }
  log::error("error", {{"what", e.what()}});
  return make_error(500, "internal_error", "Something went wrong on our side");
}

}  // namespace coach::db
