/* booking_mail.hpp: confirmation, reschedule and cancellation e-mails with an
 * iCalendar invite, queued through the jobs outbox in the caller's transaction
 * and sent by the worker over SMTP. One e-mail per recipient per change: the
 * idempotency key is (ics_uid, sequence, change, recipient), so our own API and
 * a Cal.com webhook reporting the same change queue it once. */
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "config.hpp"
#include "db.hpp"
#include "result.hpp"

namespace coach::booking_mail {

enum class Change { created, rescheduled, cancelled };
const char* to_string(Change c);

struct Party {
  std::string name, email, time_zone;  // times in the e-mail are shown in this zone
};

struct Facts {
  std::string booking_uid;   // the booking this change produced (new uid on reschedule)
  std::string ics_uid;       // stable across a reschedule chain: "<first uid>@coach-marketplace"
  int sequence = 0;          // 0 on create, +1 per reschedule, +1 on cancel
  std::string title, description;
  std::string location;      // join URL when known, else a short text
  std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds> start, end;  // UTC (= C++20 sys_seconds)
  Party coach, agent;
  std::string cancel_reason;
  std::string manage_url;    // where the recipient can reschedule / cancel
};

/* Queues one "send_email" job per recipient (coach, agent) inside tx. Returns
 * how many were newly queued (0 when this change was queued before). */
int enqueue(db::Db& tx, const Facts& f, Change change);

/* Performs one queued e-mail job (worker): builds the MIME message (plain
 * text + HTML + text/calendar METHOD:REQUEST or CANCEL attachment, Google and
 * Outlook links) and sends it over SMTP (cfg.smtp_url) with libcurl; records
 * the delivery. An SMTP failure is an Error (the job is retried later). */
Status perform_job(const Config& cfg, db::Db& db, int64_t job_id, const std::string& payload_json);

}  // namespace coach::booking_mail
