/* session_reminders.hpp: reminder e-mails 24 hours and 1 hour before a
 * coaching session, to the coach and to the agent (times in each one's own
 * zone, with the join link), through the jobs outbox (layer 4).
 *
 * Scheduling (sync, inside the transaction that changed the session): one
 * "session_reminder" job per (chain root, start, 24h|1h, coach|agent), key
 * "reminder:<root>:<start YYYYMMDDTHHMMSSZ>:<kind>:<role>", delayed until its
 * time. A reminder whose time has already passed is never queued (a booking
 * made 30 minutes ahead gets no reminder at all). Pending jobs of the chain
 * whose key is not wanted any more (moved, cancelled, started) are deleted.
 *
 * Sending (perform_job, worker): checks again that the job's booking is still
 * the chain head, active (accepted, session scheduled) and starts when the
 * reminder was made for, and that the start is still ahead; otherwise it is
 * dropped without sending (done). Each key is sent at most once: the
 * delivery is looked up in session_reminder_deliveries before sending and
 * recorded right after (the same at-least-once window as booking_mail). */
#pragma once
#include <cstdint>
#include <string>

#include <json/json.h>

#include "config.hpp"
#include "db.hpp"
#include "result.hpp"

namespace coach::session_reminders {

inline constexpr const char* kJobKind = "session_reminder";

/* Inside tx: queues the reminders the session wants now and deletes pending
 * obsolete ones. Returns how many jobs were newly queued. */
int sync(db::Db& tx, int64_t session_id);

/* Performs one reminder job. An Error means "retry later" (SMTP failure);
 * an obsolete reminder is ok_status() without sending (*sent = false). */
Status perform_job(const Config& cfg, db::Db& db, int64_t job_id, const Json::Value& payload, bool* sent = nullptr);

}  // namespace coach::session_reminders
