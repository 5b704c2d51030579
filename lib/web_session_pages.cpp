/* web_session_pages.cpp: the coaching-session pages of agents and coaches
 * (admins see all):
 *   /my/sessions                       dashboard: upcoming / past / completed /
 *                                      no-show / cancelled, paging, times in the
 *                                      viewer's zone, join buttons, status;
 *   /my/sessions/{uid}                 one session: the booking, join button
 *                                      (open from 10 min before the start to
 *                                      the end), attendance, notes (coach:
 *                                      private and shared, add and edit; agent:
 *                                      shared only), complete / no-show;
 *   POST .../notes, .../notes/{id}, .../complete, .../no-show   the forms;
 *   /my/sessions/{uid}/notes/{id}/history                     a note's versions.
 * Reschedule and cancel stay in web_booking_pages.cpp. The rules live in
 * sessions.hpp; this file turns form fields into its inputs and its answers
 * into template data. Forms work without JavaScript and carry csrf_token. */
#include "web_session_pages.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <date/date.h>

#include "availability.hpp"
#include "json_util.hpp"
#include "sessions.hpp"
#include "slot_engine.hpp"

namespace coach::web::session_pages {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

/* ---------------------------------------------------------------- helpers */

bool plausible_uid(const std::string& s) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string safe_url(const std::string& u) {
  return u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0 ? u : "";
}

std::string query_of(const Pairs& ps) {
  std::string q;
  for (const auto& [k, v] : ps) q += (q.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return q;
}

std::string usable_zone(const std::string& z) { return !z.empty() && slots::is_valid_zone(z) ? z : "UTC"; }

Result<std::string> zone_choice(const std::string& param, const session::Auth& auth) {
  if (param.empty()) return usable_zone(auth.user ? auth.user->time_zone : "");
  if (param.size() > 64 || !slots::is_valid_zone(param))
    return make_error(400, "invalid_time_zone", "Unknown time zone '" + clip(param) + "'; pick one from the list");
  return param;
}

Response fail_page(Context& ctx, const Request& req, const session::Auth& auth, const Error& e) {
  return error_for(ctx, req, auth, e.http_status, e.code, e.message);
}

const char* const kWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};

struct Local {
  std::string ymd, hhmm, utc_offset;
};
Local local_of(slots::Instant t, const std::string& zone) {
  std::string s = slots::format_iso(t, zone);  // 2026-03-10T09:00:00.000+01:00 or ...Z
  Local l{s.substr(0, 10), s.substr(11, 5), "UTC+00:00"};
  if (!s.empty() && s.back() != 'Z' && s.size() >= 6) l.utc_offset = "UTC" + s.substr(s.size() - 6);
  return l;
}

/* "Friday, 27 November 2026" from YYYY-MM-DD. */
std::string long_date(const std::string& ymd) {
  if (ymd.size() != 10) return ymd;
  int y = std::atoi(ymd.substr(0, 4).c_str());
  unsigned m = static_cast<unsigned>(std::atoi(ymd.substr(5, 2).c_str())),
           d = static_cast<unsigned>(std::atoi(ymd.substr(8, 2).c_str()));
  date::year_month_day v{date::year{y}, date::month{m}, date::day{d}};
  if (!v.ok()) return ymd;
  date::sys_days sd{v};
  return std::string(kWeekdays[date::weekday{sd}.c_encoding()]) + ", " + std::to_string(d) + " " + kMonths[m - 1] + " " +
         std::to_string(y);
}

/* An ISO UTC time as "27 Nov, 09:03" in zone ("" for ""). */
std::string short_time(const std::string& iso, const std::string& zone) {
  auto t = slots::parse_iso(iso);
  if (!t) return "";
  Local l = local_of(*t, zone);
  return long_date(l.ymd) + ", " + l.hhmm;
}

/* The session block: status, join button, attendance, actions. */
Json::Value session_json(const sessions::SessionView& s, const std::string& zone) {
  Json::Value v;
  v["id"] = Json::Int64(s.id);
  v["status"] = s.status;
  v["status_label"] = sessions::status_label(s.status);
  v["join_url"] = text_or_null(safe_url(s.booking.join_url));
  v["join_open"] = s.join_open && !safe_url(s.booking.join_url).empty();
  const bool finished = s.status == "completed" || s.status == "no_show" || s.status == "cancelled";
  v["join_later"] = !s.join_open && !finished && !safe_url(s.booking.join_url).empty();
  v["join_pending"] = safe_url(s.booking.join_url).empty() && !finished;
  v["join_hint"] = "The join button opens " + std::to_string(sessions::kJoinEarlyMin) + " minutes before the start.";
  v["started_at"] = text_or_null(short_time(s.started_at, zone));
  v["ended_at"] = text_or_null(short_time(s.ended_at, zone));
  v["completed_at"] = text_or_null(short_time(s.completed_at, zone));
  auto att = [&](const sessions::Attendance& a, const std::string& name, const char* role) {
    Json::Value x;
    x["role"] = role;
    x["name"] = name;
    x["joined"] = text_or_null(short_time(a.joined_at, zone));
    x["left"] = text_or_null(short_time(a.left_at, zone));
    x["absent"] = a.absent;
    x["unknown"] = a.joined_at.empty() && !a.absent;
    return x;
  };
  v["attendance"] = Json::Value(Json::arrayValue);
  v["attendance"].append(att(s.coach, s.booking.coach.name, "coach"));
  v["attendance"].append(att(s.agent, s.booking.agent.name, "agent"));
  v["outcome_text"] = Json::Value();
  if (!s.outcome.empty())
    v["outcome_text"] = "Marked " + std::string(s.outcome == "completed" ? "completed" : "no-show") +
                        (s.outcome_by.empty() ? "" : " by " + s.outcome_by) + " on " + short_time(s.outcome_at, zone);
  v["can_manage"] = s.can_manage;
  v["can_complete"] = s.can_complete;
  v["can_no_show"] = s.can_no_show;
  v["has_actions"] = s.can_complete || s.can_no_show;
  return v;
}

Json::Value notes_json(db::Db& db, const sessions::SessionView& s, const std::string& uid, const std::string& zone,
                       int64_t conflict_id, const std::string& conflict_text) {
  Json::Value arr(Json::arrayValue);
  for (const auto& n : sessions::list_notes(db, s)) {
    Json::Value x;
    x["id"] = Json::Int64(n.id);
    x["body"] = n.body;
    x["visibility"] = n.visibility;
    x["is_private"] = n.visibility == "private";
    x["version"] = n.version;
    x["author"] = n.author_name;
    x["when"] = short_time(n.created_at, zone);
    x["edited"] = n.version > 1 ? Json::Value("edited " + short_time(n.updated_at, zone) +
                                              (n.updated_by_name.empty() ? "" : " by " + n.updated_by_name))
                                : Json::Value();
    x["action"] = "/my/sessions/" + uid + "/notes/" + std::to_string(n.id);
    x["history_href"] = "/my/sessions/" + uid + "/notes/" + std::to_string(n.id) + "/history";
    x["can_edit"] = s.can_manage;
    x["conflict_text"] = n.id == conflict_id ? Json::Value(conflict_text) : Json::Value();
    x["edit_text"] = n.id == conflict_id ? conflict_text : n.body;
    x["open"] = n.id == conflict_id;
    arr.append(x);
  }
  return arr;
}

struct Conflict {
  int64_t note_id = 0;
  std::string your_text;
};

Response render_detail(Context& ctx, const Request& req, const session::Auth& auth, const bookings::BookingView& b,
                       const std::string& notice, const std::string& notice_kind, int status, const Conflict& conflict,
                       const std::string& draft = "") {
  auto zone = zone_choice(req.param("tz"), auth);
  const std::string z = zone ? *zone : usable_zone(auth.user->time_zone);
  Json::Value data;
  Json::Value bj = booking_json(ctx, b, z, true);
  data["b"] = bj;
  data["notice"] = text_or_null(notice);
  data["notice_kind"] = notice_kind;
  data["s"] = Json::Value();
  data["notes"] = Json::Value(Json::arrayValue);
  auto s = sessions::get_session(ctx.db, *auth.user, b.uid);
  if (s) {
    Json::Value sj = session_json(*s, z);
    const std::string base = "/my/sessions/" + b.uid;
    sj["complete_action"] = base + "/complete";
    sj["no_show_action"] = base + "/no-show";
    sj["note_action"] = base + "/notes";
    sj["draft"] = draft;
    data["s"] = sj;
    data["notes"] = notes_json(ctx.db, *s, b.uid, z, conflict.note_id, conflict.your_text);
    data["has_notes"] = !data["notes"].empty();
    data["notes_hint"] = s->can_manage ? "Private notes are only for you (and admins); shared notes are visible to the agent too."
                                       : "Notes your coach shared with you.";
  }
  return page(ctx, req, auth, "session_detail", bj["title"].asString() + " — " + bj["status_label"].asString(), data, status);
}

/* ---------------------------------------------------------------- the dashboard */

struct Tab {
  const char* key;
  const char* label;
};
constexpr Tab kTabs[] = {{"upcoming", "Upcoming"}, {"past", "Past"},           {"completed", "Completed"},
                         {"no_show", "No-show"},   {"cancelled", "Cancelled"}, {"all", "All"}};

}  // namespace

