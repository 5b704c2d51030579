/* jobs.cpp: job queue on MariaDB with SKIP LOCKED claims. */
#include "jobs.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "json_util.hpp"
#include "log.hpp"

namespace coach::jobs {

bool enqueue(db::Db& db, const std::string& kind, const std::string& key, const Json::Value& payload, int delay_s,
             int max_attempts) {
  return db.exec("INSERT IGNORE INTO jobs (kind, idempotency_key, payload, run_after, max_attempts) "
                 "VALUES (?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND, ?)",
                 {kind, key, json::write(payload), int64_t(delay_s), int64_t(max_attempts)}) > 0;
}

std::vector<Job> claim(db::Db& db, const std::string& worker_id, const std::vector<std::string>& kinds,
                       int max_jobs, int lease_s) {
  std::vector<Job> out;
  if (kinds.empty()) return out;
  std::string in = "?";
  for (size_t i = 1; i < kinds.size(); ++i) in += ",?";
  std::vector<db::Param> params;
  for (const auto& k : kinds) params.emplace_back(k);
  params.emplace_back(int64_t(max_jobs));
  db.transaction([&](db::Db& tx) {
    out.clear();
    // pending and due, or running with an expired lease (its worker died).
    auto rows = tx.query(
        "SELECT id, kind, idempotency_key, payload, attempts, max_attempts FROM jobs "
        "WHERE kind IN (" + in + ") AND ((status = 'pending' AND run_after <= CURRENT_TIMESTAMP(3)) "
        "   OR (status = 'running' AND locked_until < CURRENT_TIMESTAMP(3))) "
        "ORDER BY run_after, id LIMIT ? FOR UPDATE SKIP LOCKED",
        params);
    for (const auto& r : rows) {
      Job j;
      j.id = r.i64("id");
      j.kind = r.str("kind");
      j.idempotency_key = r.str("idempotency_key");
      auto p = json::parse(r.str("payload"));
      j.payload = p ? *p : Json::Value(Json::objectValue);
      j.attempts = static_cast<int>(r.i64("attempts")) + 1;
      j.max_attempts = static_cast<int>(r.i64("max_attempts"));
      tx.exec("UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ?, "
              "locked_until = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?",
              {worker_id, int64_t(lease_s), j.id});
      out.push_back(std::move(j));
    }
  });
  return out;
}

void complete(db::Db& db, const Job& job, const std::string& worker_id) {
  db.exec("UPDATE jobs SET status = 'done', finished_at = CURRENT_TIMESTAMP(3), locked_by = NULL, locked_until = NULL, "
          "last_error = NULL WHERE id = ? AND locked_by = ?",
          {job.id, worker_id});
}

int backoff_s(int attempts, int base_s) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  double b = std::min(3600.0, std::pow(2.0, std::max(0, attempts - 1)) * base_s);
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return std::max(1, static_cast<int>(b * jitter(rng)));
}

void fail(db::Db& db, const Job& job, const std::string& worker_id, const std::string& error) {
  bool dead = job.attempts >= job.max_attempts;
  db.exec("UPDATE jobs SET status = ?, run_after = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND, locked_by = NULL, "
          "locked_until = NULL, last_error = ?, finished_at = IF(? = 'dead', CURRENT_TIMESTAMP(3), NULL) "
          "WHERE id = ? AND locked_by = ?",
          {std::string(dead ? "dead" : "pending"), int64_t(dead ? 0 : backoff_s(job.attempts)),
           log::redact(error).substr(0, 1000), std::string(dead ? "dead" : "pending"), job.id, worker_id});
  log::warn(dead ? "job dead" : "job failed; will retry",
            {{"job_id", std::to_string(job.id)}, {"kind", job.kind}, {"attempts", std::to_string(job.attempts)},
             {"error", error}});
}

}  // namespace coach::jobs
