/* web_calendar_pages.cpp: the server-rendered calendar pages of a coach:
 *   /cal-availability-test  schedules, weekly hours, exceptions and a week of
 *                           free slots, with every raw Cal.com exchange shown;
 *   /cal-event-types-test   session types (Cal.com event types plus our price);
 *   /coach/calendar         the coach's own calendar page (the clean version of
 *                           the first, plus a preview of what agents see);
 *   /coaches/{id}           a coach's public profile with free slots of a week.
 * Forms work without JavaScript and carry csrf_token. The domain rules live in
 * availability.hpp; this file turns form fields into its JSON input (prices
 * parsed exactly from the decimal string) and its answers into template data. */
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

#include <date/date.h>

#include "availability.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "payments.hpp"
#include "slot_engine.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

Error bad(const std::string& code, const std::string& msg) { return make_error(400, code, msg); }

/* ---- time zones, dates and clock times ---- */

/* The zones offered in selects; any other valid IANA zone still works when it
 * is the current value (a user's own zone, or ?tz=). */

/* "HH:MM" (or "HH:MM:00", which some browsers send) -> minutes after midnight. */
std::optional<int> parse_hhmm(const std::string& s) {
  if (!(s.size() == 5 || (s.size() == 8 && s.compare(5, 3, ":00") == 0))) return std::nullopt;
  auto d = [&](size_t i) { return std::isdigit(static_cast<unsigned char>(s[i])) != 0; };
  if (!d(0) || !d(1) || s[2] != ':' || !d(3) || !d(4)) return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string hhmm(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minutes / 60) % 100, minutes % 60);
  return buf;
}

/* A calendar date "YYYY-MM-DD" between 2000 and 2100. */
std::optional<date::sys_days> parse_ymd(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s.substr(0, 4)) || !all_digits(s.substr(5, 2)) ||
      !all_digits(s.substr(8, 2)))
    return std::nullopt;
  int y = std::stoi(s.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2))), d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  date::year_month_day ymd{date::year{y}, date::month{m}, date::day{d}};
  if (!ymd.ok() || y < 2000 || y > 2100) return std::nullopt;
  return date::sys_days(ymd);
}

std::string ymd_text(date::sys_days d) {
  date::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

/* "Tue 10 Mar" */
std::string day_label(date::sys_days d) {
  static const char* wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  date::year_month_day ymd{d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %u %s", wd[date::weekday{d}.c_encoding()], static_cast<unsigned>(ymd.day()),
                mon[static_cast<unsigned>(ymd.month()) - 1]);
  return buf;
}

slots::Instant now_instant() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

/* Today's date in zone (UTC's if the zone is unusable). */
date::sys_days today_in(const std::string& zone) {
  auto d = parse_ymd(slots::local_date(now_instant(), zone));
  return d ? *d : date::floor<date::days>(std::chrono::system_clock::now());
}

/* The UTC offset of an ISO time we formatted: "+05:30", "-04:00", "+00:00" for Z. */
std::string iso_offset(const std::string& iso) {
  if (!iso.empty() && iso.back() == 'Z') return "+00:00";
  if (iso.size() >= 6 && (iso[iso.size() - 6] == '+' || iso[iso.size() - 6] == '-')) return iso.substr(iso.size() - 6);
  return "";
}

/* Cal.com's weekday names; the forms list Monday first. */
struct Weekday {
  const char* key;
  const char* name;
};
const std::array<Weekday, 7> kWeek = {{{"mon", "Monday"},
                                       {"tue", "Tuesday"},
                                       {"wed", "Wednesday"},
                                       {"thu", "Thursday"},
                                       {"fri", "Friday"},
                                       {"sat", "Saturday"},
                                       {"sun", "Sunday"}}};

using Range = std::pair<int, int>;  // minutes after midnight, [start, end)
using WeekRanges = std::array<std::vector<Range>, 7>;

/* Weekly rules of a mirrored schedule (Cal.com "availability") per weekday. */
WeekRanges ranges_by_day(const Json::Value& availability) {
  WeekRanges out;
  if (!availability.isArray()) return out;
  for (const auto& rule : availability) {
    auto s = parse_hhmm(json::str(rule, "startTime")), e = parse_hhmm(json::str(rule, "endTime"));
    if (!s || !e || !rule["days"].isArray()) continue;
    for (const auto& d : rule["days"]) {
      if (!d.isString()) continue;
      for (size_t i = 0; i < kWeek.size(); ++i)
        if (d.asString() == kWeek[i].name) out[i].emplace_back(*s, *e);
    }
  }
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

std::string ranges_text(const std::vector<Range>& rs) {
  std::string t;
  for (const auto& r : rs) t += (t.empty() ? "" : ", ") + hhmm(r.first) + "–" + hhmm(r.second);
  return t;
}

/* The "replace weekly hours" form -> Cal.com availability: two optional ranges
 * per weekday ({key}_start1/_end1/_start2/_end2), both empty = day off. Days
 * with the same range share one rule. 400 invalid_schedule naming the day. */
Result<Json::Value> availability_from_form(const Form& f) {
  std::vector<std::pair<Range, std::vector<std::string>>> groups;
  for (const auto& wd : kWeek) {
    std::vector<Range> day;
    for (int n = 1; n <= 2; ++n) {
      std::string s = trim(field(f, std::string(wd.key) + "_start" + std::to_string(n)));
      std::string e = trim(field(f, std::string(wd.key) + "_end" + std::to_string(n)));
      if (s.empty() && e.empty()) continue;
      std::string where = std::string(wd.name) + (n == 2 ? " (second range)" : "");
      if (s.empty() || e.empty())
        return bad("invalid_schedule", where + ": give both a start and an end, or leave both empty");
      auto sm = parse_hhmm(s), em = parse_hhmm(e);
      if (!sm) return bad("invalid_schedule", where + ": '" + clip(s) + "' is not a time of day (use HH:MM, e.g. 09:00)");
      if (!em) return bad("invalid_schedule", where + ": '" + clip(e) + "' is not a time of day (use HH:MM, e.g. 17:00)");
      if (*em <= *sm)
        return bad("invalid_schedule", where + ": the end (" + e + ") must be after the start (" + s + ")");
      day.emplace_back(*sm, *em);
    }
    if (day.size() == 2) {
      std::sort(day.begin(), day.end());
      if (day[1].first < day[0].second)
        return bad("invalid_schedule", std::string(wd.name) + ": the two ranges overlap (" + ranges_text(day) + ")");
    }
    for (const auto& r : day) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == r; });
      if (it == groups.end()) groups.push_back({r, {wd.name}});
      else it->second.push_back(wd.name);
    }
  }
  Json::Value out(Json::arrayValue);
  for (const auto& [r, days] : groups) {
    Json::Value rule;
    rule["days"] = Json::Value(Json::arrayValue);
    for (const auto& d : days) rule["days"].append(d);
    rule["startTime"] = hhmm(r.first);
    rule["endTime"] = hhmm(r.second);
    out.append(rule);
  }
  return out;
}