Response list(Context& ctx, const Request& req, const session::Auth& auth) {
  auto zone = zone_choice(req.param("tz"), auth);
  if (!zone) return fail_page(ctx, req, auth, zone.error());
  std::string tab = req.param("status").empty() ? "upcoming" : req.param("status");
  bool known = false;
  for (const Tab& t : kTabs) known = known || tab == t.key;
  if (!known)
    return fail_page(ctx, req, auth, make_error(400, "invalid_field", "Unknown filter '" + clip(tab) + "'; pick one of the tabs"));
  std::map<std::string, std::string> q;
  if (tab == "upcoming" || tab == "past" || tab == "all") q["when"] = tab;
  else q["status"] = tab;
  for (const char* k : {"take", "skip", "as"})
    if (!req.param(k).empty()) q[k] = req.param(k);
  auto lq = sessions::parse_list_query(q);
  if (!lq) return fail_page(ctx, req, auth, lq.error());
  auto pg = sessions::list_sessions(ctx.db, *auth.user, *lq);
  auto link = [&](const std::string& st, int skip) {
    Pairs ps = {{"status", st}};
    if (skip > 0) ps.emplace_back("skip", std::to_string(skip));
    if (lq->take != 20) ps.emplace_back("take", std::to_string(lq->take));
    if (!lq->as_role.empty()) ps.emplace_back("as", lq->as_role);
    if (!req.param("tz").empty()) ps.emplace_back("tz", *zone);
    return "/my/sessions?" + query_of(ps);
  };
  Json::Value data;
  Json::Value tabs(Json::arrayValue);
  for (const Tab& t : kTabs) {
    Json::Value x;
    x["key"] = t.key;
    x["label"] = t.label;
    x["href"] = link(t.key, 0);
    x["current"] = tab == t.key;
    tabs.append(x);
  }
  data["tabs"] = tabs;
  data["status"] = tab;
  Json::Value items(Json::arrayValue);
  for (const auto& s : pg.items) {
    Json::Value x = booking_json(ctx, s.booking, *zone, false);
    x["s"] = session_json(s, *zone);
    x["session_status"] = s.status;
    x["session_status_label"] = sessions::status_label(s.status);
    items.append(x);
  }
  data["items"] = items;
  data["has_items"] = !items.empty();
  data["total"] = Json::Int64(pg.total);
  data["first_no"] = pg.items.empty() ? 0 : pg.skip + 1;
  data["last_no"] = pg.skip + static_cast<int>(pg.items.size());
  data["prev_href"] = pg.skip > 0 ? Json::Value(link(tab, std::max(0, pg.skip - pg.take))) : Json::Value();
  data["next_href"] = pg.has_more ? Json::Value(link(tab, pg.skip + pg.take)) : Json::Value();
  data["zone"] = *zone;
  data["zones"] = zone_options(*zone);
  data["as"] = lq->as_role;
  data["as_options"] = Json::Value(Json::arrayValue);
  for (const auto& [v, l] : std::vector<std::pair<std::string, std::string>>{{"", "All my roles"}, {"agent", "As agent"}, {"coach", "As coach"}}) {
    Json::Value o;
    o["value"] = v;
    o["label"] = l;
    o["selected"] = v == lq->as_role;
    data["as_options"].append(o);
  }
  data["is_coach"] = auth.user->is_coach();
  data["is_admin"] = auth.user->is_admin();
  data["empty_text"] = tab == "upcoming" ? "No upcoming sessions. Find a coach on the home page and pick a time."
                       : tab == "cancelled" ? "No cancelled sessions."
                                            : "No sessions here yet.";
  return page(ctx, req, auth, "my_sessions", "My sessions", data);
}

