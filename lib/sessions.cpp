/* sessions.cpp: CoachingSession rows per reschedule chain, evidence and
 * explicit actions (session_events), the status ladder (see sessions.hpp),
 * notes with revisions and optimistic concurrency. */
#include "sessions.hpp"

#include <algorithm>
#include <cctype>

#include "booking_hooks.hpp"
#include "cal_integration.hpp"
#include "crypto.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "session_reminders.hpp"
#include "slot_engine.hpp"

namespace coach::sessions {
namespace {

constexpr const char* kIsoFmt = "%Y-%m-%dT%H:%i:%sZ";

std::string iso_col(const std::string& col, const std::string& as) {
  return "DATE_FORMAT(" + col + ", '" + kIsoFmt + "') AS " + as;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim_ws(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

const char* kind_name(Evidence k) {
  switch (k) {
    case Evidence::meeting_started: return "meeting_started";
    case Evidence::meeting_ended: return "meeting_ended";
    case Evidence::participant_joined: return "participant_joined";
    case Evidence::participant_left: return "participant_left";
  }
  return "meeting_started";
}

/* "YYYY-MM-DD HH:MM:SS[.mmm]" (or ISO with T and Z) -> "YYYY-MM-DD HH:MM:SS.mmm"; "" when unreadable. */
std::string norm_time(const std::string& in) {
  std::string s = in;
  if (s.size() >= 19 && s[10] == 'T') s[10] = ' ';
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  if (s.size() < 19) return "";
  for (size_t i = 0; i < 19; ++i) {
    const char c = s[i];
    const char want = (i == 4 || i == 7) ? '-' : i == 10 ? ' ' : (i == 13 || i == 16) ? ':' : 0;
    if (want ? c != want : !std::isdigit(static_cast<unsigned char>(c))) return "";
  }
  std::string frac = "000";
  if (s.size() > 19) {
    if (s[19] != '.') return "";
    std::string f = s.substr(20);
    if (f.empty() || f.size() > 9 || !std::all_of(f.begin(), f.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return "";
    frac = (f + "000").substr(0, 3);
  }
  return s.substr(0, 19) + "." + frac;
}

/* ---------------------------------------------------------------- chain head */

struct Head {
  std::string uid;                 // newest stored booking of the chain ("" = none stored)
  bool moving = false;             // it names a successor not stored yet (a reschedule in flight)
  std::optional<db::Row> row;
};

const char* kHeadCols =
    "SELECT b.cal_uid, b.status, b.rescheduled_to_uid, m.rescheduled_to_uid AS m_to, b.coach_user_id, "
    "COALESCE(b.agent_user_id, m.agent_user_id) AS agent_id, b.start_utc, b.end_utc, b.attendee_no_show, "
    "b.host_no_show, b.attendee_email, b.attendee_name, b.organizer_email, "
    "DATE_FORMAT(b.meeting_started_at, '%Y-%m-%d %H:%i:%s.%f') AS ms, "
    "DATE_FORMAT(b.meeting_ended_at, '%Y-%m-%d %H:%i:%s.%f') AS me "
    "FROM CalBooking b LEFT JOIN booking_meta m ON m.cal_uid = b.cal_uid WHERE b.cal_uid = ?";

std::optional<db::Row> booking_row(db::Db& db, const std::string& uid) { return db.query_one(kHeadCols, {uid}); }

std::string successor(const db::Row& r) {
  std::string next = r.str("rescheduled_to_uid");
  return next.empty() ? r.str("m_to") : next;
}

Head find_head(db::Db& db, const std::string& root, const std::string& fallback_uid) {
  Head h;
  auto r = booking_row(db, root);
  if (!r) r = booking_row(db, fallback_uid);
  if (!r) return h;
  h.uid = r->str("cal_uid");
  h.row = r;
  for (int i = 0; i < 50; ++i) {
    const std::string next = successor(*h.row);
    if (next.empty() || next == h.uid) break;
    auto n = booking_row(db, next);
    if (!n) {
      h.moving = true;
      break;
    }
    h.uid = next;
    h.row = n;
  }
  return h;
}

/* DATETIME(3) text from DATE_FORMAT(... %f) (microseconds) -> milliseconds. */
std::string ms_text(const std::string& s) { return s.size() >= 23 ? s.substr(0, 23) : s; }

bool insert_event(db::Db& tx, int64_t sid, const std::string& kind, const std::string& at, const std::string& role,
                  const std::string& participant, const std::string& source, const std::string& source_id,
                  int64_t actor, const std::string& booking_uid) {
  return tx.exec("INSERT IGNORE INTO session_events (session_id, kind, at_utc, participant_role, participant, source, "
                 "source_event_id, actor_user_id, booking_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {sid, kind, at, role.empty() ? db::null() : db::Param(role),
                  participant.empty() ? db::null() : db::Param(participant.substr(0, 254)), source,
                  source_id.substr(0, 191), actor ? db::Param(actor) : db::null(),
                  booking_uid.empty() ? db::null() : db::Param(booking_uid)}) > 0;
}

/* Cal.com's MEETING_* facts on a CalBooking row as evidence. */
void calcom_evidence(db::Db& tx, int64_t sid, const db::Row& r) {
  const std::string uid = r.str("cal_uid");
  if (!r.str("ms").empty())
    insert_event(tx, sid, "meeting_started", ms_text(r.str("ms")), "", "", "calcom", "MEETING_STARTED:" + uid, 0, uid);
  if (!r.str("me").empty())
    insert_event(tx, sid, "meeting_ended", ms_text(r.str("me")), "", "", "calcom", "MEETING_ENDED:" + uid, 0, uid);
}

/* Recomputes status and attendance of session sid (row locked by the caller)
 * from its events and the chain head, then syncs the reminders. */
void refresh(db::Db& tx, int64_t sid, const Head& h) {
  // Only evidence from shortly before the current start on counts: a coach
  // testing the link the day before, or the meeting of a slot the session
  // was moved away from, must not start or complete it.
  const db::Param window_start =
      h.row && !h.row->is_null("start_utc") ? db::Param(h.row->str("start_utc")) : db::null();
  auto agg = tx.query_one(
      "SELECT MIN(CASE WHEN kind IN ('meeting_started','participant_joined') THEN at_utc END) AS started, "
      "MAX(CASE WHEN kind = 'meeting_ended' THEN at_utc END) AS ended, "
      "MIN(CASE WHEN kind = 'participant_joined' AND participant_role = 'coach' THEN at_utc END) AS cj, "
      "MAX(CASE WHEN kind = 'participant_left' AND participant_role = 'coach' THEN at_utc END) AS cl, "
      "MIN(CASE WHEN kind = 'participant_joined' AND participant_role = 'agent' THEN at_utc END) AS aj, "
      "MAX(CASE WHEN kind = 'participant_left' AND participant_role = 'agent' THEN at_utc END) AS al "
      "FROM session_events WHERE session_id = ? "
      "AND (? IS NULL OR at_utc >= TIMESTAMPADD(MINUTE, ?, ?))",
      {sid, window_start, int64_t(-kEvidenceEarlyMin), window_start});
  auto act = tx.query_one(
      "SELECT kind, at_utc, actor_user_id FROM session_events WHERE session_id = ? AND kind IN "
      "('marked_completed','marked_no_show') ORDER BY at_utc DESC, id DESC LIMIT 1",
      {sid});
  auto cur = tx.query_one("SELECT status FROM CoachingSession WHERE id = ?", {sid});
  const std::string outcome = !act ? "" : act->str("kind") == "marked_completed" ? "completed" : "no_show";
  const bool head_cancelled = h.row && !h.moving && successor(*h.row).empty() &&
                              (h.row->str("status") == "cancelled" || h.row->str("status") == "rejected");
  const bool cal_agent_absent = h.row && !h.row->is_null("attendee_no_show") && h.row->i64("attendee_no_show") != 0;
  const bool coach_absent = h.row && !h.row->is_null("host_no_show") && h.row->i64("host_no_show") != 0;
  const bool agent_absent = outcome == "no_show" || cal_agent_absent;
  const bool agent_joined = agg && !agg->is_null("aj");
  const bool started = agg && !agg->is_null("started");
  const bool ended = agg && !agg->is_null("ended");

  std::string status = "scheduled";
  if (!outcome.empty()) status = outcome;
  else if (agent_absent && !agent_joined) status = "no_show";
  else if (ended) status = "completed";
  else if (started) status = "in_progress";
  else if (head_cancelled) status = "cancelled";

  db::Param completed_at = db::null();
  if (status == "completed") completed_at = outcome == "completed" ? act->str("at_utc") : agg->str("ended");
  auto opt_col = [&](const char* c) { return agg && !agg->is_null(c) ? db::Param(agg->str(c)) : db::null(); };
  const bool changed = !cur || cur->str("status") != status;
  tx.exec("UPDATE CoachingSession SET status = ?, started_at = ?, ended_at = ?, coach_joined_at = ?, coach_left_at = ?, "
          "agent_joined_at = ?, agent_left_at = ?, coach_absent = ?, agent_absent = ?, outcome = ?, outcome_at = ?, "
          "outcome_by_user_id = ?, completed_at = ?, "
          "cancelled_at = IF(? = 'cancelled', COALESCE(cancelled_at, CURRENT_TIMESTAMP(3)), NULL), "
          "n_changes = n_changes + ? WHERE id = ?",
          {status, opt_col("started"), opt_col("ended"), opt_col("cj"), opt_col("cl"), opt_col("aj"), opt_col("al"),
           int64_t(coach_absent ? 1 : 0), int64_t(agent_absent ? 1 : 0), outcome.empty() ? db::null() : db::Param(outcome),
           act ? db::Param(act->str("at_utc")) : db::null(),
           act && !act->is_null("actor_user_id") ? db::Param(act->i64("actor_user_id")) : db::null(), completed_at, status,
           int64_t(changed ? 1 : 0), sid});
  if (changed && cur)
    log::info("session status", {{"session_id", std::to_string(sid)}, {"from", cur->str("status")}, {"to", status}});
  session_reminders::sync(tx, sid);
}

/* Inside tx: the session of uid's chain, created or brought up to date with
 * the chain head; 0 when no booking of the chain is stored. Locks the row. */
int64_t sync_session(db::Db& tx, const std::string& uid, Head* head_out = nullptr) {
  const std::string root = booking_hooks::chain_root(tx, uid);
  Head h = find_head(tx, root, uid);
  if (!h.row) return 0;
  tx.exec("INSERT IGNORE INTO CoachingSession (root_uid, current_uid) VALUES (?, ?)", {root, h.uid});
  auto s = tx.query_one("SELECT id FROM CoachingSession WHERE root_uid = ? FOR UPDATE", {root});
  if (!s) return 0;
  const int64_t sid = s->i64("id");
  const db::Row& r = *h.row;
  tx.exec("UPDATE CoachingSession SET current_uid = ?, coach_user_id = COALESCE(?, coach_user_id), "
          "agent_user_id = COALESCE(?, agent_user_id), start_utc = COALESCE(?, start_utc), end_utc = COALESCE(?, end_utc) "
          "WHERE id = ?",
          {h.uid, r.is_null("coach_user_id") ? db::null() : db::Param(r.i64("coach_user_id")),
           r.is_null("agent_id") ? db::null() : db::Param(r.i64("agent_id")),
           r.is_null("start_utc") ? db::null() : db::Param(r.str("start_utc")),
           r.is_null("end_utc") ? db::null() : db::Param(r.str("end_utc")), sid});
  calcom_evidence(tx, sid, r);
  if (uid != h.uid)
    if (auto changed = booking_row(tx, uid)) calcom_evidence(tx, sid, *changed);
  if (head_out) *head_out = h;
  return sid;
}

/* ---------------------------------------------------------------- views */

const std::string& kSessionSelect() {
  static const std::string s =
      "SELECT s.id, s.root_uid, s.current_uid, s.status, s.coach_absent, s.agent_absent, s.outcome, " +
      iso_col("s.started_at", "started") + ", " + iso_col("s.ended_at", "ended") + ", " +
      iso_col("s.completed_at", "completed") + ", " + iso_col("s.cancelled_at", "cancelled") + ", " +
      iso_col("s.coach_joined_at", "cj") + ", " + iso_col("s.coach_left_at", "cl") + ", " +
      iso_col("s.agent_joined_at", "aj") + ", " + iso_col("s.agent_left_at", "al") + ", " +
      iso_col("s.outcome_at", "outcome_at") + ", ou.name AS outcome_name, UNIX_TIMESTAMP(s.start_utc) AS start_s, "
      "UNIX_TIMESTAMP(s.end_utc) AS end_s, UNIX_TIMESTAMP() AS now_s "
      "FROM CoachingSession s LEFT JOIN users ou ON ou.id = s.outcome_by_user_id ";
  return s;
}

/* The view of a session row for viewer; nullopt when viewer may not see it. */
std::optional<SessionView> view_of(db::Db& db, const session::User& viewer, const db::Row& r) {
  auto b = bookings::get_booking(db, viewer, r.str("current_uid"));
  if (!b) return std::nullopt;
  SessionView v;
  v.id = r.i64("id");
  v.root_uid = r.str("root_uid");
  v.status = r.str("status");
  v.started_at = r.str("started");
  v.ended_at = r.str("ended");
  v.completed_at = r.str("completed");
  v.cancelled_at = r.str("cancelled");
  v.coach = {r.str("cj"), r.str("cl"), r.i64("coach_absent") != 0};
  v.agent = {r.str("aj"), r.str("al"), r.i64("agent_absent") != 0};
  v.outcome = r.str("outcome");
  v.outcome_at = r.str("outcome_at");
  v.outcome_by = r.str("outcome_name");
  v.booking = *b;
  const int64_t now = r.i64("now_s"), start = r.i64("start_s"), end = r.i64("end_s");
  const bool live = v.status == "scheduled" || v.status == "in_progress";
  v.join_open = live && (b->status == "accepted" || b->status == "pending") && now >= start - kJoinEarlyMin * 60 &&
                now <= end;
  v.can_manage = b->viewer_role == "coach" || b->viewer_role == "admin";
  v.can_complete = v.can_manage && v.status != "cancelled" && v.status != "completed" && now >= start;
  v.can_no_show = v.can_manage && v.status != "cancelled" && v.status != "no_show" && now >= start;
  return v;
}

std::optional<db::Row> session_row_for(db::Db& db, const std::string& uid) {
  const std::string root = booking_hooks::chain_root(db, uid);
  return db.query_one(kSessionSelect() + "WHERE s.root_uid = ?", {root});
}

Json::Value time_json(const std::string& iso_utc, const std::string& zone) {
  Json::Value v;
  v["utc"] = iso_utc.empty() ? Json::Value() : Json::Value(iso_utc);
  auto t = slots::parse_iso(iso_utc);
  v["local"] = t ? Json::Value(slots::format_iso(*t, zone)) : Json::Value();
  v["timeZone"] = zone;
  return v;
}

Json::Value null_or(const std::string& s) { return s.empty() ? Json::Value() : Json::Value(s); }

const char* kNoteSelect =
    "SELECT n.id, n.visibility, n.body, n.version, n.author_user_id, au.name AS author_name, "
    "uu.name AS updated_by_name, DATE_FORMAT(n.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_iso, "
    "DATE_FORMAT(n.updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_iso "
    "FROM SessionNote n LEFT JOIN users au ON au.id = n.author_user_id "
    "LEFT JOIN users uu ON uu.id = n.updated_by_user_id ";

NoteView note_from(const db::Row& r) {
  NoteView n;
  n.id = r.i64("id");
  n.visibility = r.str("visibility");
  n.body = r.str("body");
  n.version = static_cast<int>(r.i64("version"));
  n.author_user_id = r.i64("author_user_id");
  n.author_name = r.str("author_name");
  n.updated_by_name = r.str("updated_by_name");
  n.created_at = r.str("created_iso");
  n.updated_at = r.str("updated_iso");
  return n;
}

Error forbidden_agent() {
  return make_error(403, "forbidden", "Only the session's coach (or an admin) can do this");
}

}  // namespace

/* ================================================================ hooks */

void on_booking_changed(db::Db& tx, const std::string& uid) {
  Head h;
  const int64_t sid = sync_session(tx, uid, &h);
  if (sid) refresh(tx, sid, h);
}

Status record_evidence(db::Db& tx, const EvidenceIn& e) {
  const std::string at = norm_time(e.at_utc);
  if (at.empty()) return make_error(400, "invalid_evidence", "The evidence time is not 'YYYY-MM-DD HH:MM:SS[.mmm]'");
  if (e.booking_uid.empty() || e.source.empty())
    return make_error(400, "invalid_evidence", "The evidence needs a booking uid and a source");
  Head h;
  const int64_t sid = sync_session(tx, e.booking_uid, &h);
  if (!sid) return make_error(404, "not_found", "No booking with that uid (yet)");
  std::string role, who;
  if (e.kind == Evidence::participant_joined || e.kind == Evidence::participant_left) {
    role = "other";
    who = !e.participant_email.empty() ? e.participant_email : e.participant_name;
    auto p = tx.query_one(
        "SELECT cu.email AS coach_email, cu.name AS coach_name, au.email AS agent_email, au.name AS agent_name "
        "FROM CoachingSession s LEFT JOIN users cu ON cu.id = s.coach_user_id LEFT JOIN users au ON au.id = s.agent_user_id "
        "WHERE s.id = ?",
        {sid});
    const std::string em = lower(trim_ws(e.participant_email)), nm = lower(trim_ws(e.participant_name));
    auto is = [](const std::string& a, const std::string& b) { return !a.empty() && a == lower(trim_ws(b)); };
    const db::Row& r = *h.row;
    if (p && (is(em, p->str("coach_email")) || is(em, r.str("organizer_email")))) role = "coach";
    else if (p && (is(em, p->str("agent_email")) || is(em, r.str("attendee_email")))) role = "agent";
    else if (p && is(nm, p->str("coach_name"))) role = "coach";
    else if (p && (is(nm, p->str("agent_name")) || is(nm, r.str("attendee_name")))) role = "agent";
  }
  std::string key = e.source_event_id;
  if (key.empty()) key = std::string(kind_name(e.kind)) + ":" + e.booking_uid + ":" + at + ":" + lower(who);
  if (!insert_event(tx, sid, kind_name(e.kind), at, role, who, e.source, key, 0, e.booking_uid)) return ok_status();
  refresh(tx, sid, h);
  return ok_status();
}

/* ================================================================ views */

std::string status_label(const std::string& status) {
  if (status == "scheduled") return "Scheduled";
  if (status == "in_progress") return "In progress";
  if (status == "completed") return "Completed";
  if (status == "cancelled") return "Cancelled";
  if (status == "no_show") return "No-show";
  return status;
}

Json::Value to_json(const SessionView& s, const std::string& viewer_zone) {
  Json::Value v;
  v["id"] = Json::Int64(s.id);
  v["uid"] = s.booking.uid;
  v["rootUid"] = s.root_uid;
  v["status"] = s.status;
  v["statusLabel"] = status_label(s.status);
  v["startedAt"] = null_or(s.started_at);
  v["endedAt"] = null_or(s.ended_at);
  v["completedAt"] = null_or(s.completed_at);
  v["cancelledAt"] = null_or(s.cancelled_at);
  for (const auto& [k, a] : {std::pair<const char*, const Attendance*>{"coach", &s.coach}, {"agent", &s.agent}}) {
    Json::Value x;
    x["joinedAt"] = null_or(a->joined_at);
    x["leftAt"] = null_or(a->left_at);
    x["absent"] = a->absent;
    v["attendance"][k] = x;
  }
  v["outcome"] = null_or(s.outcome);
  v["outcomeAt"] = null_or(s.outcome_at);
  v["meeting"]["joinUrl"] = null_or(s.booking.join_url);
  v["meeting"]["joinOpen"] = s.join_open;
  v["meeting"]["location"] = null_or(s.booking.location);
  v["start"] = time_json(s.booking.start_utc, viewer_zone);
  v["end"] = time_json(s.booking.end_utc, viewer_zone);
  v["booking"] = bookings::to_json(s.booking);
  v["viewerRole"] = s.booking.viewer_role;
  v["canManage"] = s.can_manage;
  v["canComplete"] = s.can_complete;
  v["canMarkNoShow"] = s.can_no_show;
  return v;
}

Result<SessionView> get_session(db::Db& db, const session::User& viewer, const std::string& uid) {
  auto r = session_row_for(db, uid);
  if (!r) {
    // A booking from before sessions existed (or whose hook has not run): create it now.
    if (!db.query_one("SELECT 1 AS x FROM CalBooking WHERE cal_uid = ?", {uid}))
      return make_error(404, "not_found", "No such session");
    db.transaction([&](db::Db& tx) { on_booking_changed(tx, uid); });
    r = session_row_for(db, uid);
    if (!r) return make_error(404, "not_found", "No such session");
  }
  auto v = view_of(db, viewer, *r);
  if (!v) return make_error(404, "not_found", "No such session");
  return *v;
}

Result<ListQuery> parse_list_query(const std::map<std::string, std::string>& q) {
  ListQuery out;
  auto get = [&](const char* k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  const std::string when = get("when");
  if (!when.empty()) {
    if (when != "upcoming" && when != "past" && when != "all")
      return make_error(400, "invalid_field", "'when' must be upcoming, past or all");
    out.when = when;
  }
  const std::string st = get("status");
  if (!st.empty()) {
    if (st != "scheduled" && st != "in_progress" && st != "completed" && st != "cancelled" && st != "no_show")
      return make_error(400, "invalid_field", "'status' must be scheduled, in_progress, completed, cancelled or no_show");
    out.status = st;
    if (when.empty()) out.when = "all";
  }
  const std::string as = get("as");
  if (!as.empty()) {
    if (as != "agent" && as != "coach") return make_error(400, "invalid_field", "'as' must be agent or coach");
    out.as_role = as;
  }
  auto num = [&](const char* k, int lo, int hi, int* dst) -> Status {
    const std::string s = get(k);
    if (s.empty()) return ok_status();
    if (s.size() > 6 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return make_error(400, "invalid_field", std::string("'") + k + "' must be a whole number");
    int v = std::stoi(s);
    if (v < lo || v > hi)
      return make_error(400, "invalid_field", std::string("'") + k + "' must be between " + std::to_string(lo) + " and " +
                                                  std::to_string(hi));
    *dst = v;
    return ok_status();
  };
  if (auto s = num("take", 1, 100, &out.take); !s) return s.error();
  if (auto s = num("skip", 0, 100000, &out.skip); !s) return s.error();
  return out;
}

SessionPage list_sessions(db::Db& db, const session::User& viewer, const ListQuery& q) {
  SessionPage page;
  page.take = q.take;
  page.skip = q.skip;
  std::string where = "WHERE s.start_utc IS NOT NULL ";
  std::vector<db::Param> params;
  if (q.as_role == "agent") {
    where += "AND s.agent_user_id = ? ";
    params.emplace_back(viewer.id);
  } else if (q.as_role == "coach") {
    where += "AND s.coach_user_id = ? ";
    params.emplace_back(viewer.id);
  } else if (!viewer.is_admin()) {
    where += "AND (s.agent_user_id = ? OR s.coach_user_id = ?) ";
    params.emplace_back(viewer.id);
    params.emplace_back(viewer.id);
  }
  if (q.when == "upcoming") where += "AND s.end_utc > UTC_TIMESTAMP() AND s.status IN ('scheduled','in_progress') ";
  else if (q.when == "past") where += "AND (s.end_utc <= UTC_TIMESTAMP() OR s.status IN ('completed','no_show')) AND s.status <> 'cancelled' ";
  if (!q.status.empty()) {
    where += "AND s.status = ? ";
    params.emplace_back(q.status);
  }
  const std::string order = q.when == "upcoming" ? "ORDER BY s.start_utc ASC, s.id ASC " : "ORDER BY s.start_utc DESC, s.id DESC ";
  auto cnt = db.query_one("SELECT COUNT(*) AS n FROM CoachingSession s " + where, params);
  page.total = cnt ? cnt->i64("n") : 0;
  for (const auto& r : db.query(kSessionSelect() + where + order + "LIMIT " + std::to_string(q.take) + " OFFSET " +
                                    std::to_string(q.skip),
                                params))
    if (auto v = view_of(db, viewer, r)) page.items.push_back(*v);
  page.has_more = q.skip + static_cast<int64_t>(page.items.size()) < page.total;
  return page;
}

/* ================================================================ notes */

Json::Value to_json(const NoteView& n) {
  Json::Value v;
  v["id"] = Json::Int64(n.id);
  v["visibility"] = n.visibility;
  v["body"] = n.body;
  v["version"] = n.version;
  v["authorUserId"] = Json::Int64(n.author_user_id);
  v["authorName"] = n.author_name;
  v["updatedByName"] = null_or(n.updated_by_name);
  v["createdAt"] = n.created_at;
  v["updatedAt"] = n.updated_at;
  return v;
}

std::vector<NoteView> list_notes(db::Db& db, const SessionView& s) {
  std::vector<NoteView> out;
  const bool agent = s.booking.viewer_role == "agent";
  for (const auto& r : db.query(std::string(kNoteSelect) + "WHERE n.session_id = ? " +
                                    (agent ? "AND n.visibility = 'shared' " : "") + "ORDER BY n.created_at, n.id",
                                {s.id}))
    out.push_back(note_from(r));
  return out;
}

Result<NoteInput> parse_note(const Json::Value& body, bool is_edit) {
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  NoteInput in;
  if (body["body"].isNull()) return make_error(400, "missing_field", "Missing 'body' (the note's text)");
  if (!body["body"].isString()) return make_error(400, "invalid_field", "'body' must be text");
  in.body = trim_ws(body["body"].asString());
  if (in.body.empty()) return make_error(400, "invalid_field", "'body' must not be empty");
  if (in.body.size() > kMaxNoteBytes) return make_error(400, "invalid_field", "'body' is longer than 10000 bytes");
  in.visibility = "private";
  if (!body["visibility"].isNull()) {
    if (!body["visibility"].isString() || (body["visibility"].asString() != "private" && body["visibility"].asString() != "shared"))
      return make_error(400, "invalid_field", "'visibility' must be private or shared");
    in.visibility = body["visibility"].asString();
    in.has_visibility = true;
  }
  if (is_edit) {
    if (body["version"].isNull()) return make_error(400, "missing_field", "Missing 'version' (the version your edit is based on)");
    if (!body["version"].isInt64() || body["version"].asInt64() < 1 || body["version"].asInt64() > 1000000)
      return make_error(400, "invalid_field", "'version' must be a positive whole number");
    in.base_version = static_cast<int>(body["version"].asInt64());
  }
  return in;
}

Result<NoteView> add_note(db::Db& db, const session::User& viewer, const std::string& uid, const NoteInput& in) {
  auto s = get_session(db, viewer, uid);
  if (!s) return s.error();
  if (!s->can_manage) return forbidden_agent();
  int64_t id = 0;
  db.transaction([&](db::Db& tx) {
    tx.exec("INSERT INTO SessionNote (session_id, author_user_id, visibility, body, version, updated_by_user_id) "
            "VALUES (?, ?, ?, ?, 1, ?)",
            {s->id, viewer.id, in.visibility, in.body, viewer.id});
    id = static_cast<int64_t>(tx.last_insert_id());
    tx.exec("INSERT INTO SessionNoteRevision (note_id, version, visibility, body, edited_by_user_id) VALUES (?, 1, ?, ?, ?)",
            {id, in.visibility, in.body, viewer.id});
  });
  auto r = db.query_one(std::string(kNoteSelect) + "WHERE n.id = ?", {id});
  if (!r) return make_error(500, "internal", "The note vanished after saving it");
  return note_from(*r);
}

EditOutcome edit_note(db::Db& db, const session::User& viewer, const std::string& uid, int64_t note_id,
                      const NoteInput& in) {
  EditOutcome out;
  auto s = get_session(db, viewer, uid);
  if (!s) {
    out.error = s.error();
    return out;
  }
  if (!s->can_manage) {
    out.error = forbidden_agent();
    return out;
  }
  db.transaction([&](db::Db& tx) {
    out = EditOutcome{};
    auto r = tx.query_one(std::string(kNoteSelect) + "WHERE n.id = ? AND n.session_id = ? FOR UPDATE", {note_id, s->id});
    if (!r) {
      out.error = make_error(404, "not_found", "No such note in this session");
      return;
    }
    NoteView cur = note_from(*r);
    if (cur.version != in.base_version) {
      out.current = cur;
      out.error = make_error(409, "version_conflict",
                             "This note was changed since version " + std::to_string(in.base_version) + " (now version " +
                                 std::to_string(cur.version) + "); merge your edit into the current text and send it again");
      return;
    }
    const std::string vis = in.has_visibility ? in.visibility : cur.visibility;
    if (vis == cur.visibility && in.body == cur.body) {
      out.note = cur;
      return;
    }
    const int64_t next = cur.version + 1;
    tx.exec("UPDATE SessionNote SET body = ?, visibility = ?, version = ?, updated_by_user_id = ? WHERE id = ?",
            {in.body, vis, next, viewer.id, note_id});
    tx.exec("INSERT INTO SessionNoteRevision (note_id, version, visibility, body, edited_by_user_id) VALUES (?, ?, ?, ?, ?)",
            {note_id, next, vis, in.body, viewer.id});
  });
  if (out.error || out.note) return out;
  if (auto r = db.query_one(std::string(kNoteSelect) + "WHERE n.id = ?", {note_id})) out.note = note_from(*r);
  else out.error = make_error(500, "internal", "The note vanished after saving it");
  return out;
}

Result<std::vector<RevisionView>> note_history(db::Db& db, const session::User& viewer, const std::string& uid,
                                               int64_t note_id) {
  auto s = get_session(db, viewer, uid);
  if (!s) return s.error();
  const bool agent = s->booking.viewer_role == "agent";
  auto n = db.query_one("SELECT visibility FROM SessionNote WHERE id = ? AND session_id = ?", {note_id, s->id});
  if (!n || (agent && n->str("visibility") != "shared")) return make_error(404, "not_found", "No such note in this session");
  std::vector<RevisionView> out;
  for (const auto& r : db.query("SELECT r.version, r.visibility, r.body, u.name AS editor, "
                                "DATE_FORMAT(r.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_iso "
                                "FROM SessionNoteRevision r LEFT JOIN users u ON u.id = r.edited_by_user_id "
                                "WHERE r.note_id = ? " +
                                    std::string(agent ? "AND r.visibility = 'shared' " : "") + "ORDER BY r.version DESC",
                                {note_id}))
    out.push_back(RevisionView{static_cast<int>(r.i64("version")), r.str("visibility"), r.str("body"), r.str("editor"),
                               r.str("created_iso")});
  return out;
}

/* ================================================================ actions */

namespace {

/* Common checks of an explicit action; the session as it is now. */
Result<SessionView> action_target(db::Db& db, const session::User& viewer, const std::string& uid) {
  auto s = get_session(db, viewer, uid);
  if (!s) return s.error();
  if (!s->can_manage) return forbidden_agent();
  if (s->status == "cancelled") return make_error(409, "invalid_state", "The session was cancelled");
  auto st = slots::parse_iso(s->booking.start_utc);
  if (st && *st > std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()))
    return make_error(409, "not_started", "The session has not started yet");
  return s;
}

Result<SessionView> record_action(db::Db& db, const session::User& viewer, const SessionView& s, const char* kind) {
  db.transaction([&](db::Db& tx) {
    Head h;
    const int64_t sid = sync_session(tx, s.booking.uid, &h);
    if (!sid) return;
    insert_event(tx, sid, kind, tx.query_one("SELECT DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%d %H:%i:%s.%f') AS t")->str("t").substr(0, 23),
                 "", "", "action", std::string(kind) + ":" + crypto::random_hex(12), viewer.id, s.booking.uid);
    refresh(tx, sid, h);
  });
  log::info("session action", {{"session_id", std::to_string(s.id)}, {"action", kind}, {"user_id", std::to_string(viewer.id)}});
  return get_session(db, viewer, s.booking.uid);
}

}  // namespace

Result<SessionView> mark_completed(db::Db& db, const session::User& viewer, const std::string& uid) {
  auto s = action_target(db, viewer, uid);
  if (!s) return s.error();
  return record_action(db, viewer, *s, "marked_completed");
}

Result<SessionView> mark_no_show(const Config& cfg, db::Db& db, calcom::Client& cal, const session::User& viewer,
                                 const std::string& uid) {
  auto s = action_target(db, viewer, uid);
  if (!s) return s.error();
  auto row = db.query_one("SELECT attendee_email, coach_user_id FROM CalBooking WHERE cal_uid = ?", {s->booking.uid});
  std::string email = row ? row->str("attendee_email") : "";
  if (email.empty()) email = s->booking.agent.email;
  const int64_t coach_id = row && row->i64("coach_user_id") ? row->i64("coach_user_id") : s->booking.coach.user_id;
  if (email.empty() || !coach_id) return make_error(409, "invalid_state", "The booking has no attendee or coach to mark");
  Json::Value body;
  body["host"] = false;
  Json::Value a;
  a["email"] = email;
  a["absent"] = true;
  body["attendees"].append(a);
  auto r = integration::call_as_coach(cfg, db, cal, coach_id, "POST", "/v2/bookings/" + s->booking.uid + "/mark-absent",
                                      &body, bookings::kBookingsApiVersion);
  if (!r) {
    const Error& e = r.error();
    log::warn("mark-absent failed", {{"booking_uid", s->booking.uid}, {"code", e.code}, {"status", std::to_string(e.http_status)}});
    if (e.http_status >= 500 || e.http_status == 0)
      return make_error(502, "upstream_unavailable", "Cal.com did not record the no-show; nothing was changed. Try again.");
    return make_error(e.http_status == 404 ? 502 : 409, "calcom_refused", "Cal.com refused the no-show: " + e.message);
  }
  return record_action(db, viewer, *s, "marked_no_show");
}

}  // namespace coach::sessions