/* ---- prices: decimal strings <-> minor units, no floating point ---- */

struct Currency {
  const char* code;
  int decimals;
};
const std::array<Currency, 6> kCurrencies = {{{"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"AUD", 2}, {"INR", 2}, {"JPY", 0}}};
constexpr int64_t kMaxPriceMinor = 100000000;  // the domain's cap

int currency_decimals(const std::string& code) {
  for (const auto& c : kCurrencies)
    if (code == c.code) return c.decimals;
  return -1;
}

/* "75.00" USD -> 7500, "5000" JPY -> 5000, "" -> 0. Digits with at most the
 * currency's number of decimals; no sign, exponent or thousands separator. */
Result<int64_t> parse_price_minor(const std::string& raw, const std::string& currency) {
  int dec = currency_decimals(currency);
  if (dec < 0) return bad("invalid_field", "Pick a currency: USD, EUR, GBP, AUD, INR or JPY");
  std::string s = trim(raw);
  if (s.empty()) return int64_t(0);
  std::string example = dec == 0 ? "5000" : "75.00";
  size_t dot = s.find('.');
  std::string whole = s.substr(0, dot), frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (!all_digits(whole) || (dot != std::string::npos && !all_digits(frac)))
    return bad("invalid_price", "Price '" + clip(s) + "' is not an amount like " + example);
  if (static_cast<int>(frac.size()) > dec)
    return bad("invalid_price", dec == 0 ? "Price '" + clip(s) + "': " + currency + " has no minor unit; give a whole amount like 5000"
                                         : "Price '" + clip(s) + "' has more than " + std::to_string(dec) +
                                               " decimals; " + currency + " amounts look like 75.00");
  if (whole.size() > 10) return bad("invalid_price", "Price '" + clip(s) + "' is too large");
  int64_t minor = std::stoll(whole);
  for (int i = 0; i < dec; ++i) minor = minor * 10 + (i < static_cast<int>(frac.size()) ? frac[i] - '0' : 0);
  if (minor > kMaxPriceMinor) return bad("invalid_price", "Price '" + clip(s) + "' is too large");
  return minor;
}

std::string format_price(int64_t minor, const std::string& currency) {
  int dec = std::max(0, currency_decimals(currency) < 0 ? 2 : currency_decimals(currency));
  if (dec == 0) return std::to_string(minor);
  int64_t unit = 1;
  for (int i = 0; i < dec; ++i) unit *= 10;
  std::string frac = std::to_string(minor % unit);
  frac.insert(0, static_cast<size_t>(dec) - frac.size(), '0');
  return std::to_string(minor / unit) + "." + frac;
}

std::string price_label(int64_t minor, const std::string& currency) {
  return minor == 0 ? "Free" : payments::format_money(minor, currency);
}

/* ---- who the page is for ---- */

struct Target {
  int64_t user_id = 0;
  std::string name, email, role, time_zone;
  bool connected = false;   // active CalendarIntegration
};

/* The coach a page acts for: yourself, or (admins) user_id. */
Result<Target> resolve_target(Context& ctx, const session::Auth& auth, const std::string& user_id_param) {
  int64_t id = auth.user->id;
  if (!user_id_param.empty()) {
    auto v = positive_id(user_id_param, "user_id");
    if (!v) return v.error();
    if (*v != id && !auth.user->is_admin()) return make_error(403, "forbidden", "Only an admin can act for another user");
    id = *v;
  }
  auto row = ctx.db.query_one(
      "SELECT u.id, u.name, u.email, u.role, u.time_zone, ci.status AS cal_status FROM users u "
      "LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id WHERE u.id = ?", {id});
  if (!row) return make_error(404, "unknown_user", "No user with id " + std::to_string(id));
  Target t{row->i64("id"), row->str("name"), row->str("email"), row->str("role"), row->str("time_zone"),
           row->str("cal_status") == "active"};
  if (!slots::is_valid_zone(t.time_zone)) t.time_zone = "UTC";
  return t;
}

Json::Value coaches_for_admin(Context& ctx, int64_t selected) {
  Json::Value arr(Json::arrayValue);
  for (const auto& r : ctx.db.query("SELECT id, name, email FROM users WHERE role = 'coach' ORDER BY name LIMIT 500")) {
    Json::Value u;
    u["id"] = r.str("id");
    u["label"] = r.str("name") + " <" + r.str("email") + ">";
    u["selected"] = r.i64("id") == selected;
    arr.append(u);
  }
  return arr;
}

Json::Value target_json(const Target& t) {
  Json::Value v;
  v["id"] = std::to_string(t.user_id);
  v["name"] = t.name;
  v["email"] = t.email;
  v["time_zone"] = t.time_zone;
  v["is_coach"] = t.role == "coach";
  v["connected"] = t.connected;
  return v;
}

/* Signs in, checks the role and (for POST) the form's content type and CSRF
 * token. Returns the response to send when the request stops here. */
std::optional<Response> gate(Context& ctx, const Request& req, const session::Auth& auth, bool admins_too, Form* form) {
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  if (!auth.user->is_coach() && !(admins_too && auth.user->is_admin()))
    return error_for(ctx, req, auth, 403, "coaches_only",
                     admins_too ? "This page is for coaches and admins." : "This page is for coaches: it manages your own calendar.");
  if (req.method == "POST") {
    if (!is_form(req))
      return error_for(ctx, req, auth, 415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded");
    *form = form_fields(req);
    if (!session::csrf_ok(ctx.cfg, req, auth, *form))
      return error_for(ctx, req, auth, 403, "csrf_failed",
                       "The form has expired or did not come from this site; reload the page and try again");
  }
  return std::nullopt;
}

/* ---- a week of free slots ---- */

/* Free slots of one session type for the 7 local dates from week_start in
 * zone: {zone, week_start, prev_week, next_week, days:[{date, label, offset,
 * n_slots, slots:[{time, iso, title, href}]}], source, degraded} or {error}.
 * *status becomes the error status when the request itself was bad (4xx);
 * Cal.com trouble never makes the page fail. */
Json::Value week_of_slots(availability::Ctx& ac, int64_t coach_id, const availability::EventTypeRow& et,
                          const std::string& zone, date::sys_days week_start, bool with_links, int* status) {
  Json::Value w;
  w["zone"] = zone;
  w["week_start"] = ymd_text(week_start);
  w["week_end"] = ymd_text(week_start + date::days(6));
  w["prev_week"] = ymd_text(week_start - date::days(7));
  w["next_week"] = ymd_text(week_start + date::days(7));
  w["event_type_id"] = std::to_string(et.cal_event_type_id);
  w["event_title"] = et.title;
  w["length_min"] = et.length_min;
  w["zone_q"] = url_encode(zone);
  // Every key the templates test is set, so a section never falls back to a
  // same-named key of the page (the page's own "error", say).
  w["error"] = Json::Value();
  w["error_code"] = Json::Value();
  w["ok"] = false;
  w["degraded"] = false;
  w["source"] = "";
  w["prev_href"] = Json::Value();
  auto fail = [&](const Error& e) {
    w["error"] = e.message;
    w["error_code"] = e.code;
    if (e.http_status >= 400 && e.http_status < 500) *status = e.http_status;
    return w;
  };
  auto from = slots::local_to_utc(ymd_text(week_start), 0, zone);
  if (!from) return fail(from.error());
  auto to = slots::local_to_utc(ymd_text(week_start + date::days(7)), 0, zone);
  if (!to) return fail(to.error());
  availability::SlotQuery q;
  q.coach_user_id = coach_id;
  q.cal_event_type_id = et.cal_event_type_id;
  q.start = slots::format_iso(*from, "UTC");
  // Local midnight minus a second: an end at exactly midnight UTC would be
  // stretched to 23:59:59 of that day by Cal.com's window rules.
  q.end = slots::format_iso(*to - std::chrono::seconds(1), "UTC");
  q.time_zone = zone;
  auto ans = availability::free_slots(ac, q);
  if (!ans) return fail(ans.error());

  std::array<Json::Value, 7> day_slots;
  for (auto& d : day_slots) d = Json::Value(Json::arrayValue);
  int n_total = 0, n_skipped = 0;
  for (const auto& day : ans->days) {
    for (const auto& s : day["slots"]) {
      auto start = slots::parse_iso(json::str(s, "start"));
      if (!start) {
        ++n_skipped;
        continue;
      }
      auto end = slots::parse_iso(json::str(s, "end"));
      slots::Instant stop = end ? *end : *start + std::chrono::minutes(et.length_min);
      auto local = parse_ymd(slots::local_date(*start, zone));
      if (!local || *local < week_start || *local >= week_start + date::days(7)) continue;
      std::string iso = slots::format_iso(*start, zone), iso_end = slots::format_iso(stop, zone);
      Json::Value slot;
      slot["time"] = iso.substr(11, 5);
      slot["iso"] = iso;
      slot["title"] = iso.substr(11, 5) + "–" + iso_end.substr(11, 5) + " " + zone + " (UTC" + iso_offset(iso) + ")";
      slot["href"] = "/book?coachId=" + std::to_string(coach_id) + "&eventTypeId=" + std::to_string(et.cal_event_type_id) +
                     "&start=" + url_encode(iso);
      slot["with_link"] = with_links;
      day_slots[static_cast<size_t>((*local - week_start).count())].append(slot);
      ++n_total;
    }
  }
  if (n_skipped)
    log::warn("calendar page: slots with unreadable times skipped", {{"coach", std::to_string(coach_id)}, {"n", std::to_string(n_skipped)}});
  Json::Value days(Json::arrayValue);
  for (int i = 0; i < 7; ++i) {
    date::sys_days d = week_start + date::days(i);
    Json::Value day;
    day["date"] = ymd_text(d);
    day["label"] = day_label(d);
    auto noon = slots::local_to_utc(ymd_text(d), 12 * 60, zone);
    day["offset"] = noon ? "UTC" + iso_offset(slots::format_iso(*noon, zone)) : "";
    day["slots"] = day_slots[static_cast<size_t>(i)];
    day["n_slots"] = static_cast<int>(day_slots[static_cast<size_t>(i)].size());
    day["has_slots"] = !day_slots[static_cast<size_t>(i)].empty();
    days.append(day);
  }
  w["days"] = days;
  w["n_slots"] = n_total;
  w["has_any"] = n_total > 0;
  w["source"] = ans->source;
  w["degraded"] = ans->degraded;
  w["ok"] = true;
  return w;
}

/* Session type, zone and week of a week view from the query (defaults: the
 * first session type, default_zone, today in that zone). 400s name the field. */
struct WeekChoice {
  std::optional<availability::EventTypeRow> event_type;
  std::string zone;
  date::sys_days week_start;
};
Result<WeekChoice> week_choice(const Request& req, const std::vector<availability::EventTypeRow>& types,
                               const std::string& default_zone) {
  WeekChoice c;
  c.zone = req.param("tz").empty() ? default_zone : req.param("tz");
  if (c.zone.size() > 64 || !slots::is_valid_zone(c.zone))
    return bad("invalid_time_zone", "Unknown time zone '" + clip(c.zone) + "'; pick one from the list (IANA names like Europe/London)");
  std::string et = req.param("event_type");
  if (!et.empty()) {
    auto id = positive_id(et, "Session type");
    if (!id) return id.error();
    for (const auto& t : types)
      if (t.cal_event_type_id == *id) c.event_type = t;
    if (!c.event_type) return make_error(404, "unknown_event_type", "No session type " + clip(et) + " here");
  } else if (!types.empty()) {
    c.event_type = types.front();
  }
  std::string week = req.param("week");
  if (week.empty()) {
    c.week_start = today_in(c.zone);
  } else {
    auto d = parse_ymd(week);
    if (!d) return bad("invalid_field", "Week start '" + clip(week) + "' is not a date (YYYY-MM-DD)");
    c.week_start = *d;
  }
  return c;
}

Json::Value event_type_options(const std::vector<availability::EventTypeRow>& types, int64_t selected) {
  Json::Value arr(Json::arrayValue);
  for (const auto& t : types) {
    Json::Value o;
    o["value"] = std::to_string(t.cal_event_type_id);
    o["label"] = t.title + " (" + std::to_string(t.length_min) + " min)" + (t.hidden ? " · hidden" : "");
    o["selected"] = t.cal_event_type_id == selected;
    arr.append(o);
  }
  return arr;
}

/* ---- schedules: actions and template data ---- */

/* What a POSTed action left behind for the page. */
struct Outcome {
  int status = 200;
  std::string notice, error, error_code;
  std::string kept;            // "create", "rules" or "override": whose fields to show as posted
  int64_t schedule_id = 0;     // the schedule the kept fields belong to
};

void set_error(Outcome& o, const Error& e, const std::string& kept = "", int64_t sid = 0) {
  o.status = e.http_status;
  o.error = e.message;
  o.error_code = e.code;
  o.kept = kept;
  o.schedule_id = sid;
}

std::optional<availability::ScheduleRow> find_schedule(db::Db& db, int64_t uid, int64_t sid) {
  for (auto& s : availability::list_schedules(db, uid))
    if (s.cal_schedule_id == sid) return s;
  return std::nullopt;
}

/* One override from the form: date, start, end or day_off=1 (00:00-00:00). */
Result<Json::Value> override_from_form(const Form& f) {
  std::string d = trim(field(f, "date"));
  if (!parse_ymd(d)) return bad("invalid_schedule", "Exception date '" + clip(d) + "' is not a date (YYYY-MM-DD)");
  Json::Value o;
  o["date"] = d;
  if (field(f, "day_off") == "1") {
    o["startTime"] = "00:00";
    o["endTime"] = "00:00";
    return o;
  }
  std::string s = trim(field(f, "start")), e = trim(field(f, "end"));
  if (s.empty() || e.empty())
    return bad("invalid_schedule", "Exception on " + d + ": give a start and an end, or tick “whole day off”");
  auto sm = parse_hhmm(s), em = parse_hhmm(e);
  if (!sm || !em) return bad("invalid_schedule", "Exception on " + d + ": times must look like 09:00");
  if (*em <= *sm)
    return bad("invalid_schedule", "Exception on " + d + ": the end (" + e + ") must be after the start (" + s + ")");
  o["startTime"] = hhmm(*sm);
  o["endTime"] = hhmm(*em);
  return o;
}

bool is_day_off(const Json::Value& o) { return json::str(o, "startTime") == json::str(o, "endTime"); }

void sort_overrides(Json::Value& arr) {
  std::vector<Json::Value> v(arr.begin(), arr.end());
  std::sort(v.begin(), v.end(), [](const Json::Value& a, const Json::Value& b) {
    return std::make_pair(json::str(a, "date"), json::str(a, "startTime")) <
           std::make_pair(json::str(b, "date"), json::str(b, "startTime"));
  });
  arr = Json::Value(Json::arrayValue);
  for (auto& x : v) arr.append(x);
}

/* Runs one schedule action (sync, create_schedule, replace_rules,
 * add_override, remove_override, make_default, delete_schedule). */
Outcome run_schedule_action(availability::Ctx& ac, const Target& t, const Form& f) {
  Outcome o;
  const std::string action = field(f, "action");
  if (t.role != "coach") {
    set_error(o, bad("not_a_coach", t.name + " is not a coach; pick a coach first"));
    return o;
  }
  if (action == "sync") {
    auto r = availability::sync_schedules(ac, t.user_id);
    if (!r) set_error(o, r.error());
    else o.notice = "Synced from Cal.com: " + std::to_string(r->size()) + " schedule(s).";
    return o;
  }
  if (action == "create_schedule") {
    std::string name = trim(field(f, "name")), zone = trim(field(f, "time_zone"));
    if (name.empty()) {
      set_error(o, bad("invalid_schedule", "Give the schedule a name"), "create");
      return o;
    }
    if (zone.size() > 64 || !slots::is_valid_zone(zone)) {
      set_error(o, bad("invalid_time_zone", "Unknown time zone '" + clip(zone) + "'; pick one from the list"), "create");
      return o;
    }
    Json::Value in;
    in["name"] = name;
    in["timeZone"] = zone;
    in["isDefault"] = field(f, "is_default") == "1";
    auto r = availability::create_schedule(ac, t.user_id, in);
    if (!r) set_error(o, r.error(), "create");
    else o.notice = "Schedule “" + r->name + "” created (" + r->time_zone + ", Monday to Friday 09:00–17:00; edit the hours below).";
    return o;
  }
  auto sid = positive_id(field(f, "schedule_id"), "schedule_id");
  if (!sid) {
    set_error(o, sid.error());
    return o;
  }
  auto cur = find_schedule(ac.db, t.user_id, *sid);
  if (!cur) {
    set_error(o, make_error(404, "unknown_schedule", "No schedule " + std::to_string(*sid) + " for " + t.name));
    return o;
  }
  if (action == "replace_rules") {
    auto av = availability_from_form(f);
    if (!av) {
      set_error(o, av.error(), "rules", *sid);
      return o;
    }
    Json::Value patch;
    patch["availability"] = *av;
    auto r = availability::update_schedule(ac, t.user_id, *sid, patch);
    if (!r) set_error(o, r.error(), "rules", *sid);
    else o.notice = "Weekly hours of “" + r->name + "” saved.";
  } else if (action == "add_override") {
    auto ov = override_from_form(f);
    if (!ov) {
      set_error(o, ov.error(), "override", *sid);
      return o;
    }
    // A whole day off replaces that date's ranges; a range replaces its day off.
    Json::Value list(Json::arrayValue);
    for (const auto& x : cur->overrides) {
      bool same_date = json::str(x, "date") == (*ov)["date"].asString();
      if (same_date && (is_day_off(*ov) || is_day_off(x))) continue;
      if (same_date && json::str(x, "startTime") < (*ov)["endTime"].asString() &&
          (*ov)["startTime"].asString() < json::str(x, "endTime")) {
        set_error(o, bad("invalid_schedule", "Exception on " + (*ov)["date"].asString() + ": " + (*ov)["startTime"].asString() + "–" +
                                                 (*ov)["endTime"].asString() + " overlaps the exception " + json::str(x, "startTime") +
                                                 "–" + json::str(x, "endTime") + " already there; remove that one first"),
                  "override", *sid);
        return o;
      }
      list.append(x);
    }
    list.append(*ov);
    sort_overrides(list);
    Json::Value patch;
    patch["overrides"] = list;
    auto r = availability::update_schedule(ac, t.user_id, *sid, patch);
    if (!r) set_error(o, r.error(), "override", *sid);
    else o.notice = "Exception on " + (*ov)["date"].asString() + " added to “" + r->name + "”: " +
                    (is_day_off(*ov) ? std::string("whole day off") : (*ov)["startTime"].asString() + "–" + (*ov)["endTime"].asString()) + ".";
  } else if (action == "remove_override") {
    Json::Value list(Json::arrayValue);
    bool found = false;
    for (const auto& x : cur->overrides) {
      if (!found && json::str(x, "date") == field(f, "date") && json::str(x, "startTime") == field(f, "start") &&
          json::str(x, "endTime") == field(f, "end")) {
        found = true;
        continue;
      }
      list.append(x);
    }
    if (!found) {
      set_error(o, make_error(404, "unknown_override", "No such exception on " + field(f, "date") + " (it may be gone already)"));
      return o;
    }
    Json::Value patch;
    patch["overrides"] = list;
    auto r = availability::update_schedule(ac, t.user_id, *sid, patch);
    if (!r) set_error(o, r.error());
    else o.notice = "Exception on " + field(f, "date") + " removed.";
  } else if (action == "make_default") {
    Json::Value patch;
    patch["isDefault"] = true;
    auto r = availability::update_schedule(ac, t.user_id, *sid, patch);
    if (!r) set_error(o, r.error());
    else o.notice = "“" + r->name + "” is now the default schedule.";
  } else if (action == "delete_schedule") {
    auto r = availability::delete_schedule(ac, t.user_id, *sid);
    if (!r) set_error(o, r.error());
    else o.notice = "Schedule “" + cur->name + "” deleted.";
  } else {
    set_error(o, bad("unknown_action", "Unknown action '" + clip(action) + "'"));
  }
  return o;
}

Json::Value schedules_json(const std::vector<availability::ScheduleRow>& rows, const Outcome& o, const Form& f) {
  Json::Value arr(Json::arrayValue);
  for (const auto& s : rows) {
    Json::Value v;
    v["sid"] = std::to_string(s.cal_schedule_id);
    v["sname"] = s.name;
    v["zone"] = s.time_zone;
    v["is_default"] = s.is_default;
    WeekRanges wr = ranges_by_day(s.availability);
    bool keep_rules = o.kept == "rules" && o.schedule_id == s.cal_schedule_id;
    Json::Value rules(Json::arrayValue), rows_form(Json::arrayValue);
    bool extra = false;
    for (size_t i = 0; i < kWeek.size(); ++i) {
      Json::Value r;
      r["day"] = kWeek[i].name;
      r["hours"] = wr[i].empty() ? "Day off" : ranges_text(wr[i]);
      r["off"] = wr[i].empty();
      rules.append(r);
      Json::Value fr;
      fr["key"] = kWeek[i].key;
      fr["day"] = kWeek[i].name;
      const std::string k = kWeek[i].key;
      for (int n = 1; n <= 2; ++n) {
        std::string sn = "start" + std::to_string(n), en = "end" + std::to_string(n);
        if (keep_rules) {
          fr[sn] = field(f, k + "_" + sn);
          fr[en] = field(f, k + "_" + en);
        } else if (wr[i].size() >= static_cast<size_t>(n)) {
          fr[sn] = hhmm(wr[i][static_cast<size_t>(n - 1)].first);
          fr[en] = hhmm(wr[i][static_cast<size_t>(n - 1)].second);
        } else {
          fr[sn] = "";
          fr[en] = "";
        }
      }
      if (wr[i].size() > 2) extra = true;
      rows_form.append(fr);
    }
    v["rules"] = rules;
    v["form_rows"] = rows_form;
    v["rules_extra"] = extra;
    Json::Value ovs(Json::arrayValue);
    Json::Value sorted = s.overrides;
    sort_overrides(sorted);
    for (const auto& x : sorted) {
      Json::Value ov;
      ov["odate"] = json::str(x, "date");
      ov["ostart"] = json::str(x, "startTime");
      ov["oend"] = json::str(x, "endTime");
      ov["oday_off"] = is_day_off(x);
      ov["olabel"] = is_day_off(x) ? "Whole day off" : json::str(x, "startTime") + "–" + json::str(x, "endTime");
      auto d = parse_ymd(json::str(x, "date"));
      ov["oweekday"] = d ? day_label(*d) : "";
      ovs.append(ov);
    }
    v["overrides"] = ovs;
    v["has_overrides"] = !ovs.empty();
    bool keep_ov = o.kept == "override" && o.schedule_id == s.cal_schedule_id;
    v["ov_date"] = keep_ov ? field(f, "date") : "";
    v["ov_start"] = keep_ov ? field(f, "start") : "";
    v["ov_end"] = keep_ov ? field(f, "end") : "";
    v["ov_day_off"] = keep_ov && field(f, "day_off") == "1";
    v["open"] = (keep_rules || keep_ov);
    v["sched_error"] = text_or_null((keep_rules || keep_ov) ? o.error : "");
    arr.append(v);
  }
  return arr;
}

enum class CalendarMode { test, production };

/* /cal-availability-test and /coach/calendar: the same actions; the test page
 * adds raw exchanges and (for admins) acting for any coach. */
Response calendar_page(Context& ctx, const Request& req, CalendarMode mode) {
  const bool is_test = mode == CalendarMode::test;
  const std::string self = is_test ? "/cal-availability-test" : "/coach/calendar";
  if (req.method != "GET" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, is_test, &form)) return *stop;
  std::string uid_param = is_test ? (req.method == "POST" ? field(form, "user_id") : req.param("user_id")) : "";
  auto target = resolve_target(ctx, auth, uid_param);
  if (!target) return error_for(ctx, req, auth, target.error().http_status, target.error().code, target.error().message);

  std::vector<calcom::Exchange> exchanges;
  calcom::Client cal(calcom::settings_from(ctx.cfg), is_test ? &exchanges : nullptr);
  availability::Ctx ac{ctx.cfg, ctx.db, cal};
  Json::Value data(Json::objectValue);
  Outcome o;
  if (req.method == "POST") o = run_schedule_action(ac, *target, form);
  int status = o.status;
  if (!o.notice.empty()) data["notice"] = o.notice;
  if (!o.error.empty()) {
    data["error"] = o.error;
    data["error_code"] = o.error_code;
  }

  data["self"] = self;
  data["target"] = target_json(*target);
  data["is_admin"] = auth.user->is_admin();
  if (is_test && auth.user->is_admin()) data["coaches"] = coaches_for_admin(ctx, target->user_id);

  auto schedules = availability::list_schedules(ctx.db, target->user_id);
  data["schedules"] = schedules_json(schedules, o, form);
  data["has_schedules"] = !schedules.empty();
  data["weekdays"] = Json::Value(Json::arrayValue);
  for (const auto& wd : kWeek) data["weekdays"].append(wd.name);

  bool keep_create = o.kept == "create";
  data["new_name"] = keep_create ? field(form, "name") : "";
  data["new_is_default"] = keep_create ? field(form, "is_default") == "1" : schedules.empty();
  data["new_zones"] = zone_options(keep_create ? field(form, "time_zone") : target->time_zone);

  // The week view reads its choices from the query (a GET form); after a POST
  // it shows the defaults.
  auto types = availability::list_event_types(ctx.db, target->user_id);
  data["has_event_types"] = !types.empty();
  Request week_req = req;
  if (req.method == "POST") week_req.query.clear();
  auto choice = week_choice(week_req, types, target->time_zone);
  if (!choice) {
    data["week_error"] = choice.error().message;
    data["week_error_code"] = choice.error().code;
    if (status < 400) status = choice.error().http_status;
    data["view_zones"] = zone_options(target->time_zone);
    data["view_types"] = event_type_options(types, 0);
    data["view_week"] = req.param("week");
  } else {
    data["view_zones"] = zone_options(choice->zone);
    data["view_types"] = event_type_options(types, choice->event_type ? choice->event_type->cal_event_type_id : 0);
    data["view_week"] = ymd_text(choice->week_start);
    if (choice->event_type && target->role == "coach") {
      int week_status = 200;
      data["week"] = week_of_slots(ac, target->user_id, *choice->event_type, choice->zone, choice->week_start, false, &week_status);
      if (status < 400 && week_status >= 400) status = week_status;
    }
  }
  if (is_test) {
    data["exchanges"] = exchanges_json(exchanges);
    data["has_exchanges"] = !exchanges.empty();
  }
  return page(ctx, req, auth, is_test ? "cal_availability_test" : "coach_calendar",
              is_test ? "Cal.com availability — test" : "My calendar", data, status);
}

/* ---- session types ---- */

std::string location_of(const availability::EventTypeRow& e) {
  if (!e.locations.isArray() || e.locations.empty()) return "none";
  const Json::Value& l = e.locations[0];
  std::string integ = json::str(l, "integration");
  if (integ == "zoom" || integ == "cal-video") return integ;
  if (json::str(l, "type") == "integration" && !integ.empty()) return integ;
  return json::str(l, "type", "none");
}

std::string location_label(const std::string& loc) {
  if (loc == "zoom") return "Zoom";
  if (loc == "cal-video") return "Cal Video";
  if (loc == "none") return "None";
  return loc;
}

Json::Value options_of(const std::vector<std::pair<std::string, std::string>>& values, const std::string& selected) {
  Json::Value arr(Json::arrayValue);
  for (const auto& [v, label] : values) {
    Json::Value o;
    o["value"] = v;
    o["label"] = label;
    o["selected"] = v == selected;
    arr.append(o);
  }
  return arr;
}

/* The fields of a session-type form, as plain strings (what the form shows). */
Form event_form_from_row(const availability::EventTypeRow& e) {
  Form f;
  f["title"] = e.title;
  f["slug"] = e.slug;
  f["description"] = e.description;
  f["length"] = std::to_string(e.length_min);
  f["before_buffer"] = std::to_string(e.before_buffer_min);
  f["after_buffer"] = std::to_string(e.after_buffer_min);
  f["min_notice"] = std::to_string(e.minimum_notice_min);
  f["slot_interval"] = e.slot_interval_min ? std::to_string(e.slot_interval_min) : "";
  f["schedule_id"] = e.cal_schedule_id ? std::to_string(e.cal_schedule_id) : "";
  f["location"] = location_of(e);
  f["price"] = e.price_minor ? format_price(e.price_minor, e.currency) : "";
  f["currency"] = e.currency;
  f["refund_policy"] = e.refund_policy;
  f["hidden"] = e.hidden ? "1" : "";
  if (e.booking_fields.isArray() && !e.booking_fields.empty()) {
    const Json::Value& q = e.booking_fields[0];
    f["q_label"] = json::str(q, "label");
    f["q_slug"] = json::str(q, "slug");
    f["q_type"] = json::str(q, "type");
    f["q_placeholder"] = json::str(q, "placeholder");
    f["q_required"] = q["required"].isBool() && q["required"].asBool() ? "1" : "";
    std::string opts;
    if (q["options"].isArray())
      for (const auto& x : q["options"]) {
        std::string label = x.isString() ? x.asString() : json::str(x, "label", json::str(x, "value"));
        if (!label.empty()) opts += (opts.empty() ? "" : ", ") + label;
      }
    f["q_options"] = opts;
  }
  return f;
}

/* Template data of a session-type form from its string fields. */
Json::Value event_form_json(const Form& f, const std::vector<availability::ScheduleRow>& schedules) {
  Json::Value v;
  for (const char* k : {"title", "slug", "description", "length", "before_buffer", "after_buffer", "min_notice",
                        "slot_interval", "price", "refund_policy", "q_label", "q_slug", "q_placeholder", "q_options"})
    v[k] = field(f, k);
  v["hidden"] = field(f, "hidden") == "1";
  v["q_required"] = field(f, "q_required") == "1";
  std::vector<std::pair<std::string, std::string>> cur;
  for (const auto& c : kCurrencies) cur.emplace_back(c.code, c.code);
  v["currencies"] = options_of(cur, field(f, "currency").empty() ? "USD" : field(f, "currency"));
  std::string loc = field(f, "location").empty() ? "cal-video" : field(f, "location");
  std::vector<std::pair<std::string, std::string>> locs = {{"cal-video", "Cal Video"}, {"zoom", "Zoom"}, {"none", "None"}};
  if (loc != "cal-video" && loc != "zoom" && loc != "none") locs.emplace_back(loc, location_label(loc));
  v["locations"] = options_of(locs, loc);
  std::vector<std::pair<std::string, std::string>> sch = {{"", "The coach's default schedule"}};
  for (const auto& s : schedules)
    sch.emplace_back(std::to_string(s.cal_schedule_id), s.name + " (" + s.time_zone + ")" + (s.is_default ? " · default" : ""));
  v["schedule_options"] = options_of(sch, field(f, "schedule_id"));
  v["q_types"] = options_of({{"text", "Short text"}, {"textarea", "Long text"}, {"select", "Choice (select)"}},
                            field(f, "q_type").empty() ? "text" : field(f, "q_type"));
  return v;
}

/* Reads a whole number of minutes; empty gives dflt (nullopt: leave it out). */
Result<std::optional<int>> minutes_field(const Form& f, const char* key, const std::string& label, int lo, int hi,
                                         std::optional<int> dflt) {
  std::string s = trim(field(f, key));
  if (s.empty()) return dflt;
  if (!all_digits(s) || s.size() > 7 || std::stoi(s) < lo || std::stoi(s) > hi)
    return bad("invalid_field", label + " must be a whole number of minutes from " + std::to_string(lo) + " to " +
                                    std::to_string(hi) + " (got '" + clip(s) + "')");
  return std::optional<int>(std::stoi(s));
}

/* Session-type form -> the domain's JSON input (see availability.hpp). On an
 * update, custom questions after the first (made through the API) are kept. */
Result<Json::Value> event_input_from_form(const Form& f, const std::optional<availability::EventTypeRow>& cur) {
  Json::Value in(Json::objectValue);
  std::string title = trim(field(f, "title")), slug = trim(field(f, "slug"));
  if (title.empty()) return bad("invalid_field", "Give the session type a title");
  if (slug.empty()) return bad("invalid_field", "Give the session type a slug (lower-case letters, digits and '-', e.g. strategy-call)");
  in["title"] = title;
  in["slug"] = slug;
  in["description"] = trim(field(f, "description"));
  struct Num {
    const char* key;
    const char* json;
    const char* label;
    int lo, hi;
    std::optional<int> dflt;
  };
  const Num nums[] = {{"length", "lengthInMinutes", "Length", 5, 720, std::nullopt},
                      {"before_buffer", "beforeEventBuffer", "Buffer before", 0, 240, 0},
                      {"after_buffer", "afterEventBuffer", "Buffer after", 0, 240, 0},
                      {"min_notice", "minimumBookingNotice", "Minimum notice", 0, 60 * 24 * 60, 0},
                      {"slot_interval", "slotInterval", "Slot interval", 5, 720, std::nullopt}};
  for (const auto& n : nums) {
    auto v = minutes_field(f, n.key, n.label, n.lo, n.hi, n.dflt);
    if (!v) return v.error();
    if (!*v && std::string(n.key) == "length") return bad("invalid_field", "Give the length in minutes (5 to 720)");
    if (*v) in[n.json] = **v;
  }
  std::string sched = field(f, "schedule_id");
  if (!sched.empty()) {
    auto sid = positive_id(sched, "Schedule");
    if (!sid) return sid.error();
    in["scheduleId"] = Json::Int64(*sid);
  }
  std::string loc = field(f, "location");
  if (loc == "zoom" || loc == "cal-video" || loc == "google-meet") in["location"] = loc;
  else if (loc == "none" || loc.empty()) in["location"] = "";
  else return bad("invalid_field", "Location must be Zoom, Cal Video or none");
  std::string currency = field(f, "currency").empty() ? "USD" : field(f, "currency");
  auto price = parse_price_minor(field(f, "price"), currency);
  if (!price) return price.error();
  in["priceMinor"] = Json::Int64(*price);
  in["currency"] = currency;
  in["refundPolicy"] = trim(field(f, "refund_policy"));  // "" = the platform's; checked by availability
  in["hidden"] = field(f, "hidden") == "1";

  Json::Value fields(Json::arrayValue);
  std::string ql = trim(field(f, "q_label")), qs = trim(field(f, "q_slug")), qt = field(f, "q_type");
  if (!ql.empty() || !qs.empty()) {
    if (ql.empty()) return bad("invalid_field", "The custom question needs a label");
    if (qs.empty()) return bad("invalid_field", "The custom question needs a slug (e.g. goal)");
    if (qt != "text" && qt != "textarea" && qt != "select")
      return bad("invalid_field", "The custom question's type must be short text, long text or a choice");
    Json::Value q;
    q["type"] = qt;
    q["slug"] = qs;
    q["label"] = ql;
    q["required"] = field(f, "q_required") == "1";
    q["hidden"] = false;
    // Cal.com's input types want a placeholder string on text and choice fields.
    q["placeholder"] = trim(field(f, "q_placeholder"));
    if (qt == "select") {
      Json::Value opts(Json::arrayValue);
      std::string raw = field(f, "q_options");
      size_t pos = 0;
      while (pos <= raw.size()) {
        size_t comma = raw.find(',', pos);
        if (comma == std::string::npos) comma = raw.size();
        std::string o = trim(raw.substr(pos, comma - pos));
        if (!o.empty()) opts.append(o);
        pos = comma + 1;
      }
      if (opts.size() < 2) return bad("invalid_field", "A choice question needs at least two options, separated by commas");
      q["options"] = opts;
    }
    fields.append(q);
  }
  if (cur && cur->booking_fields.isArray())
    for (Json::ArrayIndex i = 1; i < cur->booking_fields.size(); ++i) fields.append(cur->booking_fields[i]);
  if (!fields.empty() || (cur && cur->booking_fields.isArray() && !cur->booking_fields.empty())) in["bookingFields"] = fields;
  return in;
}

/* /cal-event-types-test: list (mirror), sync, create, edit, delete. */
Response event_types_page(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, true, &form)) return *stop;
  auto target = resolve_target(ctx, auth, req.method == "POST" ? field(form, "user_id") : req.param("user_id"));
  if (!target) return error_for(ctx, req, auth, target.error().http_status, target.error().code, target.error().message);

  std::vector<calcom::Exchange> exchanges;
  calcom::Client cal(calcom::settings_from(ctx.cfg), &exchanges);
  availability::Ctx ac{ctx.cfg, ctx.db, cal};
  Json::Value data(Json::objectValue);
  int status = 200;
  std::string kept;          // "create" or "edit"
  int64_t kept_id = 0;
  auto fail = [&](const Error& e, const std::string& k = "", int64_t id = 0) {
    status = e.http_status;
    data["error"] = e.message;
    data["error_code"] = e.code;
    kept = k;
    kept_id = id;
  };
  if (req.method == "POST") {
    std::string action = field(form, "action");
    if (target->role != "coach") {
      fail(bad("not_a_coach", target->name + " is not a coach; pick a coach first"));
    } else if (action == "sync") {
      auto r = availability::sync_event_types(ac, target->user_id);
      if (!r) fail(r.error());
      else data["notice"] = "Synced from Cal.com: " + std::to_string(r->size()) + " session type(s).";
    } else if (action == "create") {
      auto in = event_input_from_form(form, std::nullopt);
      if (!in) {
        fail(in.error(), "create");
      } else {
        auto r = availability::create_event_type(ac, target->user_id, *in);
        if (!r) fail(r.error(), "create");
        else data["notice"] = "Session type “" + r->title + "” created (Cal.com id " + std::to_string(r->cal_event_type_id) +
                              ", price " + price_label(r->price_minor, r->currency) + ").";
      }
    } else if (action == "update" || action == "delete") {
      auto id = positive_id(field(form, "event_type_id"), "event_type_id");
      std::optional<availability::EventTypeRow> cur;
      if (id) cur = availability::find_event_type(ctx.db, *id);
      if (!id) {
        fail(id.error());
      } else if (!cur || cur->user_id != target->user_id) {
        fail(make_error(404, "unknown_event_type", "No session type " + std::to_string(*id) + " for " + target->name));
      } else if (action == "delete") {
        auto r = availability::delete_event_type(ac, target->user_id, *id);
        if (!r) fail(r.error());
        else data["notice"] = "Session type “" + cur->title + "” deleted.";
      } else {
        auto in = event_input_from_form(form, cur);
        if (!in) {
          fail(in.error(), "edit", *id);
        } else {
          auto r = availability::update_event_type(ac, target->user_id, *id, *in);
          if (!r) fail(r.error(), "edit", *id);
          else data["notice"] = "Session type “" + r->title + "” saved.";
        }
      }
    } else {
      fail(bad("unknown_action", "Unknown action '" + clip(action) + "'"));
    }
  }

  data["target"] = target_json(*target);
  data["is_admin"] = auth.user->is_admin();
  if (auth.user->is_admin()) data["coaches"] = coaches_for_admin(ctx, target->user_id);
  auto schedules = availability::list_schedules(ctx.db, target->user_id);
  data["has_schedules"] = !schedules.empty();
  Json::Value rows(Json::arrayValue);
  for (const auto& e : availability::list_event_types(ctx.db, target->user_id)) {
    Json::Value v;
    v["eid"] = std::to_string(e.cal_event_type_id);
    v["etitle"] = e.title;
    v["eslug"] = e.slug;
    v["edescription"] = text_or_null(e.description);
    v["elength"] = e.length_min;
    v["ebuffers"] = std::to_string(e.before_buffer_min) + " / " + std::to_string(e.after_buffer_min) + " min";
    v["enotice"] = std::to_string(e.minimum_notice_min) + " min";
    v["einterval"] = e.slot_interval_min ? std::to_string(e.slot_interval_min) + " min" : "= length";
    v["eschedule"] = "default";
    for (const auto& s : schedules)
      if (s.cal_schedule_id == e.cal_schedule_id) v["eschedule"] = s.name;
    if (e.cal_schedule_id && v["eschedule"].asString() == "default") v["eschedule"] = "#" + std::to_string(e.cal_schedule_id);
    v["elocation"] = location_label(location_of(e));
    v["eprice"] = price_label(e.price_minor, e.currency);
    v["eprice_minor"] = std::to_string(e.price_minor);
    v["erefund"] = text_or_null(e.refund_policy);
    v["ecurrency"] = e.currency;
    v["ehidden"] = e.hidden;
    std::string q;
    if (e.booking_fields.isArray())
      for (const auto& b : e.booking_fields)
        q += (q.empty() ? "" : "; ") + json::str(b, "label") + " (" + json::str(b, "type") +
             (b["required"].isBool() && b["required"].asBool() ? ", required" : "") + ")";
    v["equestions"] = text_or_null(q);
    bool keep = kept == "edit" && kept_id == e.cal_event_type_id;
    v["form"] = event_form_json(keep ? form : event_form_from_row(e), schedules);
    v["open"] = keep;
    v["row_error"] = text_or_null(keep ? data["error"].asString() : "");
    rows.append(v);
  }
  data["event_types"] = rows;
  data["has_event_types"] = !rows.empty();
  Form blank;
  blank["length"] = "30";
  blank["before_buffer"] = blank["after_buffer"] = blank["min_notice"] = "0";
  blank["currency"] = "USD";
  data["new_form"] = event_form_json(kept == "create" ? form : blank, schedules);
  data["exchanges"] = exchanges_json(exchanges);
  data["has_exchanges"] = !exchanges.empty();
  return page(ctx, req, auth, "cal_event_types_test", "Cal.com session types — test", data, status);
}

std::vector<std::string> split_tags(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    std::string t = trim(s.substr(pos, comma - pos));
    if (!t.empty()) out.push_back(t);
    pos = comma + 1;
  }
  return out;
}

}  // namespace

