/* web_booking_pages.cpp: the booking pages of an agent (and of a coach for the
 * sessions booked with them):
 *   /book                    month of free days -> a day's slots -> the booking
 *                            form -> POST -> 303 /book/confirmation?uid=...
 *   /book/confirmation       what was booked, calendar links, manage links;
 *   /my/sessions             upcoming / past / cancelled sessions of the viewer;
 *   /my/sessions/{uid}       one session;  .../reschedule, .../cancel: the forms;
 *   /cal-booking-test        the whole flow step by step with the raw Cal.com
 *                            exchanges and the JSON our bookings:: functions return.
 * Forms work without JavaScript and carry csrf_token. The rules (guard against
 * double booking, idempotency, authorization, e-mails) live in bookings.hpp;
 * this file turns form fields into its inputs and its answers into template
 * data. Times are shown in the viewer's zone (users.time_zone, or ?tz=). */
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include <date/date.h>

#include "availability.hpp"
#include "bookings.hpp"
#include "crypto.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "payments.hpp"
#include "slot_engine.hpp"
#include "web.hpp"
#include "web_session_pages.hpp"

namespace coach::web {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr int kMonthWeeks = 5;             // the month view: 5 weeks from the current one
constexpr int kMaxDaysAhead = 366;         // ?from= / ?date= further out are refused
constexpr size_t kMaxReason = 500;         // bookings:: caps reasons at 500 characters
constexpr size_t kMaxAnswer = 2000;        // and answers at 2000

/* ---------------------------------------------------------------- small helpers */

/* Booking uids are Cal.com's: letters, digits, '-' and '_'. */
bool plausible_uid(const std::string& s) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

/* Idempotency keys as bookings:: accepts them (1-120 of A-Za-z0-9._:-). */
bool plausible_key(const std::string& s) {
  return !s.empty() && s.size() <= bookings::kMaxIdempotencyKey && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

std::string new_key(const char* prefix) { return std::string(prefix) + crypto::random_hex(16); }

/* Form fields in order, repeated names kept (checkbox groups). */
Pairs form_pairs(const Request& req) {
  Pairs out;
  if (!is_form(req)) return out;
  std::string_view b = req.body;
  size_t pos = 0;
  while (pos <= b.size()) {
    size_t amp = b.find('&', pos);
    if (amp == std::string_view::npos) amp = b.size();
    std::string_view part = b.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      out.emplace_back(url_decode(part.substr(0, eq)), eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return out;
}

/* "a=1&b=2" from pairs, values encoded. */
std::string query_of(const Pairs& ps) {
  std::string q;
  for (const auto& [k, v] : ps) q += (q.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return q;
}

Json::Value hidden_inputs(const Pairs& ps) {
  Json::Value arr(Json::arrayValue);
  for (const auto& [k, v] : ps) {
    Json::Value h;
    h["name"] = k;
    h["value"] = v;
    arr.append(h);
  }
  return arr;
}

/* Only http(s) links are ever put into an href. */
std::string safe_url(const std::string& u) {
  return u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0 ? u : "";
}

/* ---------------------------------------------------------------- money */

/* "Free", or the amount in the currency's own minor unit (JPY, KRW: none). */
std::string price_label(int64_t minor, const std::string& currency) {
  return minor <= 0 ? "Free" : payments::format_money(minor, currency);
}

/* ---------------------------------------------------------------- dates and zones */

slots::Instant now_instant() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

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

std::string ymd_text(date::sys_days d) { return date::format("%Y-%m-%d", d); }

const char* const kWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};

/* "Friday, 27 November 2026" */
std::string long_date(date::sys_days d) {
  date::year_month_day ymd{d};
  return std::string(kWeekdays[date::weekday{d}.c_encoding()]) + ", " + std::to_string(static_cast<unsigned>(ymd.day())) +
         " " + kMonths[static_cast<unsigned>(ymd.month()) - 1] + " " + std::to_string(static_cast<int>(ymd.year()));
}

/* "November 2026" */
std::string month_label(date::sys_days d) {
  date::year_month_day ymd{d};
  return std::string(kMonths[static_cast<unsigned>(ymd.month()) - 1]) + " " + std::to_string(static_cast<int>(ymd.year()));
}

date::sys_days today_in(const std::string& zone) {
  auto d = parse_ymd(slots::local_date(now_instant(), zone));
  return d ? *d : date::floor<date::days>(std::chrono::system_clock::now());
}

/* An instant in a zone: local date, "HH:MM" and "UTC+01:00". */
struct Local {
  std::string ymd, hhmm, utc_offset;
};
Local local_of(slots::Instant t, const std::string& zone) {
  std::string s = slots::format_iso(t, zone);  // 2026-03-10T09:00:00.000+01:00 or ...Z
  Local l{s.substr(0, 10), s.substr(11, 5), "UTC"};
  if (!s.empty() && s.back() != 'Z' && s.size() >= 6) l.utc_offset = "UTC" + s.substr(s.size() - 6);
  else l.utc_offset = "UTC+00:00";
  return l;
}

std::string iso_utc(slots::Instant t) { return date::format("%Y-%m-%dT%H:%M:%SZ", t); }

/* "Friday, 27 November 2026, 01:00–02:00" (end on another date is spelled out). */
std::string when_text(slots::Instant start, slots::Instant end, const std::string& zone) {
  Local a = local_of(start, zone), b = local_of(end, zone);
  auto da = parse_ymd(a.ymd), db = parse_ymd(b.ymd);
  std::string s = (da ? long_date(*da) : a.ymd) + ", " + a.hhmm;
  if (a.ymd == b.ymd) return s + "–" + b.hhmm;
  return s + " – " + (db ? long_date(*db) : b.ymd) + ", " + b.hhmm;
}

/* "America/Los_Angeles (UTC-08:00)" at that instant. */
std::string zone_text(const std::string& zone, slots::Instant at) { return zone + " (" + local_of(at, zone).utc_offset + ")"; }

std::string usable_zone(const std::string& z) { return !z.empty() && slots::is_valid_zone(z) ? z : "UTC"; }


/* The zone of a page: ?tz= (validated), else the user's, else UTC. */
Result<std::string> zone_choice(const std::string& param, const session::Auth& auth) {
  if (param.empty()) return usable_zone(auth.user ? auth.user->time_zone : "");
  if (param.size() > 64 || !slots::is_valid_zone(param))
    return make_error(400, "invalid_time_zone", "Unknown time zone '" + clip(param) + "'; pick one from the list");
  return param;
}

/* ---------------------------------------------------------------- the gate */

/* Signed in (else the sign-in redirect that comes back here); for POST an
 * urlencoded form with a valid CSRF token. */
std::optional<Response> gate(Context& ctx, const Request& req, const session::Auth& auth, Form* form) {
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
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

Response fail_page(Context& ctx, const Request& req, const session::Auth& auth, const Error& e) {
  return error_for(ctx, req, auth, e.http_status, e.code, e.message);
}

/* ---------------------------------------------------------------- coach + session type */

struct CoachInfo {
  int64_t id = 0;
  std::string name, time_zone;
};

/* A coach that takes bookings and one of their visible session types. 404s. */
Result<std::pair<CoachInfo, availability::EventTypeRow>> bookable(Context& ctx, const std::string& coach_param,
                                                                    const std::string& type_param) {
  if (coach_param.empty()) return make_error(400, "missing_field", "Missing coachId: open the booking page from a coach's profile");
  if (type_param.empty()) return make_error(400, "missing_field", "Missing eventTypeId: pick a session on the coach's profile");
  auto cid = positive_id(coach_param, "coachId");
  if (!cid) return cid.error();
  auto tid = positive_id(type_param, "eventTypeId");
  if (!tid) return tid.error();
  auto row = ctx.db.query_one(
      "SELECT u.id, u.name, u.time_zone, ci.status AS cal_status FROM users u "
      "LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id WHERE u.id = ? AND u.role = 'coach'", {*cid});
  if (!row) return make_error(404, "unknown_coach", "There is no coach with id " + std::to_string(*cid));
  if (row->str("cal_status") != "active")
    return make_error(404, "unknown_coach", row->str("name") + " is not taking bookings yet");
  auto et = availability::find_event_type(ctx.db, *tid);
  if (!et || et->user_id != *cid || et->hidden)
    return make_error(404, "unknown_event_type", row->str("name") + " offers no session type " + std::to_string(*tid));
  return std::make_pair(CoachInfo{row->i64("id"), row->str("name"), usable_zone(row->str("time_zone"))}, *et);
}

Json::Value event_type_json(const availability::EventTypeRow& et) {
  Json::Value v;
  v["id"] = std::to_string(et.cal_event_type_id);
  v["title"] = et.title;
  v["description"] = text_or_null(et.description);
  v["length_min"] = et.length_min;
  v["price"] = price_label(et.price_minor, et.currency);
  v["is_paid"] = et.price_minor > 0;
  return v;
}

/* ---------------------------------------------------------------- free slots */

struct SlotItem {
  slots::Instant start, end;
};
struct DaySlots {
  std::map<std::string, std::vector<SlotItem>> by_date;  // local date in zone -> slots, ascending
  bool degraded = false;
};

/* Free slots of a session type for the local dates first..last (<= 62 days) in zone. */
Result<DaySlots> query_slots(availability::Ctx& ac, int64_t coach_id, const availability::EventTypeRow& et,
                             const std::string& zone, date::sys_days first, date::sys_days last) {
  auto from = slots::local_to_utc(ymd_text(first), 0, zone);
  if (!from) return from.error();
  auto to = slots::local_to_utc(ymd_text(last + date::days(1)), 0, zone);
  if (!to) return to.error();
  availability::SlotQuery q;
  q.coach_user_id = coach_id;
  q.cal_event_type_id = et.cal_event_type_id;
  q.start = iso_utc(*from);
  // Local midnight minus a second: an end at exactly midnight UTC would be
  // stretched to 23:59:59 of that day by Cal.com's window rules.
  q.end = iso_utc(*to - std::chrono::seconds(1));
  q.time_zone = zone;
  auto ans = availability::free_slots(ac, q);
  if (!ans) return ans.error();
  DaySlots out;
  out.degraded = ans->degraded;
  for (const auto& day : ans->days) {
    for (const auto& s : day["slots"]) {
      auto st = slots::parse_iso(json::str(s, "start"));
      if (!st) continue;
      auto en = slots::parse_iso(json::str(s, "end"));
      SlotItem it{*st, en ? *en : *st + std::chrono::minutes(et.length_min)};
      auto d = parse_ymd(slots::local_date(*st, zone));
      if (!d || *d < first || *d > last) continue;
      out.by_date[ymd_text(*d)].push_back(it);
    }
  }
  for (auto& [d, v] : out.by_date)
    std::sort(v.begin(), v.end(), [](const SlotItem& a, const SlotItem& b) { return a.start < b.start; });
  return out;
}

/* Where the picker's links go: path plus the parameters every link keeps. */
struct Picker {
  int64_t coach_id = 0;
  availability::EventTypeRow et;
  std::string zone;
  std::string path;   // "/book" or "/my/sessions/<uid>/reschedule"
  Pairs keep;         // e.g. coachId, eventTypeId
  std::string link(const Pairs& extra) const {
    Pairs all = keep;
    all.emplace_back("tz", zone);
    for (const auto& e : extra) all.push_back(e);
    return path + "?" + query_of(all);
  }
};

/* What the picker page shows besides the calendar. */
struct PickView {
  date::sys_days from;                        // first date offered
  std::optional<date::sys_days> day;          // the day whose slots are listed
  std::optional<slots::Instant> taken;        // a start to leave out (just taken)
  std::string notice, notice_kind = "ok";     // kind: ok | error
  int status = 200;
};

/* The first and last date of the month grid that offers from. */
date::sys_days grid_start_of(date::sys_days from) {
  return from - date::days((date::weekday{from}.c_encoding() + 6) % 7);
}
date::sys_days grid_end_of(date::sys_days from) { return grid_start_of(from) + date::days(7 * kMonthWeeks - 1); }

/* Month grid (kMonthWeeks weeks from the Monday of from's week; days before
 * from or with no free slot are greyed) and, for view.day, that day's slots. */
Json::Value picker_json(availability::Ctx& ac, const Picker& p, const PickView& view, int* status) {
  Json::Value w(Json::objectValue);
  const date::sys_days today = today_in(p.zone);
  const date::sys_days grid_start = grid_start_of(view.from);
  const date::sys_days grid_end = grid_end_of(view.from);
  w["month_error"] = Json::Value();
  w["degraded"] = false;
  auto res = query_slots(ac, p.coach_id, p.et, p.zone, view.from, grid_end);
  if (!res) {
    w["month_error"] = res.error().message;
    if (res.error().http_status < 500) *status = res.error().http_status;
  } else {
    w["degraded"] = res->degraded;
  }
  auto count_on = [&](date::sys_days d) -> int {
    if (!res) return 0;
    auto it = res->by_date.find(ymd_text(d));
    if (it == res->by_date.end()) return 0;
    int n = 0;
    for (const auto& s : it->second)
      if (!view.taken || s.start != *view.taken) ++n;
    return n;
  };
  Json::Value weeks(Json::arrayValue);
  int n_days_free = 0;
  for (int wk = 0; wk < kMonthWeeks; ++wk) {
    Json::Value days(Json::arrayValue);
    for (int i = 0; i < 7; ++i) {
      date::sys_days d = grid_start + date::days(7 * wk + i);
      date::year_month_day ymd{d};
      Json::Value c;
      c["date"] = ymd_text(d);
      c["day"] = std::to_string(static_cast<unsigned>(ymd.day()));
      c["label"] = long_date(d);
      bool first_of_month = static_cast<unsigned>(ymd.day()) == 1 || (wk == 0 && i == 0);
      c["month"] = text_or_null(first_of_month ? std::string(kMonths[static_cast<unsigned>(ymd.month()) - 1]).substr(0, 3) : "");
      int n = d < view.from ? 0 : count_on(d);
      c["n_slots"] = n;
      c["href"] = n > 0 ? Json::Value(p.link({{"from", ymd_text(view.from)}, {"date", ymd_text(d)}})) : Json::Value();
      c["is_past"] = d < today;
      c["is_today"] = d == today;
      c["selected"] = view.day && *view.day == d;
      std::string cls = n > 0 ? "free" : "off";
      if (d == today) cls += " today";
      if (view.day && *view.day == d) cls += " selected";
      c["cls"] = cls;
      if (n > 0) ++n_days_free;
      days.append(c);
    }
    Json::Value row;
    row["days"] = days;
    weeks.append(row);
  }
  w["weeks"] = weeks;
  w["n_days_free"] = n_days_free;
  w["none_free"] = res.ok() && n_days_free == 0;
  w["range"] = long_date(view.from) + " to " + long_date(grid_end);
  w["title"] = month_label(view.from) == month_label(grid_end) ? month_label(view.from)
                                                                : month_label(view.from) + " – " + month_label(grid_end);
  w["next_href"] = (grid_end + date::days(1) - today).count() <= kMaxDaysAhead
                       ? Json::Value(p.link({{"from", ymd_text(grid_end + date::days(1))}}))
                       : Json::Value();
  w["prev_href"] = Json::Value();
  if (view.from > today) {
    date::sys_days prev = std::max(today, grid_start - date::days(7 * kMonthWeeks));
    w["prev_href"] = p.link({{"from", ymd_text(prev)}});
  }
  w["day"] = Json::Value();
  if (view.day) {
    Json::Value d;
    d["date"] = ymd_text(*view.day);
    d["label"] = long_date(*view.day);
    auto noon = slots::local_to_utc(ymd_text(*view.day), 12 * 60, p.zone);
    d["offset"] = noon ? local_of(*noon, p.zone).utc_offset : "";
    std::vector<SlotItem> list;
    bool in_grid = *view.day >= view.from && *view.day <= grid_end;
    if (res && in_grid) {
      auto it = res->by_date.find(ymd_text(*view.day));
      if (it != res->by_date.end()) list = it->second;
    } else if (*view.day >= today) {
      auto one = query_slots(ac, p.coach_id, p.et, p.zone, *view.day, *view.day);
      if (one) {
        auto it = one->by_date.find(ymd_text(*view.day));
        if (it != one->by_date.end()) list = it->second;
      }
    }
    Json::Value sl(Json::arrayValue);
    for (const auto& s : list) {
      if (view.taken && s.start == *view.taken) continue;
      Local a = local_of(s.start, p.zone), b = local_of(s.end, p.zone);
      Json::Value o;
      o["time"] = a.hhmm;
      o["iso"] = slots::format_iso(s.start, p.zone);
      o["title"] = a.hhmm + "–" + b.hhmm + " " + p.zone + " (" + a.utc_offset + ")";
      o["href"] = p.link({{"start", slots::format_iso(s.start, p.zone)}});
      sl.append(o);
    }
    d["slots"] = sl;
    d["n_slots"] = static_cast<int>(sl.size());
    d["has_slots"] = !sl.empty();
    d["is_past"] = *view.day < today;
    w["day"] = d;
  }
  return w;
}

/* The page data every picker shows: zone select (GET form keeping p.keep). */
void picker_common(Json::Value& data, const Picker& p, const PickView& view) {
  data["zone"] = p.zone;
  data["zones"] = zone_options(p.zone);
  data["picker_path"] = p.path;
  Pairs keep = p.keep;
  if (view.day) keep.emplace_back("date", ymd_text(*view.day));
  keep.emplace_back("from", ymd_text(view.from));
  data["picker_keep"] = hidden_inputs(keep);
  data["notice"] = text_or_null(view.notice);
  data["notice_kind"] = view.notice_kind;
}

/* from / date from the query; date may move from so that it is in the grid. */
Result<PickView> pick_view(const Request& req, const std::string& zone) {
  PickView v;
  const date::sys_days today = today_in(zone);
  v.from = today;
  std::string from = req.param("from"), day = req.param("date");
  if (!from.empty()) {
    auto d = parse_ymd(from);
    if (!d) return make_error(400, "invalid_field", "'" + clip(from) + "' is not a date (YYYY-MM-DD)");
    v.from = std::max(today, *d);
  }
  if (!day.empty()) {
    auto d = parse_ymd(day);
    if (!d) return make_error(400, "invalid_field", "'" + clip(day) + "' is not a date (YYYY-MM-DD)");
    v.day = *d;
    if (*d < today) {
      v.notice = long_date(*d) + " has passed; pick a day from today on.";
      v.notice_kind = "error";
      v.day.reset();
    } else if (*d < v.from || *d > grid_end_of(v.from)) {
      v.from = *d;
    }
  }
  if ((v.from - today).count() > kMaxDaysAhead)
    return make_error(400, "invalid_field", "Bookings open at most a year ahead; pick an earlier date");
  return v;
}

/* ---------------------------------------------------------------- booking fields */

struct Question {
  Json::Value def;          // the bookingFields entry
  std::string slug, type, label;
  bool required = false;
};

/* The custom questions an agent answers (system fields and hidden ones left out). */
std::vector<Question> questions_of(const availability::EventTypeRow& et) {
  std::vector<Question> out;
  if (!et.booking_fields.isArray()) return out;
  for (const auto& f : et.booking_fields) {
    if (!f.isObject()) continue;
    if (f["isDefault"].isBool() && f["isDefault"].asBool()) continue;
    if (f["hidden"].isBool() && f["hidden"].asBool()) continue;
    Question q;
    q.def = f;
    q.slug = json::str(f, "slug");
    q.type = json::str(f, "type", "text");
    q.label = json::str(f, "label", q.slug);
    q.required = f["required"].isBool() && f["required"].asBool();
    if (!q.slug.empty()) out.push_back(q);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> options_of(const Json::Value& f) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!f["options"].isArray()) return out;
  for (const auto& o : f["options"]) {
    if (o.isString()) out.emplace_back(o.asString(), o.asString());
    else if (o.isObject()) {
      std::string v = json::str(o, "value", json::str(o, "label"));
      out.emplace_back(v, json::str(o, "label", v));
    }
  }
  return out;
}

bool is_multi(const std::string& type) { return type == "multiselect" || type == "checkbox"; }

std::string input_name(const Question& q) { return "q_" + q.slug; }

/* Reads the answers from the posted form into bookings' responses
 * ({slug: value} typed as the field wants), collecting one message per bad
 * field. Empty optional answers are left out. */
Json::Value responses_from_form(const std::vector<Question>& qs, const Pairs& posted, std::map<std::string, std::string>* errors) {
  Json::Value out(Json::objectValue);
  for (const auto& q : qs) {
    const std::string name = input_name(q);
    std::vector<std::string> vals;
    for (const auto& [k, v] : posted)
      if (k == name) vals.push_back(v);
    const std::string one = vals.empty() ? "" : trim(vals.front());
    auto err = [&](const std::string& m) { (*errors)[q.slug] = m; };
    if (q.type == "boolean") {
      bool on = one == "1" || one == "on" || one == "true";
      if (q.required && !on) err("Please tick “" + q.label + "”.");
      out[q.slug] = on;
    } else if (is_multi(q.type)) {
      Json::Value arr(Json::arrayValue);
      for (const auto& v : vals)
        if (!trim(v).empty()) arr.append(trim(v));
      if (arr.empty()) {
        if (q.required) err("Please choose at least one answer to “" + q.label + "”.");
      } else {
        out[q.slug] = arr;
      }
    } else if (q.type == "multiemail") {
      Json::Value arr(Json::arrayValue);
      size_t pos = 0;
      while (pos <= one.size()) {
        size_t comma = one.find(',', pos);
        if (comma == std::string::npos) comma = one.size();
        std::string e = trim(one.substr(pos, comma - pos));
        if (!e.empty()) {
          if (e.find('@') == std::string::npos || e.find(' ') != std::string::npos) err("“" + clip(e) + "” is not an e-mail address.");
          arr.append(e);
        }
        pos = comma + 1;
      }
      if (arr.empty()) {
        if (q.required) err("Please answer “" + q.label + "”.");
      } else {
        out[q.slug] = arr;
      }
    } else if (one.empty()) {
      if (q.required) err("Please answer “" + q.label + "”.");
    } else if (q.type == "number") {
      char* end = nullptr;
      double d = std::strtod(one.c_str(), &end);
      if (end == one.c_str() || *end != '\0' || !std::isfinite(d) || one.size() > 30) {
        err("“" + q.label + "” must be a number (got “" + clip(one) + "”).");
      } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
        out[q.slug] = Json::Int64(static_cast<int64_t>(d));
      } else {
        out[q.slug] = d;
      }
    } else {
      if (one.size() > kMaxAnswer) err("“" + q.label + "” is too long (at most 2000 characters).");
      else if (q.type == "email" && (one.find('@') == std::string::npos || one.find(' ') != std::string::npos))
        err("“" + q.label + "” must be an e-mail address.");
      else if (q.type == "url" && safe_url(one).empty()) err("“" + q.label + "” must be a link starting with https://.");
      else if ((q.type == "select" || q.type == "radio") && !options_of(q.def).empty()) {
        bool known = false;
        for (const auto& [v, l] : options_of(q.def)) known = known || v == one;
        if (!known) err("Pick one of the offered answers to “" + q.label + "”.");
      }
      out[q.slug] = one;
    }
  }
  return out;
}

/* Template data of the questions, with what was posted (or nothing yet). */
Json::Value questions_json(const std::vector<Question>& qs, const Pairs& posted, const std::map<std::string, std::string>& errors) {
  Json::Value arr(Json::arrayValue);
  for (const auto& q : qs) {
    const std::string name = input_name(q);
    std::vector<std::string> vals;
    for (const auto& [k, v] : posted)
      if (k == name) vals.push_back(v);
    const std::string one = vals.empty() ? "" : vals.front();
    Json::Value v;
    v["slug"] = q.slug;
    v["name"] = name;
    v["id"] = "q-" + q.slug;
    v["label"] = q.label;
    v["placeholder"] = json::str(q.def, "placeholder");
    v["required"] = q.required;
    v["value"] = one;
    auto e = errors.find(q.slug);
    v["error"] = e == errors.end() ? Json::Value() : Json::Value(e->second);
    v["is_textarea"] = q.type == "textarea";
    v["is_select"] = q.type == "select";
    v["is_radio"] = q.type == "radio";
    v["is_multi"] = is_multi(q.type);
    v["is_boolean"] = q.type == "boolean";
    v["is_number"] = q.type == "number";
    v["checked"] = one == "1" || one == "on" || one == "true";
    bool plain = !(q.type == "textarea" || q.type == "select" || q.type == "radio" || is_multi(q.type) ||
                   q.type == "boolean" || q.type == "number");
    v["is_input"] = plain;
    std::string input_type = "text";
    if (q.type == "email") input_type = "email";
    else if (q.type == "phone") input_type = "tel";
    else if (q.type == "url") input_type = "url";
    v["input_type"] = input_type;
    Json::Value opts(Json::arrayValue);
    for (const auto& [ov, ol] : options_of(q.def)) {
      Json::Value o;
      o["value"] = ov;
      o["label"] = ol;
      o["oid"] = "q-" + q.slug + "-" + std::to_string(opts.size());
      o["selected"] = std::find(vals.begin(), vals.end(), ov) != vals.end();
      opts.append(o);
    }
    v["options"] = opts;
    arr.append(v);
  }
  return arr;
}

/* ---------------------------------------------------------------- one booking */

std::string location_label(const std::string& loc) {
  if (loc.empty()) return "";
  if (loc == "integrations:zoom") return "Zoom";
  if (loc == "integrations:daily" || loc == "integrations:cal-video") return "Cal Video";
  if (loc == "integrations:google:meet") return "Google Meet";
  if (loc.rfind("integrations:", 0) == 0) return loc.substr(13);
  return loc;
}

std::string status_label(const bookings::BookingView& b) {
  if (!b.rescheduled_to_uid.empty()) return "Rescheduled";
  if (b.status == "cancelled") return "Cancelled";
  if (b.status == "rejected") return "Declined";
  if (b.status == "pending") return b.is_upcoming ? "Awaiting confirmation" : "Past";
  return b.is_upcoming ? "Confirmed" : "Past";
}

std::string compact_utc(slots::Instant t) { return date::format("%Y%m%dT%H%M%SZ", t); }

/* Google Calendar and Outlook "add event" links. */
std::pair<std::string, std::string> calendar_links(const std::string& title, slots::Instant start, slots::Instant end,
                                                   const std::string& details, const std::string& location) {
  std::string g = "https://calendar.google.com/calendar/render?action=TEMPLATE&text=" + url_encode(title) + "&dates=" +
                  compact_utc(start) + "/" + compact_utc(end) + "&details=" + url_encode(details) +
                  "&location=" + url_encode(location);
  std::string o = "https://outlook.live.com/calendar/0/deeplink/compose?path=/calendar/action/compose&rru=addevent&subject=" +
                  url_encode(title) + "&startdt=" + url_encode(iso_utc(start)) + "&enddt=" + url_encode(iso_utc(end)) +
                  "&body=" + url_encode(details) + "&location=" + url_encode(location);
  return {g, o};
}

/* The payment of a booking (issue 7); null when free. */
Json::Value payment_view(const bookings::BookingView& b) {
  if (b.payment_status.empty()) return Json::Value();
  Json::Value p;
  p["status"] = b.payment_status;
  p["status_label"] = b.payment_status == "paid"                 ? "Paid"
                      : b.payment_status == "partially_refunded" ? "Partially refunded"
                      : b.payment_status == "refunded"           ? "Refunded"
                      : b.payment_status == "pending"            ? "Awaiting payment"
                      : b.payment_status == "failed"             ? "Payment failed"
                                                                 : "Payment expired";
  const std::string currency = b.payment_currency.empty() ? b.event_type.currency : b.payment_currency;
  p["paid"] = payments::format_money(b.amount_paid_minor, currency);
  p["refunded"] = b.amount_refunded_minor > 0 ? Json::Value(payments::format_money(b.amount_refunded_minor, currency))
                                              : Json::Value();
  // Our own /receipts/ page, else only an http(s) link (Stripe's receipt).
  p["receipt_url"] = text_or_null(b.receipt_url.rfind("/", 0) == 0 ? b.receipt_url : safe_url(b.receipt_url));
  return p;
}

}  // namespace

/* Declared in web_session_pages.hpp: the booking pages and the session pages
 * show a booking alike. */
/* Everything the booking and session pages show of one booking, times in viewer_zone. */
Json::Value booking_json(Context& ctx, const bookings::BookingView& b, const std::string& viewer_zone, bool with_answers) {
  Json::Value v;
  auto st = slots::parse_iso(b.start_utc), en = slots::parse_iso(b.end_utc);
  slots::Instant s = st ? *st : now_instant(), e = en ? *en : s;
  const std::string et_title = b.event_type.title.empty() ? b.title : b.event_type.title;
  const std::string agent_zone = usable_zone(b.agent.time_zone), coach_zone = usable_zone(b.coach.time_zone);
  v["uid"] = b.uid;
  v["status"] = b.status;
  v["status_label"] = status_label(b);
  v["is_cancelled"] = b.status == "cancelled" || b.status == "rejected";
  v["title"] = et_title;
  v["coach_name"] = b.coach.name;
  v["agent_name"] = b.agent.name;
  v["viewer_role"] = b.viewer_role;
  v["is_agent"] = b.viewer_role == "agent";
  v["is_coach"] = b.viewer_role == "coach";
  v["is_admin"] = b.viewer_role == "admin";
  if (b.viewer_role == "agent") v["with_text"] = "with " + b.coach.name + " (coach)";
  else if (b.viewer_role == "coach") v["with_text"] = "with " + b.agent.name + " (agent)";
  else v["with_text"] = b.coach.name + " (coach) and " + b.agent.name + " (agent)";
  v["start_iso"] = b.start_utc;
  v["when"] = when_text(s, e, viewer_zone);
  v["when_zone"] = zone_text(viewer_zone, s);
  v["when_agent"] = when_text(s, e, agent_zone);
  v["agent_zone"] = zone_text(agent_zone, s);
  v["when_coach"] = when_text(s, e, coach_zone);
  v["coach_zone"] = zone_text(coach_zone, s);
  auto local_day = parse_ymd(local_of(s, viewer_zone).ymd);
  v["date_label"] = local_day ? long_date(*local_day) : local_of(s, viewer_zone).ymd;
  v["time_label"] = local_of(s, viewer_zone).hhmm + "–" + local_of(e, viewer_zone).hhmm;
  v["length_min"] = b.event_type.length_min;
  v["price"] = price_label(b.event_type.price_minor, b.event_type.currency);
  const std::string join = safe_url(b.join_url);
  v["join_url"] = text_or_null(join);
  v["location"] = text_or_null(join.empty() ? location_label(b.location) : "");
  v["detail_href"] = "/my/sessions/" + b.uid;
  v["reschedule_href"] = "/my/sessions/" + b.uid + "/reschedule";
  v["cancel_href"] = "/my/sessions/" + b.uid + "/cancel";
  v["can_cancel"] = b.can_cancel;
  v["can_reschedule"] = b.can_reschedule;
  v["cancel_reason"] = text_or_null(b.cancel_reason);
  v["cancelled_by"] = text_or_null(b.cancelled_by);
  v["rescheduled_to_href"] = b.rescheduled_to_uid.empty() ? Json::Value() : Json::Value("/my/sessions/" + b.rescheduled_to_uid);
  v["rescheduled_from_href"] = b.rescheduled_from_uid.empty() ? Json::Value() : Json::Value("/my/sessions/" + b.rescheduled_from_uid);
  const std::string other = b.viewer_role == "coach" ? b.agent.name : b.coach.name;
  const std::string manage = ctx.cfg.public_base_url + "/my/sessions/" + b.uid;
  std::string details = et_title + " with " + other + " (" + std::to_string(b.event_type.length_min) + " min).";
  if (!join.empty()) details += "\nJoin: " + join;
  details += "\nReschedule or cancel: " + manage;
  auto [g, o] = calendar_links(et_title + " with " + other, s, e, details, join.empty() ? location_label(b.location) : join);
  v["google_url"] = g;
  v["outlook_url"] = o;
  v["show_calendar_links"] = b.is_upcoming;
  v["payment"] = payment_view(b);
  v["has_payment"] = !b.payment_status.empty();
  Json::Value answers(Json::arrayValue);
  if (with_answers && b.responses.isObject() && !b.responses.empty()) {
    std::map<std::string, std::string> labels;
    if (auto et = availability::find_event_type(ctx.db, b.event_type.cal_event_type_id))
      for (const auto& q : questions_of(*et)) labels[q.slug] = q.label;
    for (const auto& k : b.responses.getMemberNames()) {
      const Json::Value& val = b.responses[k];
      std::string text;
      if (val.isString()) text = val.asString();
      else if (val.isBool()) text = val.asBool() ? "Yes" : "No";
      else if (val.isArray()) {
        for (const auto& x : val) text += (text.empty() ? "" : ", ") + (x.isString() ? x.asString() : json::write(x));
      } else if (!val.isNull()) text = json::write(val);
      Json::Value a;
      a["label"] = labels.count(k) ? labels[k] : k;
      a["value"] = text;
      answers.append(a);
    }
  }
  v["answers"] = answers;
  v["has_answers"] = !answers.empty();
  return v;
}

namespace {

/* ---------------------------------------------------------------- /book */

struct BookState {
  CoachInfo coach;
  availability::EventTypeRow et;
  std::string zone;
};

Picker book_picker(const BookState& s) {
  Picker p;
  p.coach_id = s.coach.id;
  p.et = s.et;
  p.zone = s.zone;
  p.path = "/book";
  p.keep = {{"coachId", std::to_string(s.coach.id)}, {"eventTypeId", std::to_string(s.et.cal_event_type_id)}};
  return p;
}

Response render_book_pick(Context& ctx, const Request& req, const session::Auth& auth, availability::Ctx& ac,
                          const BookState& s, const PickView& view) {
  Picker p = book_picker(s);
  int status = view.status;
  Json::Value data;
  data["coach"]["id"] = std::to_string(s.coach.id);
  data["coach"]["name"] = s.coach.name;
  data["coach"]["href"] = "/coaches/" + std::to_string(s.coach.id);
  data["et"] = event_type_json(s.et);
  data["rescheduling"] = false;
  data["picker"] = picker_json(ac, p, view, &status);
  picker_common(data, p, view);
  return page(ctx, req, auth, "book_pick", "Book " + s.et.title + " with " + s.coach.name, data, status);
}

/* The booking form for one start (posted: what was typed, after an error). */
Response render_book_form(Context& ctx, const Request& req, const session::Auth& auth, const BookState& s,
                          slots::Instant start, const Pairs& posted, const std::map<std::string, std::string>& errors,
                          const std::string& error, const std::string& error_code, const std::string& key, int status) {
  Json::Value data;
  slots::Instant end = start + std::chrono::minutes(s.et.length_min);
  data["coach"]["id"] = std::to_string(s.coach.id);
  data["coach"]["name"] = s.coach.name;
  data["coach"]["href"] = "/coaches/" + std::to_string(s.coach.id);
  data["et"] = event_type_json(s.et);
  data["when"] = when_text(start, end, s.zone);
  data["when_zone"] = zone_text(s.zone, start);
  data["when_coach"] = when_text(start, end, s.coach.time_zone);
  data["coach_zone"] = zone_text(s.coach.time_zone, start);
  data["same_zone"] = s.coach.time_zone == s.zone;
  data["start_iso"] = slots::format_iso(start, s.zone);
  auto day = parse_ymd(local_of(start, s.zone).ymd);
  Picker p = book_picker(s);
  data["back_href"] = p.link({{"date", day ? ymd_text(*day) : ""}});
  data["action"] = "/book";
  data["hidden"] = hidden_inputs({{"coachId", std::to_string(s.coach.id)},
                                  {"eventTypeId", std::to_string(s.et.cal_event_type_id)},
                                  {"start", slots::format_iso(start, s.zone)},
                                  {"tz", s.zone},
                                  {"idempotency_key", key}});
  data["fields"] = questions_json(questions_of(s.et), posted, errors);
  data["has_fields"] = !data["fields"].empty();
  data["error"] = text_or_null(error);
  data["error_code"] = text_or_null(error_code);
  data["submit_label"] = s.et.price_minor > 0 ? "Book for " + price_label(s.et.price_minor, s.et.currency) : "Book this session";
  if (s.et.price_minor > 0) data["refund_policy"] = payments::refund_policy_text(ctx.cfg, ctx.db, s.et.cal_event_type_id);
  return page(ctx, req, auth, "book_form", "Book " + s.et.title + " with " + s.coach.name, data, status);
}

/* A 409 idempotency_conflict whose first request may still finish: wait a
 * little for it (a double submit in flight), at most about 8 s. */
bool in_flight(const Error& e) {
  return e.code == "idempotency_conflict" && e.message.find("different request") == std::string::npos;
}

Response book_post(Context& ctx, const Request& req, const session::Auth& auth, const Form& form) {
  auto st = bookable(ctx, field(form, "coachId"), field(form, "eventTypeId"));
  if (!st) return fail_page(ctx, req, auth, st.error());
  auto zone = zone_choice(field(form, "tz"), auth);
  if (!zone) return fail_page(ctx, req, auth, zone.error());
  BookState s{st->first, st->second, *zone};
  auto start = slots::parse_iso(field(form, "start"));
  if (!start) return fail_page(ctx, req, auth, make_error(400, "invalid_time", "The chosen time is not readable; pick it again"));
  std::string key = field(form, "idempotency_key");
  if (!plausible_key(key)) key = new_key("bk-");
  const Pairs posted = form_pairs(req);
  const auto qs = questions_of(s.et);

  std::map<std::string, std::string> errors;
  Json::Value responses = responses_from_form(qs, posted, &errors);
  if (!errors.empty())
    return render_book_form(ctx, req, auth, s, *start, posted, errors,
                            errors.size() == 1 ? errors.begin()->second : "Please fix the answers marked below.",
                            "invalid_responses", key, 400);
  if (auto ok = bookings::validate_responses(s.et.booking_fields, responses); !ok)
    return render_book_form(ctx, req, auth, s, *start, posted, errors, ok.error().message, ok.error().code, key, 400);

  bookings::CreateInput in;
  in.coach_user_id = s.coach.id;
  in.cal_event_type_id = s.et.cal_event_type_id;
  in.start = iso_utc(*start);
  in.time_zone = s.zone;
  in.responses = responses;
  in.idempotency_key = key;
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  bookings::Ctx bc{ctx.cfg, ctx.db, cal};
  auto out = bookings::create_booking(bc, *auth.user, in);
  for (int i = 0; !out && in_flight(out.error()) && i < 16; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    out = bookings::create_booking(bc, *auth.user, in);
  }
  // A priced session (issue 7): off to the payment page; the booking follows the payment.
  if (out && out->payment_required) return redirect_response(out->checkout_url, 303);
  if (out) return redirect_response("/book/confirmation?uid=" + url_encode(out->booking.uid), 303);

  const Error& e = out.error();
  if (e.code == "slot_taken") {
    availability::Ctx ac{ctx.cfg, ctx.db, cal};
    PickView v;
    v.from = today_in(s.zone);
    auto d = parse_ymd(local_of(*start, s.zone).ymd);
    if (d && *d >= v.from) {
      v.day = *d;
      if (*d > grid_end_of(v.from)) v.from = *d;
    }
    v.taken = *start;
    v.notice = "That time was just taken. Here are the times still free" +
               std::string(v.day ? " on " + long_date(*v.day) : "") + ".";
    v.notice_kind = "error";
    v.status = 409;
    return render_book_pick(ctx, req, auth, ac, s, v);
  }
  if (e.http_status == 404 || e.code == "cannot_book_self") return fail_page(ctx, req, auth, e);
  std::string msg = e.message;
  if (e.code == "upstream_unavailable") msg = "Cal.com is not answering right now; nothing was booked. Please try again.";
  if (e.code == "idempotency_conflict")
    msg = "This form was already sent and is still being processed; check My sessions before booking again.";
  return render_book_form(ctx, req, auth, s, *start, posted, errors, msg, e.code, key, e.http_status);
}

Response book_confirmation(Context& ctx, const Request& req, const session::Auth& auth) {
  std::string uid = req.param("uid");
  if (!plausible_uid(uid)) return fail_page(ctx, req, auth, make_error(404, "not_found", "No such booking"));
  auto b = bookings::get_booking(ctx.db, *auth.user, uid);
  if (!b) return fail_page(ctx, req, auth, b.error());
  std::string zone = usable_zone(b->viewer_role == "agent" ? b->agent.time_zone : auth.user->time_zone);
  Json::Value data;
  data["b"] = booking_json(ctx, *b, zone, true);
  data["just_booked"] = b->viewer_role == "agent" && b->status != "cancelled";
  data["notice"] = Json::Value();
  data["pay"] = payment_view(*b);
  return page(ctx, req, auth, "book_confirmation", "Booked: " + data["b"]["title"].asString(), data);
}

/* /book/paid?session_id=cs_... (Stripe's success_url) or ?payment=N (its
 * cancel_url): "confirming" until the webhook has led to the booking, then
 * on to the confirmation; also says when the payment failed or expired, or
 * the slot was lost (refunded). */
Response book_paid(Context& ctx, const Request& req, const session::Auth& auth) {
  const std::string sid = req.param("session_id");
  int64_t pid = 0;
  if (sid.empty()) {
    auto id = positive_id(req.param("payment"), "payment");
    if (!id) return fail_page(ctx, req, auth, make_error(404, "not_found", "No such payment"));
    pid = *id;
  } else if (sid.size() > 255 || !std::all_of(sid.begin(), sid.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
             })) {
    return fail_page(ctx, req, auth, make_error(404, "not_found", "No such payment"));
  }
  auto d = payments::paid_page_data(ctx.cfg, ctx.db, *auth.user, sid, pid);
  if (!d) return fail_page(ctx, req, auth, d.error());
  if ((*d)["state"].asString() == "booked" && req.param("stay").empty())
    return redirect_response("/book/confirmation?uid=" + url_encode((*d)["booking_uid"].asString()), 303);
  // Back from Stripe's success_url before its webhook: the payment is being confirmed.
  if ((*d)["state"].asString() == "pending" && !sid.empty()) {
    (*d)["state"] = "confirming";
    (*d)["is_pending"] = false;
    (*d)["is_confirming"] = true;
  }
  Response r = page(ctx, req, auth, "book_paid", "Payment", *d);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

/* /book: GET month/day/form, POST the booking. */
Response book_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  const std::string& path = req.path;
  // The e-mails' old manage link /bookings/{uid} ("/book" is a prefix location).
  if (path.rfind("/bookings/", 0) == 0) {
    std::string uid = path.substr(10);
    if (!uid.empty() && uid.back() == '/') uid.pop_back();
    if (!plausible_uid(uid)) return fail_page(ctx, req, auth, make_error(404, "not_found", "No such page"));
    return redirect_response("/my/sessions/" + uid, 301);
  }
  const bool paid = path == "/book/paid" || path == "/book/paid/";
  const bool confirmation = paid || path == "/book/confirmation" || path == "/book/confirmation/";
  if (!confirmation && path != "/book" && path != "/book/")
    return fail_page(ctx, req, auth, make_error(404, "not_found", "No such page"));
  if (confirmation ? (req.method != "GET" && req.method != "HEAD")
                   : (req.method != "GET" && req.method != "HEAD" && req.method != "POST"))
    return method_not_allowed(req, confirmation ? "GET" : "GET, POST");
  Form form;
  if (auto stop = gate(ctx, req, auth, &form)) return *stop;
  if (paid) return book_paid(ctx, req, auth);
  if (confirmation) return book_confirmation(ctx, req, auth);
  if (req.method == "POST") return book_post(ctx, req, auth, form);

  auto st = bookable(ctx, req.param("coachId"), req.param("eventTypeId"));
  if (!st) return fail_page(ctx, req, auth, st.error());
  if (st->first.id == auth.user->id)
    return fail_page(ctx, req, auth, make_error(400, "cannot_book_self", "You cannot book a session with yourself"));
  auto zone = zone_choice(req.param("tz"), auth);
  if (!zone) return fail_page(ctx, req, auth, zone.error());
  BookState s{st->first, st->second, *zone};
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  availability::Ctx ac{ctx.cfg, ctx.db, cal};

  if (!req.param("start").empty()) {
    auto start = slots::parse_iso(req.param("start"));
    if (!start) return fail_page(ctx, req, auth, make_error(400, "invalid_time", "'" + clip(req.param("start")) + "' is not a time"));
    auto day = parse_ymd(local_of(*start, s.zone).ymd);
    PickView v;
    v.from = today_in(s.zone);
    if (*start <= now_instant() || !day) {
      v.notice = "That time has passed; pick another one.";
      v.notice_kind = "error";
      return render_book_pick(ctx, req, auth, ac, s, v);
    }
    // Still free? (The booking itself decides; this spares a form for a gone slot.)
    auto free = query_slots(ac, s.coach.id, s.et, s.zone, *day, *day);
    bool offered = !free;   // could not check: let the booking decide
    if (free)
      for (const auto& [d, list] : free->by_date)
        for (const auto& it : list) offered = offered || it.start == *start;
    if (!offered) {
      v.day = *day;
      if (*day > grid_end_of(v.from)) v.from = *day;
      v.notice = "That time is not free any more; pick another one.";
      v.notice_kind = "error";
      return render_book_pick(ctx, req, auth, ac, s, v);
    }
    return render_book_form(ctx, req, auth, s, *start, {}, {}, "", "", new_key("bk-"), 200);
  }
  auto v = pick_view(req, s.zone);
  if (!v) return fail_page(ctx, req, auth, v.error());
  return render_book_pick(ctx, req, auth, ac, s, *v);
}

/* ---------------------------------------------------------------- /my/sessions */

/* The dashboard and the session page live in web_session_pages.cpp (sessions,
 * notes, attendance); reschedule and cancel below come back to the detail. */
Response sessions_list(Context& ctx, const Request& req, const session::Auth& auth) {
  return session_pages::list(ctx, req, auth);
}

Response session_detail(Context& ctx, const Request& req, const session::Auth& auth, const bookings::BookingView& b,
                        const std::string& notice, int status = 200) {
  return session_pages::detail(ctx, req, auth, b, notice, status);
}

/* The reschedule page for a booking: picker, or (?start=) the confirm form. */
struct ReschedState {
  bookings::BookingView b;
  availability::EventTypeRow et;
  std::string zone;
};

Picker resched_picker(const ReschedState& s) {
  Picker p;
  p.coach_id = s.b.coach.user_id;
  p.et = s.et;
  p.zone = s.zone;
  p.path = "/my/sessions/" + s.b.uid + "/reschedule";
  return p;
}

Response render_resched_pick(Context& ctx, const Request& req, const session::Auth& auth, availability::Ctx& ac,
                             const ReschedState& s, const PickView& view) {
  Picker p = resched_picker(s);
  int status = view.status;
  Json::Value data;
  data["coach"]["id"] = std::to_string(s.b.coach.user_id);
  data["coach"]["name"] = s.b.coach.name;
  data["coach"]["href"] = "/coaches/" + std::to_string(s.b.coach.user_id);
  data["et"] = event_type_json(s.et);
  data["rescheduling"] = true;
  data["current"] = booking_json(ctx, s.b, s.zone, false);
  data["picker"] = picker_json(ac, p, view, &status);
  picker_common(data, p, view);
  return page(ctx, req, auth, "book_pick", "Reschedule " + s.et.title, data, status);
}

Response render_resched_form(Context& ctx, const Request& req, const session::Auth& auth, const ReschedState& s,
                             slots::Instant start, const std::string& reason, const std::string& error,
                             const std::string& error_code, const std::string& key, int status) {
  Json::Value data;
  slots::Instant end = start + std::chrono::minutes(s.et.length_min);
  data["coach"]["id"] = std::to_string(s.b.coach.user_id);
  data["coach"]["name"] = s.b.coach.name;
  data["coach"]["href"] = "/coaches/" + std::to_string(s.b.coach.user_id);
  data["et"] = event_type_json(s.et);
  data["rescheduling"] = true;
  data["current"] = booking_json(ctx, s.b, s.zone, false);
  data["when"] = when_text(start, end, s.zone);
  data["when_zone"] = zone_text(s.zone, start);
  const std::string coach_zone = usable_zone(s.b.coach.time_zone);
  data["when_coach"] = when_text(start, end, coach_zone);
  data["coach_zone"] = zone_text(coach_zone, start);
  data["same_zone"] = coach_zone == s.zone;
  data["start_iso"] = slots::format_iso(start, s.zone);
  auto day = parse_ymd(local_of(start, s.zone).ymd);
  data["back_href"] = resched_picker(s).link({{"date", day ? ymd_text(*day) : ""}});
  data["action"] = "/my/sessions/" + s.b.uid + "/reschedule";
  data["hidden"] = hidden_inputs({{"start", slots::format_iso(start, s.zone)}, {"tz", s.zone}, {"idempotency_key", key}});
  data["fields"] = Json::Value(Json::arrayValue);
  data["has_fields"] = false;
  data["ask_reason"] = true;
  data["reason"] = reason;
  data["error"] = text_or_null(error);
  data["error_code"] = text_or_null(error_code);
  data["submit_label"] = "Move the session to this time";
  return page(ctx, req, auth, "book_form", "Reschedule " + s.et.title, data, status);
}

Response session_reschedule(Context& ctx, const Request& req, const session::Auth& auth, const Form& form,
                            const bookings::BookingView& b) {
  if (!b.can_reschedule)
    return session_detail(ctx, req, auth, b, "This session can no longer be rescheduled (" + status_label(b) + ").", 409);
  auto et = availability::find_event_type(ctx.db, b.event_type.cal_event_type_id);
  if (!et)
    return fail_page(ctx, req, auth, make_error(404, "unknown_event_type", "This session type is no longer offered; cancel and book another one"));
  const bool post = req.method == "POST";
  auto zone = zone_choice(post ? field(form, "tz") : req.param("tz"), auth);
  if (!zone) return fail_page(ctx, req, auth, zone.error());
  ReschedState s{b, *et, *zone};
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  availability::Ctx ac{ctx.cfg, ctx.db, cal};

  const std::string start_text = post ? field(form, "start") : req.param("start");
  if (start_text.empty()) {
    if (post) return fail_page(ctx, req, auth, make_error(400, "missing_field", "Pick the new time first"));
    auto v = pick_view(req, s.zone);
    if (!v) return fail_page(ctx, req, auth, v.error());
    return render_resched_pick(ctx, req, auth, ac, s, *v);
  }
  auto start = slots::parse_iso(start_text);
  if (!start) return fail_page(ctx, req, auth, make_error(400, "invalid_time", "'" + clip(start_text) + "' is not a time"));
  if (!post) return render_resched_form(ctx, req, auth, s, *start, "", "", "", new_key("rs-"), 200);

  std::string key = field(form, "idempotency_key");
  if (!plausible_key(key)) key = new_key("rs-");
  std::string reason = trim(field(form, "reason"));
  if (reason.size() > kMaxReason)
    return render_resched_form(ctx, req, auth, s, *start, reason, "The reason is too long (at most 500 characters).",
                               "invalid_field", key, 400);
  bookings::RescheduleInput in{iso_utc(*start), reason, key};
  bookings::Ctx bc{ctx.cfg, ctx.db, cal};
  auto out = bookings::reschedule_booking(bc, *auth.user, b.uid, in);
  for (int i = 0; !out && in_flight(out.error()) && i < 16; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    out = bookings::reschedule_booking(bc, *auth.user, b.uid, in);
  }
  if (out) return redirect_response("/my/sessions/" + out->uid + "?done=rescheduled", 303);
  const Error& e = out.error();
  if (e.code == "slot_taken") {
    PickView v;
    v.from = today_in(s.zone);
    auto d = parse_ymd(local_of(*start, s.zone).ymd);
    if (d && *d >= v.from) {
      v.day = *d;
      if (*d > grid_end_of(v.from)) v.from = *d;
    }
    v.taken = *start;
    v.notice = "That time was just taken. Here are the times still free" +
               std::string(v.day ? " on " + long_date(*v.day) : "") + ".";
    v.notice_kind = "error";
    v.status = 409;
    return render_resched_pick(ctx, req, auth, ac, s, v);
  }
  if (e.http_status == 404) return fail_page(ctx, req, auth, e);
  if (e.code == "booking_not_active") return session_detail(ctx, req, auth, b, e.message, 409);
  std::string msg = e.message;
  if (e.code == "upstream_unavailable") msg = "Cal.com is not answering right now; nothing was changed. Please try again.";
  return render_resched_form(ctx, req, auth, s, *start, reason, msg, e.code, key, e.http_status);
}

Response session_cancel(Context& ctx, const Request& req, const session::Auth& auth, const Form& form,
                        const bookings::BookingView& b) {
  auto zone = zone_choice(req.param("tz"), auth);
  const std::string viewer_zone = zone ? *zone : usable_zone(auth.user->time_zone);
  auto render = [&](const std::string& reason, const std::string& error, const std::string& code, int status) {
    Json::Value data;
    data["b"] = booking_json(ctx, b, viewer_zone, false);
    data["reason"] = reason;
    data["error"] = text_or_null(error);
    data["error_code"] = text_or_null(code);
    data["action"] = "/my/sessions/" + b.uid + "/cancel";
    // Issue 7: what the cancellation refunds, shown before it is confirmed.
    auto st = slots::parse_iso(b.start_utc);
    const std::string who = b.viewer_role == "agent" ? "agent" : b.viewer_role == "coach" ? "coach" : "admin";
    if (auto q = payments::quote_cancellation(ctx.cfg, ctx.db, b.uid, who,
                                              st ? static_cast<int64_t>(st->time_since_epoch().count()) : 0,
                                              static_cast<int64_t>(now_instant().time_since_epoch().count()))) {
      Json::Value r;
      r["amount"] = q->refund_text;
      r["amount_minor"] = Json::Int64(q->refund_minor);
      r["paid"] = q->paid_text;
      r["percent"] = q->percent;
      r["rule"] = q->rule;
      r["policy"] = q->policy_text;
      r["is_zero"] = q->refund_minor == 0;
      data["refund"] = r;
    }
    return page(ctx, req, auth, "book_cancel", "Cancel " + data["b"]["title"].asString(), data, status);
  };
  if (!b.can_cancel)
    return session_detail(ctx, req, auth, b, "This session can no longer be cancelled (" + status_label(b) + ").", 409);
  if (req.method != "POST") return render("", "", "", 200);
  std::string reason = trim(field(form, "reason"));
  if (reason.size() > kMaxReason)
    return render(reason, "The reason is too long (at most 500 characters).", "invalid_field", 400);
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  bookings::Ctx bc{ctx.cfg, ctx.db, cal};
  auto out = bookings::cancel_booking(bc, *auth.user, b.uid, reason);
  if (out) return redirect_response("/my/sessions/" + out->uid + "?done=cancelled", 303);
  const Error& e = out.error();
  if (e.http_status == 404) return fail_page(ctx, req, auth, e);
  if (e.code == "already_cancelled" || e.code == "booking_not_active") return session_detail(ctx, req, auth, b, e.message, 409);
  std::string msg = e.message;
  if (e.code == "upstream_unavailable") msg = "Cal.com is not answering right now; nothing was changed. Please try again.";
  return render(reason, msg, e.code, e.http_status);
}

/* /my/sessions[/{uid}[/reschedule|/cancel]] */
Response my_sessions_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  const std::string prefix = "/my/sessions";
  std::string rest = req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : "";
  if (req.path.compare(0, prefix.size(), prefix) != 0 || (!rest.empty() && rest[0] != '/'))
    return fail_page(ctx, req, auth, make_error(404, "not_found", "No such page"));
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::vector<std::string> parts;
  for (size_t pos = 1; pos <= rest.size() && !rest.empty();) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (session_pages::is_action(parts)) return session_pages::action(ctx, req, parts);  // notes, complete, no-show
  const bool is_action = parts.size() == 2 && (parts[1] == "reschedule" || parts[1] == "cancel");
  if (parts.size() > 2 || (parts.size() == 2 && !is_action) || (!parts.empty() && !plausible_uid(parts[0])))
    return fail_page(ctx, req, auth, make_error(404, "not_found", "No such page"));
  const bool can_post = is_action;
  if (req.method != "GET" && req.method != "HEAD" && !(can_post && req.method == "POST"))
    return method_not_allowed(req, can_post ? "GET, POST" : "GET");
  Form form;
  if (auto stop = gate(ctx, req, auth, &form)) return *stop;
  if (parts.empty()) return sessions_list(ctx, req, auth);
  auto b = bookings::get_booking(ctx.db, *auth.user, parts[0]);
  if (!b) return fail_page(ctx, req, auth, b.error());
  if (parts.size() == 1) return session_detail(ctx, req, auth, *b, "");
  if (parts[1] == "reschedule") return session_reschedule(ctx, req, auth, form, *b);
  return session_cancel(ctx, req, auth, form, *b);
}

/* ---------------------------------------------------------------- /cal-booking-test */

/* One step of the test page: the function called, its input and output. */
struct Step {
  std::string name, call;
  Json::Value input, output;
  bool ok = true;
};

Json::Value step_json(const Step& s, const std::vector<calcom::Exchange>& ex) {
  Json::Value v;
  v["name"] = s.name;
  v["call"] = s.call;
  v["input"] = s.input.isNull() ? "" : json::write_pretty(s.input);
  v["has_input"] = !s.input.isNull();
  v["output"] = json::write_pretty(s.output);
  v["ok"] = s.ok;
  v["exchanges"] = exchanges_json(ex);
  v["has_exchanges"] = !ex.empty();
  return v;
}

Json::Value error_json(const Error& e) {
  Json::Value v;
  v["error"]["code"] = e.code;
  v["error"]["message"] = e.message;
  v["error"]["httpStatus"] = e.http_status;
  return v;
}

/* Visible session types of every bookable coach, as "coachId:eventTypeId" choices. */
Json::Value type_choices(Context& ctx, const std::string& selected) {
  Json::Value arr(Json::arrayValue);
  for (const auto& r : ctx.db.query(
           "SELECT u.id, u.name, e.cal_event_type_id, e.title, e.length_min, e.price_minor, e.currency "
           "FROM users u JOIN CalendarIntegration ci ON ci.user_id = u.id AND ci.status = 'active' "
           "JOIN EventType e ON e.user_id = u.id AND e.hidden = 0 "
           "WHERE u.role = 'coach' ORDER BY u.name, u.id, e.title LIMIT 500")) {
    Json::Value o;
    o["value"] = r.str("id") + ":" + r.str("cal_event_type_id");
    o["label"] = r.str("name") + " — " + r.str("title") + " (" + r.str("length_min") + " min, " +
                 price_label(r.i64("price_minor"), r.str("currency")) + ")";
    o["selected"] = o["value"].asString() == selected;
    arr.append(o);
  }
  return arr;
}

/* The test page's example answers for required questions. */
Json::Value sample_responses(const availability::EventTypeRow& et) {
  Json::Value r(Json::objectValue);
  for (const auto& q : questions_of(et)) {
    if (!q.required) continue;
    auto opts = options_of(q.def);
    if (q.type == "boolean") r[q.slug] = true;
    else if (q.type == "number") r[q.slug] = 1;
    else if (is_multi(q.type)) {
      r[q.slug] = Json::Value(Json::arrayValue);
      if (!opts.empty()) r[q.slug].append(opts.front().first);
    } else if (!opts.empty()) r[q.slug] = opts.front().first;
    else if (q.type == "email") r[q.slug] = "someone@example.test";
    else if (q.type == "url") r[q.slug] = "https://example.test/";
    else if (q.type == "phone") r[q.slug] = "+1 555 0100";
    else if (q.type == "multiemail") {
      r[q.slug] = Json::Value(Json::arrayValue);
      r[q.slug].append("someone@example.test");
    }
    else r[q.slug] = "Test answer from /cal-booking-test";
  }
  return r;
}

Response cal_booking_test_page(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, &form)) return *stop;
  const bool post = req.method == "POST";
  auto in = [&](const std::string& k) { return post ? field(form, k) : req.param(k); };

