/* reconcile.hpp: heal what lost webhooks missed. Cal.com delivers webhooks at
 * most once (reference §7.5), so we periodically list each active coach's
 * recent bookings (GET /v2/bookings, cal-api-version 2024-08-13, take/skip
 * paging, as the coach) and upsert every one through the same convergence
 * code the webhooks use (webhooks::converge_booking): the result is the same
 * whichever arrives first, and nothing newer is overwritten.
 *
 * Partitioning: the worker queues one "reconcile_coach" job per active coach
 * per time bucket (idempotency key reconcile:<coach>:<bucket>), so workers on
 * several hosts split the coaches through the job queue's SKIP LOCKED claims
 * and never repeat each other's work within a bucket. */
#pragma once
#include <cstdint>
#include <string>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "result.hpp"

namespace coach::reconcile {

inline constexpr const char* kJobKind = "reconcile_coach";

struct Options {
  int lookback_days = 7;   // bookings starting at most this long ago (and all later ones)
  int page_size = 100;     // take (Cal.com allows up to 250)
  int max_pages = 50;      // safety stop
};

struct Outcome {
  int64_t coach_user_id = 0;
  int n_seen = 0;          // bookings Cal.com listed
  int n_changed = 0;       // rows that changed (a healed booking counts once)
  int n_invalid = 0;       // bookings whose JSON we could not use (logged, skipped)
  int n_pages = 0;
};

/* Lists the coach's bookings from Cal.com and converges each one, one
 * transaction per booking. Errors: 404 not_connected (no active
 * integration), cal_* from Cal.com (what was converged before stays). */
Result<Outcome> reconcile_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t coach_user_id,
                                const Options& opt = {});

/* Queues a reconcile_coach job for every active coach whose id falls in this
 * partition (user_id % n_partitions == partition; n_partitions 1 = all), keyed
 * per bucket_s time bucket so repeated calls within a bucket queue nothing.
 * Returns how many jobs were newly queued. */
int queue_reconcile_jobs(db::Db& db, int bucket_s = 900, int partition = 0, int n_partitions = 1);

}  // namespace coach::reconcile
