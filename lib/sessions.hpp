/* sessions.hpp: coaching sessions (layer 4, domain): CoachingSession rows
 * derived from bookings (one per reschedule chain, see booking_hooks), their
 * status and attendance, notes with history; reminders are in
 * session_reminders.hpp.
 *
 * Status ladder. A session's status is a function of what is known about it,
 * recomputed on every change (refresh), so repeated and out-of-order events
 * converge to the same answer:
 *   1. the latest explicit action (coach/admin "completed" or "no-show") wins;
 *   2. else the agent absent (Cal.com attendee no-show or our action) and never
 *      seen joining -> no_show;
 *   3. else any end evidence (Cal.com MEETING_ENDED, Zoom meeting ended)
 *      -> completed (an end that arrives before its start counts too);
 *   4. else any start evidence (MEETING_STARTED, a participant joined)
 *      -> in_progress;
 *   5. else the chain head cancelled or declined (not moved) -> cancelled;
 *   6. else scheduled.
 * Evidence is only ever added (a late "started" after "ended" cannot take a
 * completed session back to in_progress); times merge as earliest start/join,
 * latest end/leave. Explicit actions are events too (session_events).
 *
 * Access: the agent of the chain's bookings, its coach, admins; anyone else
 * gets 404 not_found (as for bookings). Agents see shared notes only. */
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "bookings.hpp"
#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "result.hpp"
#include "session.hpp"