  Json::Value data;
  int status = 200;
  std::string choice = in("type");
  auto zone = zone_choice(in("tz"), auth);
  if (!zone) return fail_page(ctx, req, auth, zone.error());
  std::string day_text = in("date");
  date::sys_days day = today_in(*zone) + date::days(1);
  if (!day_text.empty()) {
    auto d = parse_ymd(day_text);
    if (!d) return fail_page(ctx, req, auth, make_error(400, "invalid_field", "'" + clip(day_text) + "' is not a date (YYYY-MM-DD)"));
    day = *d;
  }
  std::string uid = in("uid"), reservation = in("reservation_uid");
  if (!uid.empty() && !plausible_uid(uid)) uid.clear();
  if (!reservation.empty() && !plausible_uid(reservation)) reservation.clear();

  data["types"] = type_choices(ctx, choice);
  if (choice.empty() && !data["types"].empty()) choice = data["types"][0]["value"].asString();
  std::optional<BookState> st;
  if (!choice.empty()) {
    size_t colon = choice.find(':');
    auto r = bookable(ctx, choice.substr(0, colon), colon == std::string::npos ? "" : choice.substr(colon + 1));
    if (!r) {
      data["error"] = r.error().message;
      status = r.error().http_status;
    } else {
      st = BookState{r->first, r->second, *zone};
    }
  }