Response detail(Context& ctx, const Request& req, const session::Auth& auth, const bookings::BookingView& b,
                const std::string& notice, int status) {
  std::string n = notice;
  const std::string done = req.param("done");
  if (n.empty()) {
    if (done == "cancelled") n = "The session is cancelled. Both of you get an e-mail with the cancellation.";
    else if (done == "rescheduled") n = "The session has moved to the new time. Both of you get an updated invitation.";
    else if (done == "note_added") n = "Your note is saved.";
    else if (done == "note_saved") n = "Your changes to the note are saved.";
    else if (done == "completed") n = "The session is marked completed.";
    else if (done == "no_show") n = "The agent is marked as a no-show (also in Cal.com).";
  }
  return render_detail(ctx, req, auth, b, n, status >= 400 ? "error" : "ok", status, Conflict{});
}

bool is_action(const std::vector<std::string>& parts) {
  const size_t n = parts.size();
  if (n < 2) return false;
  if (n == 2) return parts[1] == "notes" || parts[1] == "complete" || parts[1] == "no-show";
  if (parts[1] != "notes") return false;
  return n == 3 || (n == 4 && parts[3] == "history");
}

Response action(Context& ctx, const Request& req, const std::vector<std::string>& parts) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  const size_t n = parts.size();
  const bool history = n == 4;
  if (!plausible_uid(parts[0])) return fail_page(ctx, req, auth, make_error(404, "not_found", "No such page"));
  int64_t note_id = 0;
  if (n >= 3) {
    auto id = positive_id(parts[2], "note id");
    if (!id) return fail_page(ctx, req, auth, make_error(404, "not_found", "No such note"));
    note_id = *id;
  }
  if (history ? (req.method != "GET" && req.method != "HEAD") : req.method != "POST")
    return method_not_allowed(req, history ? "GET" : "POST");
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  Form form;
  if (!history) {
    if (!is_form(req))
      return error_for(ctx, req, auth, 415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded");
    form = form_fields(req);
    if (!session::csrf_ok(ctx.cfg, req, auth, form))
      return error_for(ctx, req, auth, 403, "csrf_failed",
                       "The form has expired or did not come from this site; reload the page and try again");
  }
  const std::string& uid = parts[0];
  auto b = bookings::get_booking(ctx.db, *auth.user, uid);
  if (!b) return fail_page(ctx, req, auth, b.error());
  const std::string back = "/my/sessions/" + uid;

  if (history) {
    auto h = sessions::note_history(ctx.db, *auth.user, uid, note_id);
    if (!h) return fail_page(ctx, req, auth, h.error());
    auto zone = zone_choice(req.param("tz"), auth);
    const std::string z = zone ? *zone : "UTC";
    Json::Value data;
    data["back_href"] = back;
    data["title"] = b->event_type.title.empty() ? b->title : b->event_type.title;
    data["note_id"] = Json::Int64(note_id);
    Json::Value revs(Json::arrayValue);
    for (const auto& r : *h) {
      Json::Value x;
      x["version"] = r.version;
      x["visibility"] = r.visibility;
      x["body"] = r.body;
      x["editor"] = r.edited_by_name;
      x["when"] = short_time(r.created_at, z);
      revs.append(x);
    }
    data["revisions"] = revs;
    return page(ctx, req, auth, "session_note_history", "Note history", data);
  }
  auto fail_detail = [&](const Error& e, const Conflict& c = Conflict{}, const std::string& draft = "") {
    if (e.http_status == 404 || e.http_status == 403) return fail_page(ctx, req, auth, e);
    return render_detail(ctx, req, auth, *b, e.message, "error", e.http_status, c, draft);
  };
  if (parts[1] == "complete") {
    auto s = sessions::mark_completed(ctx.db, *auth.user, uid);
    if (!s) return fail_detail(s.error());
    return redirect_response(back + "?done=completed", 303);
  }
  if (parts[1] == "no-show") {
    calcom::Client cal(calcom::settings_from(ctx.cfg));
    auto s = sessions::mark_no_show(ctx.cfg, ctx.db, cal, *auth.user, uid);
    if (!s) return fail_detail(s.error());
    return redirect_response(back + "?done=no_show", 303);
  }
  Json::Value body;
  body["body"] = field(form, "body");
  if (!field(form, "visibility").empty()) body["visibility"] = field(form, "visibility");
  if (n == 3) {
    const std::string v = trim(field(form, "version"));
    body["version"] = all_digits(v) && v.size() < 8 ? Json::Value(std::stoi(v)) : Json::Value(v);
  }
  auto in = sessions::parse_note(body, n == 3);
  if (!in) return fail_detail(in.error(), Conflict{}, n == 2 ? field(form, "body") : "");
  if (n == 2) {
    auto note = sessions::add_note(ctx.db, *auth.user, uid, *in);
    if (!note) return fail_detail(note.error(), Conflict{}, field(form, "body"));
    return redirect_response(back + "?done=note_added#notes", 303);
  }
  auto out = sessions::edit_note(ctx.db, *auth.user, uid, note_id, *in);
  if (out.error) {
    if (out.current)
      return render_detail(ctx, req, auth, *b,
                           "Someone changed this note while you were editing it. The current text is shown; your "
                           "version is in the edit box, based on the new version: merge and save again.",
                           "error", 409, Conflict{note_id, in->body});
    return fail_detail(*out.error);
  }
  return redirect_response(back + "?done=note_saved#notes", 303);
}

}  // namespace coach::web::session_pages
