/* jobs.hpp: the job queue / outbox in the jobs table. Enqueue inside the
 * transaction that causes the work; workers on any host claim due jobs with
 * SELECT ... FOR UPDATE SKIP LOCKED and a lease (locked_until), so no two run
 * the same job at once and a crashed worker's job is picked up again after the
 * lease. Failures back off exponentially with jitter, then go dead. */
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <json/json.h>

#include "db.hpp"

namespace coach::jobs {

struct Job {
  int64_t id = 0;
  std::string kind, idempotency_key;
  Json::Value payload;
  int attempts = 0, max_attempts = 8;
};

/* Inserts a job unless one with the same idempotency key exists (then a
 * no-op). Returns true if a new row was inserted. delay_s delays the first run. */
bool enqueue(db::Db& db, const std::string& kind, const std::string& idempotency_key, const Json::Value& payload,
             int delay_s = 0, int max_attempts = 8);

/* Claims up to max_jobs due jobs of the given kinds (a worker claims only
 * what it can perform) for lease_s seconds. Retries the claim on 1213 (Galera
 * certification conflict). */
std::vector<Job> claim(db::Db& db, const std::string& worker_id, const std::vector<std::string>& kinds,
                       int max_jobs, int lease_s = 60);

void complete(db::Db& db, const Job& job, const std::string& worker_id);

/* Schedules a retry after backoff_s(attempts) or marks the job dead. */
void fail(db::Db& db, const Job& job, const std::string& worker_id, const std::string& error);

/* min(3600, 2^attempts * base) seconds with +-25 % jitter. */
int backoff_s(int attempts, int base_s = 5);

}  // namespace coach::jobs