namespace coach::sessions {

/* Inside tx, after the CalBooking row of uid changed (any source). Creates or
 * updates the chain's CoachingSession (scheduled / cancelled, times, meeting
 * facts Cal.com reported), moves or drops its reminders. Idempotent. */
void on_booking_changed(db::Db& tx, const std::string& uid);

/* Meeting evidence from Zoom (or any other source) about the session of
 * booking_uid (any uid of the chain). */
enum class Evidence { meeting_started, meeting_ended, participant_joined, participant_left };
struct EvidenceIn {
  std::string booking_uid;
  Evidence kind = Evidence::meeting_started;
  std::string at_utc;              // "YYYY-MM-DD HH:MM:SS[.mmm]" UTC (ISO "...T...Z" accepted too)
  std::string participant_email;   // participant_* only; may be "" (then participant_name)
  std::string participant_name;
  std::string source;              // "zoom" | "calcom" | ...
  std::string source_event_id;     // for de-duplication (e.g. the Zoom event's key)
};
/* Records the evidence once (same source + source_event_id: no-op) and moves
 * the session's status/attendance; out-of-order evidence converges. Errors:
 * 400 invalid_evidence (bad time), 404 not_found (no booking with that uid
 * yet: the caller may retry later). */
Status record_evidence(db::Db& tx, const EvidenceIn& e);

/* ------------------------------------------------------------------ views */

inline constexpr int kJoinEarlyMin = 10;      // the join button opens this long before the start
inline constexpr int kEvidenceEarlyMin = 30;  // meeting evidence older than this before the start is ignored
inline constexpr size_t kMaxNoteBytes = 10000;

struct Attendance {
  std::string joined_at, left_at;  // ISO UTC or ""
  bool absent = false;
};

struct SessionView {
  int64_t id = 0;
  std::string root_uid;            // the chain's first uid (stable id of the session)
  std::string status;              // scheduled | in_progress | completed | cancelled | no_show
  std::string started_at, ended_at, completed_at, cancelled_at;  // ISO UTC or ""
  Attendance coach, agent;
  std::string outcome, outcome_at; // the latest explicit action ("completed" | "no_show"), or ""
  std::string outcome_by;          // the name of who did it
  bookings::BookingView booking;   // the chain head, relative to the viewer (viewer_role, join_url, payment_*)
  bool join_open = false;          // now within [start - 10 min, end] and not cancelled/finished
  bool can_manage = false;         // viewer is the coach or an admin (notes, actions)
  bool can_complete = false, can_no_show = false;
};

/* Status label for people: "Scheduled", "In progress", ... */
std::string status_label(const std::string& status);

/* API shape: {id, uid, rootUid, status, startedAt, endedAt, completedAt,
 * cancelledAt, attendance{coach{joinedAt,leftAt,absent}, agent{...}},
 * outcome, outcomeAt, meeting{joinUrl, joinOpen, location}, booking{bookings::to_json},
 * start{utc, local, timeZone}, end{...}, viewerRole, canManage}. Local times
 * are in viewer_zone. */
Json::Value to_json(const SessionView& s, const std::string& viewer_zone);

/* The session of uid (any uid of its chain) as viewer may see it; 404
 * not_found otherwise. A booking recorded before sessions existed gets its
 * session created on the way. */
Result<SessionView> get_session(db::Db& db, const session::User& viewer, const std::string& uid);

struct ListQuery {
  std::string when = "upcoming";   // upcoming (end in the future) | past | all
  std::string status;              // "" or one status
  std::string as_role;             // "" | agent | coach
  int take = 20, skip = 0;         // take 1..100
};
/* From query parameters when, status, as, take, skip (400 invalid_field). */
Result<ListQuery> parse_list_query(const std::map<std::string, std::string>& q);

struct SessionPage {
  std::vector<SessionView> items;  // upcoming: soonest first; else newest first
  int64_t total = 0;
  int take = 20, skip = 0;
  bool has_more = false;
};
SessionPage list_sessions(db::Db& db, const session::User& viewer, const ListQuery& q);

/* ------------------------------------------------------------------ notes */

struct NoteView {
  int64_t id = 0;
  std::string visibility;          // private | shared
  std::string body;
  int version = 1;
  int64_t author_user_id = 0;
  std::string author_name, updated_by_name;
  std::string created_at, updated_at;  // ISO UTC
};
Json::Value to_json(const NoteView& n);

struct RevisionView {
  int version = 1;
  std::string visibility, body, edited_by_name, created_at;
};

/* Notes of the session that viewer may read (agents: shared only), oldest first. */
std::vector<NoteView> list_notes(db::Db& db, const SessionView& s);

/* Parses {body, visibility} (body 1..10000 bytes after trimming; visibility
 * private | shared, default private). 400 missing_field / invalid_field. */
struct NoteInput {
  std::string body, visibility;
  int base_version = 0;            // edits only
  bool has_visibility = false;
};
Result<NoteInput> parse_note(const Json::Value& body, bool is_edit);

/* Adds a note (coach of the session or admin; agent 403 forbidden, others 404). */
Result<NoteView> add_note(db::Db& db, const session::User& viewer, const std::string& uid, const NoteInput& in);

/* Edits a note based on in.base_version. A stale version fails with 409
 * version_conflict and current is set to the note as it is now (never a silent
 * overwrite). Same body and visibility: no new version. */
struct EditOutcome {
  std::optional<NoteView> note;    // the edited note
  std::optional<NoteView> current; // on a conflict
  std::optional<Error> error;
};
EditOutcome edit_note(db::Db& db, const session::User& viewer, const std::string& uid, int64_t note_id,
                      const NoteInput& in);

/* Every version of a note, newest first (agents: shared notes only). */
Result<std::vector<RevisionView>> note_history(db::Db& db, const session::User& viewer, const std::string& uid,
                                               int64_t note_id);

/* ------------------------------------------------------------------ actions */

/* Coach or admin marks the session completed (recorded as an event; wins over
 * what the evidence says). 403 forbidden for the agent; 409 invalid_state for
 * a cancelled session or one that has not started yet (start in the future). */
Result<SessionView> mark_completed(db::Db& db, const session::User& viewer, const std::string& uid);

/* Coach or admin marks the agent absent: POST /v2/bookings/{uid}/mark-absent
 * as the coach (Cal.com answers 400 before the start: we refuse first with 409
 * not_started), then records it. 502 upstream_unavailable when Cal.com fails
 * (nothing recorded). */
Result<SessionView> mark_no_show(const Config& cfg, db::Db& db, calcom::Client& cal, const session::User& viewer,
                                 const std::string& uid);

}  // namespace coach::sessions