/* WEBPAGE: /cal-availability-test  A coach's schedules as mirrored from
 * Cal.com, with forms to create one, replace its weekly hours, add or remove
 * date exceptions, make it the default or delete it, and a week of free slots
 * for a session type in a chosen zone. Coaches; admins with ?user_id=. */
Response cal_availability_test(Context& ctx, const Request& req) { return calendar_page(ctx, req, CalendarMode::test); }

/* WEBPAGE: /coach/calendar  The coach's own calendar: schedules, weekly hours,
 * exceptions, the default, and how agents in a chosen zone see a week. */
Response coach_calendar(Context& ctx, const Request& req) { return calendar_page(ctx, req, CalendarMode::production); }

/* WEBPAGE: /cal-event-types-test  A coach's session types (Cal.com event types
 * plus our price): sync, create, edit, delete. Coaches; admins with ?user_id=. */
Response cal_event_types_test(Context& ctx, const Request& req) { return event_types_page(ctx, req); }

/* WEBPAGE: /coaches/{id}  A coach's public profile, visible session types with
 * prices, and the free slots of a week for one of them in the viewer's zone
 * (?type=, ?tz= else the signed-in user's zone else UTC, ?week=YYYY-MM-DD
 * else today). 404 for unknown, non-coach or unlisted ids. */