  std::vector<calcom::Exchange> ex;
  calcom::Client cal(calcom::settings_from(ctx.cfg), &ex);
  availability::Ctx ac{ctx.cfg, ctx.db, cal};
  bookings::Ctx bc{ctx.cfg, ctx.db, cal};
  Json::Value steps(Json::arrayValue);
  std::string start = trim(in("start"));
  auto run = [&](Step s) {
    steps.append(step_json(s, ex));
    ex.clear();   // a failed step is the page's content (status 200), not a failed page
  };

  if (post) {
    const std::string action = field(form, "action");
    if (!st && action != "show" && action != "list") {
      data["error"] = "Pick a coach and session type first";
      status = 400;
    } else if (action == "slots") {
      Step s{"1. Free slots", "availability::free_slots (our cache or Cal.com, local fallback)", {}, {}, true};
      availability::SlotQuery q;
      q.coach_user_id = st->coach.id;
      q.cal_event_type_id = st->et.cal_event_type_id;
      auto from = slots::local_to_utc(ymd_text(day), 0, *zone);
      auto to = slots::local_to_utc(ymd_text(day + date::days(1)), 0, *zone);
      q.start = from ? iso_utc(*from) : ymd_text(day);
      q.end = to ? iso_utc(*to - std::chrono::seconds(1)) : ymd_text(day);
      q.time_zone = *zone;
      s.input["coachUserId"] = Json::Int64(q.coach_user_id);
      s.input["eventTypeId"] = Json::Int64(q.cal_event_type_id);
      s.input["start"] = q.start;
      s.input["end"] = q.end;
      s.input["timeZone"] = q.time_zone;
      auto a = availability::free_slots(ac, q);
      if (a) {
        s.output["source"] = a->source;
        s.output["degraded"] = a->degraded;
        s.output["days"] = a->days;
      } else {
        s.output = error_json(a.error());
        s.ok = false;
      }
      run(s);
      // The same question straight to Cal.com, so the raw exchange is always visible.
      Step raw{"1b. Cal.com GET /v2/slots (direct, no cache)", "calcom::Client::call GET /v2/slots", {}, {}, true};
      std::string path = "/v2/slots?eventTypeId=" + std::to_string(st->et.cal_event_type_id) + "&start=" + url_encode(q.start) +
                         "&end=" + url_encode(q.end) + "&timeZone=" + url_encode(*zone);
      raw.input["path"] = path;
      auto r = cal.call("GET", path, nullptr, "", availability::kSlotsApiVersion);
      raw.ok = r.ok();
      raw.output = r ? (*r)["data"] : error_json(r.error());
      run(raw);
    } else if (action == "reserve" || action == "release") {
      if (action == "reserve") {
        Step s{"2. Reserve the slot", "calcom::Client::call POST /v2/slots/reservations", {}, {}, true};
        s.input["eventTypeId"] = Json::Int64(st->et.cal_event_type_id);
        auto t = slots::parse_iso(start);
        s.input["slotStart"] = t ? iso_utc(*t) : start;
        auto r = cal.call("POST", "/v2/slots/reservations", &s.input, "", bookings::kReservationsApiVersion);
        s.ok = r.ok();
        s.output = r ? *r : error_json(r.error());
        if (r) reservation = json::str((*r)["data"], "reservationUid");
        run(s);
      } else if (!reservation.empty()) {
        Step s{"2b. Release the reservation", "calcom::Client::call DELETE /v2/slots/reservations/{uid}", {}, {}, true};
        s.input["reservationUid"] = reservation;
        auto r = cal.call("DELETE", "/v2/slots/reservations/" + url_encode(reservation), nullptr, "",
                          bookings::kReservationsApiVersion);
        s.ok = r.ok();
        s.output = r ? *r : error_json(r.error());
        reservation.clear();
        run(s);
      }
    } else if (action == "book") {
      if (!reservation.empty()) {
        // create_booking reserves the slot itself: our own hold would make that a 422.
        Step s{"3a. Release this page's reservation first", "calcom::Client::call DELETE /v2/slots/reservations/{uid}", {}, {}, true};
        s.input["reservationUid"] = reservation;
        auto r = cal.call("DELETE", "/v2/slots/reservations/" + url_encode(reservation), nullptr, "",
                          bookings::kReservationsApiVersion);
        s.ok = r.ok();
        s.output = r ? *r : error_json(r.error());
        reservation.clear();
        run(s);
      }
      Step s{"3. Book", "bookings::create_booking (guard, reservation, POST /v2/bookings, record, e-mails)", {}, {}, true};
      Json::Value body;
      body["coachId"] = Json::Int64(st->coach.id);
      body["eventTypeId"] = Json::Int64(st->et.cal_event_type_id);
      body["start"] = start;
      body["timeZone"] = *zone;
      auto responses = json::parse(field(form, "responses"));
      body["responses"] = responses && responses->isObject() ? *responses : Json::Value(Json::objectValue);
      if (!field(form, "idempotency_key").empty()) body["idempotencyKey"] = field(form, "idempotency_key");
      s.input = body;
      auto parsed = bookings::parse_create(body, "");
      if (!parsed) {
        s.ok = false;
        s.output = error_json(parsed.error());
      } else {
        auto r = bookings::create_booking(bc, *auth.user, *parsed);
        s.ok = r.ok();
        if (r && r->payment_required) {
          // A priced session type (issue 7): the booking follows the payment.
          s.output["status"] = "payment_required";
          s.output["checkoutUrl"] = r->checkout_url;
          s.output["checkoutSessionId"] = r->checkout_session_id;
          s.output["paymentId"] = Json::Int64(r->payment_id);
        } else if (r) {
          s.output["created"] = r->created;
          s.output["booking"] = bookings::to_json(r->booking);
          uid = r->booking.uid;
        } else {
          s.output = error_json(r.error());
          if (r.error().code == "slot_taken")
            s.output["freshSlots"] = bookings::fresh_slots_for_day(bc, st->coach.id, st->et.cal_event_type_id, start, *zone);
        }
      }
      run(s);
    } else if (action == "reschedule") {
      Step s{"4. Reschedule", "bookings::reschedule_booking (POST /v2/bookings/{uid}/reschedule)", {}, {}, true};
      Json::Value body;
      body["start"] = start;
      body["reason"] = field(form, "reason");
      s.input = body;
      s.input["uid"] = uid;
      auto parsed = bookings::parse_reschedule(body, "");
      if (uid.empty()) {
        s.ok = false;
        s.output = error_json(make_error(400, "missing_field", "Book first (or enter a booking uid)"));
      } else if (!parsed) {
        s.ok = false;
        s.output = error_json(parsed.error());
      } else {
        auto r = bookings::reschedule_booking(bc, *auth.user, uid, *parsed);
        s.ok = r.ok();
        if (r) {
          s.output = bookings::to_json(*r);
          uid = r->uid;
        } else {
          s.output = error_json(r.error());
        }
      }
      run(s);
    } else if (action == "cancel") {
      Step s{"5. Cancel", "bookings::cancel_booking (POST /v2/bookings/{uid}/cancel)", {}, {}, true};
      s.input["uid"] = uid;
      s.input["reason"] = field(form, "reason");
      if (uid.empty()) {
        s.ok = false;
        s.output = error_json(make_error(400, "missing_field", "Book first (or enter a booking uid)"));
      } else {
        auto r = bookings::cancel_booking(bc, *auth.user, uid, field(form, "reason"));
        s.ok = r.ok();
        s.output = r ? bookings::to_json(*r) : error_json(r.error());
      }
      run(s);
    } else if (action == "show") {
      Step s{"Show", "bookings::get_booking", {}, {}, true};
      s.input["uid"] = uid;
      auto r = bookings::get_booking(ctx.db, *auth.user, uid);
      s.ok = r.ok();
      s.output = r ? bookings::to_json(*r) : error_json(r.error());
      run(s);
    } else if (action == "list") {
      Step s{"List", "bookings::list_bookings (upcoming, 10)", {}, {}, true};
      bookings::ListQuery q;
      q.take = 10;
      auto pg = bookings::list_bookings(ctx.db, *auth.user, q);
      s.output["total"] = Json::Int64(pg.total);
      s.output["items"] = Json::Value(Json::arrayValue);
      for (const auto& b : pg.items) s.output["items"].append(bookings::to_json(b));
      run(s);
    } else {
      data["error"] = "Unknown action '" + clip(action) + "'";
      status = 400;
    }
  }

