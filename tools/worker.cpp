/* tools/worker.cpp: the background worker. Claims jobs from the jobs table
 * (SKIP LOCKED, so several workers on several hosts can run), performs them,
 * keeps coaches' Cal.com access tokens fresh ahead of expiry, applies stored
 * Cal.com webhook events (retries with backoff, dead letters) and queues the
 * per-coach booking reconciliation.
 *   worker            run until SIGTERM/SIGINT
 *   worker --once     one pass (cron on shared hosting), exit 0 */
#include <csignal>
#include <cstring>
#include <thread>

#include <unistd.h>

#include "availability.hpp"
#include "booking_mail.hpp"
#include "cal_integration.hpp"
#include "config.hpp"
#include "http_client.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "payments.hpp"
#include "meetings.hpp"
#include "reconcile.hpp"
#include "session_reminders.hpp"
#include "webhooks.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

using namespace coach;

/* Performs one job; an Error means "retry later". */
Status perform(const Config& cfg, db::Db& db, calcom::Client& cal, const jobs::Job& job) {
  if (job.kind == "onboard_coach") {
    int64_t uid = json::num(job.payload, "userId");
    auto r = integration::onboard_coach(cfg, db, cal, uid);
    if (!r) return r.error();
    return ok_status();
  }
  if (job.kind == "sync_coach") {
    availability::Ctx c{cfg, db, cal};
    return availability::sync_coach(c, json::num(job.payload, "userId"));
  }
  if (job.kind == reconcile::kJobKind) {
    auto r = reconcile::reconcile_coach(cfg, db, cal, json::num(job.payload, "userId"));
    if (!r) return r.error();
    return ok_status();
  }
  if (job.kind == "refresh_tokens") {
    int64_t uid = json::num(job.payload, "userId");
    auto r = integration::refresh_tokens(cfg, db, cal, uid, integration::RefreshMode::if_needed);
    if (!r) return r.error();
    return ok_status();
  }
  if (job.kind == "send_email") return booking_mail::perform_job(cfg, db, job.id, json::write(job.payload));
  if (job.kind == meetings::kJobKind) {
    zoom::Client z(zoom::settings_from(cfg));
    return meetings::perform_job(cfg, db, z, cal, job.payload);
  }
  if (job.kind == meetings::kWebhookJobKind) return meetings::apply_event(db, json::num(job.payload, "eventId"));
  if (job.kind == session_reminders::kJobKind) return session_reminders::perform_job(cfg, db, job.id, job.payload);
  for (const auto& k : payments::job_kinds())
    if (job.kind == k) return payments::perform_job(cfg, db, cal, job);
  return make_error(500, "unknown_job", "Unknown job kind '" + job.kind + "'");
}

/* Queues a refresh for every active integration whose access token expires
 * within twice the refresh margin; the idempotency key (user + token version)
 * makes several workers queue it once. */
void sweep_expiring_tokens(const Config& cfg, db::Db& db) {
  int64_t horizon = calcom::now_ms() + int64_t(cfg.token_refresh_margin_s) * 2000;
  for (const auto& r : db.query("SELECT user_id, token_version FROM CalendarIntegration "
                                "WHERE status = 'active' AND access_expires_at_ms < ? LIMIT 500",
                                {horizon})) {
    Json::Value p;
    p["userId"] = Json::Int64(r.i64("user_id"));
    jobs::enqueue(db, "refresh_tokens", "refresh:" + r.str("user_id") + ":" + r.str("token_version"), p, 0, 5);
  }
}

/* Reconciliation: every active coach's schedules and session types are pulled
 * from Cal.com (the source of truth) every 10 minutes; the time bucket in the
 * idempotency key makes workers on several hosts queue each pull once. */
void queue_coach_syncs(db::Db& db) {
  // Once per bucket per worker process is enough (the keys dedupe across hosts).
  static int64_t last_bucket = -1;
  const int64_t bucket = calcom::now_ms() / 600000;
  if (bucket == last_bucket) return;
  last_bucket = bucket;
  for (const auto& r : db.query("SELECT user_id, FLOOR(UNIX_TIMESTAMP() / 600) AS bucket FROM CalendarIntegration "
                                "WHERE status = 'active' LIMIT 5000")) {
    Json::Value p;
    p["userId"] = Json::Int64(r.i64("user_id"));
    jobs::enqueue(db, "sync_coach", "sync:" + r.str("user_id") + ":" + r.str("bucket"), p, 0, 3);
  }
}