Response coach_profile(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  const std::string prefix = "/coaches/";
  std::string id_text = req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : "";
  if (!id_text.empty() && id_text.back() == '/') id_text.pop_back();
  auto not_found = [&] { return error_for(ctx, req, auth, 404, "unknown_coach", "There is no coach at this address."); };
  auto id = positive_id(id_text, "coach id");
  if (!id) return not_found();
  auto row = ctx.db.query_one(
      "SELECT u.id, u.name, u.time_zone, p.user_id AS has_profile, p.headline, p.bio, p.specialties, p.city, p.is_listed, "
      "ci.status AS cal_status FROM users u LEFT JOIN coach_profiles p ON p.user_id = u.id "
      "LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id WHERE u.id = ? AND u.role = 'coach'", {*id});
  if (!row) return not_found();
  bool is_self_or_admin = auth.user && (auth.user->id == *id || auth.user->is_admin());
  if (!row->is_null("has_profile") && row->i64("is_listed") == 0 && !is_self_or_admin) return not_found();

  Json::Value data(Json::objectValue);
  Json::Value c;
  c["id"] = row->str("id");
  c["name"] = row->str("name");
  c["headline"] = text_or_null(row->str("headline"));
  c["bio"] = text_or_null(row->str("bio"));
  c["city"] = text_or_null(row->str("city"));
  c["time_zone"] = row->str("time_zone");
  c["tags"] = Json::Value(Json::arrayValue);
  for (const auto& t : split_tags(row->str("specialties"))) c["tags"].append(t);
  c["bookable"] = row->str("cal_status") == "active";
  data["coach"] = c;

  std::vector<availability::EventTypeRow> types;
  for (auto& e : availability::list_event_types(ctx.db, *id))
    if (!e.hidden) types.push_back(e);
  std::string default_zone = "UTC";
  if (auth.user && slots::is_valid_zone(auth.user->time_zone)) default_zone = auth.user->time_zone;
  Request q = req;
  if (!req.param("type").empty()) q.query["event_type"] = req.param("type");
  auto choice = week_choice(q, types, default_zone);
  if (!choice) return error_for(ctx, req, auth, choice.error().http_status, choice.error().code, choice.error().message);

  const std::string base = "/coaches/" + std::to_string(*id);
  Json::Value list(Json::arrayValue);
  for (const auto& e : types) {
    Json::Value v;
    v["tid"] = std::to_string(e.cal_event_type_id);
    v["ttitle"] = e.title;
    v["tdescription"] = text_or_null(e.description);
    v["tlength"] = e.length_min;
    v["tprice"] = price_label(e.price_minor, e.currency);
    v["tchosen"] = choice->event_type && choice->event_type->cal_event_type_id == e.cal_event_type_id;
    v["thref"] = base + "?type=" + std::to_string(e.cal_event_type_id) + "&tz=" + url_encode(choice->zone) +
                 "&week=" + ymd_text(choice->week_start);
    list.append(v);
  }
  data["types"] = list;
  data["has_types"] = !types.empty();
  data["view_zones"] = zone_options(choice->zone);
  data["view_types"] = event_type_options(types, choice->event_type ? choice->event_type->cal_event_type_id : 0);
  data["view_week"] = ymd_text(choice->week_start);
  data["zone"] = choice->zone;
  int status = 200;
  if (choice->event_type && c["bookable"].asBool()) {
    calcom::Client cal(calcom::settings_from(ctx.cfg));
    availability::Ctx ac{ctx.cfg, ctx.db, cal};
    Json::Value w = week_of_slots(ac, *id, *choice->event_type, choice->zone, choice->week_start, true, &status);
    std::string link = base + "?type=" + std::to_string(choice->event_type->cal_event_type_id) + "&tz=" + url_encode(choice->zone) + "&week=";
    if (choice->week_start > today_in(choice->zone)) w["prev_href"] = link + w["prev_week"].asString();
    w["next_href"] = link + w["next_week"].asString();
    w["this_href"] = link;
    data["week"] = w;
  }
  return page(ctx, req, auth, "coach_profile", row->str("name") + " — coach", data, status);
}

}  // namespace coach::web