  // Suggestions for the start fields: the chosen day's free slots (not recorded).
  Json::Value suggestions(Json::arrayValue);
  if (st) {
    calcom::Client quiet(calcom::settings_from(ctx.cfg));
    availability::Ctx qac{ctx.cfg, ctx.db, quiet};
    auto r = query_slots(qac, st->coach.id, st->et, *zone, day, day);
    if (r)
      for (const auto& [d, list] : r->by_date)
        for (const auto& it : list) suggestions.append(iso_utc(it.start));
  }
  if (start.empty() && !suggestions.empty()) start = suggestions[0].asString();
  data["suggestions"] = suggestions;
  data["has_suggestions"] = !suggestions.empty();
  data["start"] = start;
  data["zone"] = *zone;
  data["zones"] = zone_options(*zone);
  data["date"] = ymd_text(day);
  data["uid"] = uid;
  data["reservation_uid"] = text_or_null(reservation);
  data["has_type"] = st.has_value();
  data["state"] = hidden_inputs({{"type", choice}, {"tz", *zone}, {"date", ymd_text(day)}, {"uid", uid},
                                 {"reservation_uid", reservation}});
  data["responses"] = st ? json::write(sample_responses(st->et)) : "{}";
  data["idempotency_key"] = new_key("test-");
  if (st) {
    data["et"] = event_type_json(st->et);
    data["coach_name"] = st->coach.name;
    std::string qtext;
    for (const auto& q : questions_of(st->et))
      qtext += (qtext.empty() ? "" : "; ") + q.slug + " (" + q.type + (q.required ? ", required" : "") + ")";
    data["questions"] = text_or_null(qtext);
  }
  data["has_uid"] = !uid.empty();
  data["detail_href"] = "/my/sessions/" + uid;
  data["steps"] = steps;
  data["has_steps"] = !steps.empty();
  if (!data.isMember("error")) data["error"] = Json::Value();
  return page(ctx, req, auth, "cal_booking_test", "Cal.com bookings — test", data, status);
}

}  // namespace