/* Booking reconciliation: one job per active coach every 15 minutes (the
 * bucket in the key dedupes across hosts; the queue spreads coaches over
 * workers). */
void queue_reconciles(db::Db& db) {
  static int64_t last_bucket = -1;
  const int64_t bucket = calcom::now_ms() / 900000;
  if (bucket == last_bucket) return;
  last_bucket = bucket;
  reconcile::queue_reconcile_jobs(db, 900);
}

/* Stored webhook events that are due (not applied by the receiver, or
 * failed and now past their backoff). Leases are short: applying is one
 * local transaction. */
int apply_webhook_events(const Config& cfg, db::Db& db, const std::string& worker_id) {
  try {
    return webhooks::process_due(cfg, db, worker_id, 50, 15);
  } catch (const db::DbError& e) {
    log::error("webhook pass failed", {{"code", std::to_string(e.code)}, {"what", e.what()}});
    return 0;
  }
}

/* Booking meetings whose job died get another attempt (every 5 minutes). */
void queue_zoom_sweep(db::Db& db) {
  static int64_t last_bucket = -1;
  const int64_t bucket = calcom::now_ms() / 300000;
  if (bucket == last_bucket) return;
  last_bucket = bucket;
  meetings::requeue_stuck(db);
}

int run_pass(const Config& cfg, db::Db& db, calcom::Client& cal, const std::string& worker_id) {
  int n = apply_webhook_events(cfg, db, worker_id);
  try {
    sweep_expiring_tokens(cfg, db);
    queue_coach_syncs(db);
    queue_reconciles(db);
    queue_zoom_sweep(db);
    n += payments::process_due_events(cfg, db);   // Stripe events not applied by the receiver
    payments::queue_reconciles(cfg, db);          // payments pending past their checkout expiry; Cal.com-side cancels
    for (const auto& job : jobs::claim(db, worker_id, {"onboard_coach", "refresh_tokens", "sync_coach", "send_email",
                                                       payments::kJobFinalize, payments::kJobRefund,
                                                       payments::kJobReconcile, payments::kJobMail,
                                                       payments::kJobRelease,
                                                       reconcile::kJobKind, session_reminders::kJobKind,
                                                       meetings::kJobKind, meetings::kWebhookJobKind}, 10)) {
      ++n;
      Status s = make_error(500, "internal_error", "not run");
      try {
        s = perform(cfg, db, cal, job);
      } catch (const std::exception& e) {
        s = make_error(500, "exception", e.what());
      }
      if (s) {
        jobs::complete(db, job, worker_id);
        log::info("job done", {{"job_id", std::to_string(job.id)}, {"kind", job.kind}});
      } else {
        jobs::fail(db, job, worker_id, s.error().code + ": " + s.error().message);
      }
    }
  } catch (const db::DbError& e) {
    log::error("worker pass failed", {{"code", std::to_string(e.code)}, {"what", e.what()}});
  }
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  bool once = argc > 1 && std::strcmp(argv[1], "--once") == 0;
  if (argc > 1 && !once) {
    std::fprintf(stderr, "usage: worker [--once]\n");
    return 2;
  }
  const Config cfg = load_config_or_die();
  log::set_output(cfg.log_file);
  http_client::global_init();
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string worker_id = std::string(host) + ":" + std::to_string(getpid());
  db::Db db(db::settings_from(cfg));
  calcom::Client cal(calcom::settings_from(cfg));
  log::info("worker started", {{"worker_id", worker_id}, {"once", once ? "yes" : "no"}});
  if (once) {
    run_pass(cfg, db, cal, worker_id);
    return 0;
  }
  while (!g_stop) {
    int n = run_pass(cfg, db, cal, worker_id);
    // Busy: go again at once; idle: poll every second.
    for (int i = 0; n == 0 && i < 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log::info("worker stopped", {{"worker_id", worker_id}});
  return 0;
}