/* WEBPAGE: /book  Book a session: ?coachId&eventTypeId shows the coming weeks
 * (days with free times are links), &date=YYYY-MM-DD that day's times,
 * &start=ISO the booking form (session type, time in the agent's zone, the
 * session type's questions, a hidden idempotency key). POST books and
 * answers 303 /book/confirmation?uid=...; a taken slot re-renders the day
 * (409). /book/confirmation?uid= shows the booking with calendar links.
 * Signed-in users; anonymous visitors are sent to sign in and back. */
Response book(Context& ctx, const Request& req) { return book_page(ctx, req); }

/* WEBPAGE: /my/sessions  The viewer's sessions (as agent, as coach; admins
 * all): upcoming / past / cancelled tabs, paging, times in the viewer's zone.
 * /my/sessions/{uid} one session; /reschedule picks a new time (POST moves
 * it); /cancel asks for a reason (POST cancels). Others' sessions are 404. */
Response my_sessions(Context& ctx, const Request& req) { return my_sessions_page(ctx, req); }

/* WEBPAGE: /cal-booking-test  The booking flow step by step for a chosen
 * coach and session type (free slots, reservation, booking, reschedule,
 * cancel), showing each bookings:: call's input and JSON answer and every raw
 * Cal.com exchange. Signed-in users, acting as themselves. */
Response cal_booking_test(Context& ctx, const Request& req) { return cal_booking_test_page(ctx, req); }

}  // namespace coach::web
