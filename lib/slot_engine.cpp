/* slot_engine.cpp: Cal.com's slot computation (reference calcom-api-v2.md
 * §5.3) over the OS tz database. Everything here is pure; the only shared
 * state is a per-thread cache of zone pointers (locate_zone is a search and
 * throws for unknown names, so it is done once per zone name and thread). */
#include "slot_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <unordered_map>
#include <utility>

#include <date/date.h>
#include <date/tz.h>

namespace coach::slots {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Days = date::days;
using CivilDay = date::sys_days;  // a calendar date as a day number (local or UTC)

constexpr int k_max_window_days = 62;
constexpr int k_max_length_min = 31 * 24 * 60;        // longer events are rejected as invalid
constexpr int k_max_booking_window_days = 100 * 366;  // a longer window is no window
constexpr const char* k_day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
const char* const k_not_available = "User either already has booking at this time or is not available";
const char* const k_out_of_bounds =
    "The event type can't be booked at the \"start\" time provided. This could be because it's too soon "
    "(violating the minimum booking notice) or too far in the future (outside the event's period)";

/* ---- zones ------------------------------------------------------------- */

const date::time_zone* find_zone(const std::string& name) {
  if (name.empty() || name.size() > 100) return nullptr;
  // Bounded by the number of zone names in the database: failures are not cached.
  thread_local std::unordered_map<std::string, const date::time_zone*> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const date::time_zone* z = nullptr;
  try {
    z = date::locate_zone(name);
  } catch (const std::exception&) {  // std::runtime_error "... not found in timezone database"
    return nullptr;
  }
  cache.emplace(name, z);
  return z;
}

/* Wall-clock time -> UTC with the rule of §5.3: inside a spring-forward gap
 * the offset in force before the gap applies; in a repeated hour the first
 * occurrence. get_info(local) reports exactly that offset as `first` in all
 * three cases (unique; nonexistent: the sys_info ending at the gap;
 * ambiguous: the earlier one), so no exception path is involved. */
Instant to_utc(const date::time_zone* z, date::local_seconds ls) {
  const date::local_info li = z->get_info(ls);
  return Instant{ls.time_since_epoch() - li.first.offset};
}

Instant local_midnight_utc(const date::time_zone* z, CivilDay d, int minute_of_day = 0) {
  return to_utc(z, date::local_seconds{d.time_since_epoch()} + minutes(minute_of_day));
}

/* UTC offset of one zone at successive instants; get_info is only called when
 * the instant leaves the cached period (a handful of times per request). */
class OffsetCursor {
 public:
  explicit OffsetCursor(const date::time_zone* z) : z_(z) {}
  seconds offset(Instant t) {
    if (!have_ || t < info_.begin || t >= info_.end) {
      info_ = z_->get_info(t);
      have_ = true;
    }
    return info_.offset;
  }
  CivilDay day(Instant t) { return date::floor<Days>(t + offset(t)); }

 private:
  const date::time_zone* z_;
  date::sys_info info_{};
  bool have_ = false;
};

/* ---- small text helpers (no streams, no regex) ------------------------- */

bool digits(const std::string& s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

void put2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + (v / 10) % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

void put_year(std::string& out, int y) {
  if (y < 0) {
    out.push_back('-');
    y = -y;
  }
  if (y > 9999) {
    out += std::to_string(y);
    return;
  }
  put2(out, y / 100);
  put2(out, y % 100);
}

std::string ymd_string(CivilDay d) {
  const date::year_month_day ymd{d};
  std::string s;
  s.reserve(10);
  put_year(s, static_cast<int>(ymd.year()));
  s.push_back('-');
  put2(s, static_cast<int>(static_cast<unsigned>(ymd.month())));
  s.push_back('-');
  put2(s, static_cast<int>(static_cast<unsigned>(ymd.day())));
  return s;
}

/* Strict "YYYY-MM-DD" naming a real calendar date. */
bool parse_ymd(const std::string& s, CivilDay& out) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  out = CivilDay{ymd};
  return true;
}

/* Strict "HH:MM", 00:00 to 23:59. */
bool parse_hhmm(const std::string& s, int& out) {
  int h = 0, m = 0;
  if (s.size() != 5 || s[2] != ':' || !digits(s, 0, 2, h) || !digits(s, 3, 2, m)) return false;
  if (h > 23 || m > 59) return false;
  out = h * 60 + m;
  return true;
}

std::string hhmm(int minute_of_day) {
  const int m = std::clamp(minute_of_day, 0, 1439);
  std::string s;
  put2(s, m / 60);
  s.push_back(':');
  put2(s, m % 60);
  return s;
}

/* Untrusted text quoted in an error message, kept short. */
std::string quoted(const std::string& s) {
  std::string t = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  for (char& c : t)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return "\"" + t + "\"";
}

/* ---- schedule preparation ---------------------------------------------- */

struct Range {
  Instant s, e;
};

struct Prepared {
  struct R {
    unsigned mask;  // bit w set: applies on weekday w (0 = Sunday)
    int s, e;
  };
  struct O {
    CivilDay d;
    int s, e;
  };
  const date::time_zone* zone = nullptr;
  std::vector<R> rules;
  std::vector<O> overrides;  // sorted by date
};

Error schedule_error(std::string msg) { return make_error(400, "invalid_schedule", std::move(msg)); }

Result<Prepared> prepare(const Schedule& s) {
  Prepared p;
  p.zone = find_zone(s.time_zone);
  if (!p.zone) return make_error(400, "invalid_time_zone", "unknown schedule time zone " + quoted(s.time_zone));
  p.rules.reserve(s.rules.size());
  for (size_t i = 0; i < s.rules.size(); ++i) {
    const Rule& r = s.rules[i];
    unsigned mask = 0;
    for (int w : r.weekdays) {
      if (w < 0 || w > 6) return schedule_error("rules[" + std::to_string(i) + "].weekdays: day out of range 0-6");
      mask |= 1u << w;
    }
    if (r.start_min < 0 || r.end_min > 1440 || r.end_min <= r.start_min)
      return schedule_error("rules[" + std::to_string(i) + "]: need 0 <= start_min < end_min <= 1440");
    p.rules.push_back({mask, r.start_min, r.end_min});
  }
  p.overrides.reserve(s.overrides.size());
  for (size_t i = 0; i < s.overrides.size(); ++i) {
    const Override& o = s.overrides[i];
    CivilDay d;
    if (!parse_ymd(o.date, d))
      return schedule_error("overrides[" + std::to_string(i) + "].date: " + quoted(o.date) + " is not YYYY-MM-DD");
    if (o.start_min < 0 || o.end_min > 1440 || o.end_min < o.start_min)
      return schedule_error("overrides[" + std::to_string(i) + "]: need 0 <= start_min <= end_min <= 1440");
    p.overrides.push_back({d, o.start_min, o.end_min});
  }
  std::stable_sort(p.overrides.begin(), p.overrides.end(),
                   [](const Prepared::O& a, const Prepared::O& b) { return a.d < b.d; });
  return p;
}

std::optional<Error> check_event(const EventRules& e, int duration_min) {
  auto bad = [](const std::string& m) { return make_error(400, "invalid_event", m); };
  if (e.length_min <= 0) return bad("length_min must be positive");
  if (e.length_min > k_max_length_min || duration_min > k_max_length_min) return bad("events are at most 31 days long");
  if (duration_min < 0) return bad("duration_min must not be negative");
  if (e.slot_interval_min < 0) return bad("slot_interval_min must not be negative");
  if (e.before_buffer_min < 0 || e.after_buffer_min < 0) return bad("buffers must not be negative");
  if (e.minimum_notice_min < 0) return bad("minimum_notice_min must not be negative");
  if (e.offset_start_min < 0) return bad("offset_start_min must not be negative");
  if (e.limit_per_day < 0 || e.limit_per_week < 0 || e.limit_per_month < 0 || e.limit_per_year < 0)
    return bad("booking limits must not be negative");
  if (e.booking_window_days < 0) return bad("booking_window_days must not be negative");
  return std::nullopt;
}

/* Steps 2-3: working ranges of every local date touching [from, to], overrides
 * replacing a date's rules, clipped to [from, to]; strictly overlapping
 * ranges merged (touching ranges stay separate, as in Cal.com). */
std::vector<Range> working_ranges(const Prepared& p, Instant from, Instant to) {
  std::vector<Range> out;
  if (from >= to) return out;
  OffsetCursor zc(p.zone);
  const CivilDay d0 = zc.day(from) - Days{1};
  const CivilDay d1 = zc.day(to) + Days{1};
  auto add = [&](CivilDay d, int s, int e) {
    if (s >= e) return;  // zero-length overrides only remove the date
    Instant rs = local_midnight_utc(p.zone, d, s);
    Instant re = local_midnight_utc(p.zone, d, e);
    rs = std::max(rs, from);
    re = std::min(re, to);
    if (rs < re) out.push_back({rs, re});
  };
  auto oi = std::lower_bound(p.overrides.begin(), p.overrides.end(), d0,
                             [](const Prepared::O& o, CivilDay d) { return o.d < d; });
  for (CivilDay d = d0; d <= d1; d += Days{1}) {
    while (oi != p.overrides.end() && oi->d < d) ++oi;
    if (oi != p.overrides.end() && oi->d == d) {
      for (auto j = oi; j != p.overrides.end() && j->d == d; ++j) add(d, j->s, j->e);
      continue;
    }
    const unsigned bit = 1u << date::weekday{d}.c_encoding();
    for (const auto& r : p.rules)
      if (r.mask & bit) add(d, r.s, r.e);
  }
  std::sort(out.begin(), out.end(), [](const Range& a, const Range& b) { return a.s < b.s || (a.s == b.s && a.e < b.e); });
  std::vector<Range> merged;
  merged.reserve(out.size());
  for (const Range& r : out) {
    if (!merged.empty() && r.s < merged.back().e) {
      merged.back().e = std::max(merged.back().e, r.e);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

bool ignored(const Busy& b, const std::string& reschedule_uid) {
  return !reschedule_uid.empty() && b.uid == reschedule_uid;
}

/* Step 4: busy bookings widened by buffers, plus whole periods whose booking
 * limit (bookings of this event type) is reached. Sorted and merged. */
std::vector<Range> busy_ranges(const Prepared& p, const EventRules& ev, const std::vector<Busy>& busy,
                               const std::string& reschedule_uid) {
  std::vector<Range> out;
  out.reserve(busy.size() + 4);
  for (const Busy& b : busy) {
    if (ignored(b, reschedule_uid)) continue;
    const Instant s = b.start - minutes(int64_t{b.before_buffer_min} + ev.after_buffer_min);
    const Instant e = b.end + minutes(int64_t{b.after_buffer_min} + ev.before_buffer_min);
    if (s < e) out.push_back({s, e});
  }
  struct Limit {
    int max;
    int kind;  // 0 day, 1 week, 2 month, 3 year
  };
  const Limit limits[4] = {{ev.limit_per_day, 0}, {ev.limit_per_week, 1}, {ev.limit_per_month, 2}, {ev.limit_per_year, 3}};
  bool any_limit = false;
  for (const Limit& l : limits) any_limit = any_limit || l.max > 0;
  if (any_limit) {
    OffsetCursor zc(p.zone);
    std::vector<CivilDay> days;  // local dates of this event type's bookings
    for (const Busy& b : busy)
      if (b.event_type_id == ev.event_type_id && !ignored(b, reschedule_uid)) days.push_back(zc.day(b.start));
    std::vector<std::pair<CivilDay, CivilDay>> periods;  // [first day, day after)
    for (const Limit& l : limits) {
      if (l.max <= 0) continue;
      periods.clear();
      for (CivilDay d : days) {
        CivilDay a, z;
        switch (l.kind) {
          case 0:
            a = d;
            z = d + Days{1};
            break;
          case 1:  // dayjs startOf("week"): weeks start on Sunday
            a = d - Days{date::weekday{d}.c_encoding()};
            z = a + Days{7};
            break;
          case 2: {
            const date::year_month_day ymd{d};
            a = CivilDay{ymd.year() / ymd.month() / 1};
            z = CivilDay{(ymd.year() / ymd.month() + date::months{1}) / 1};
            break;
          }
          default: {
            const date::year_month_day ymd{d};
            a = CivilDay{ymd.year() / 1 / 1};
            z = CivilDay{(ymd.year() + date::years{1}) / 1 / 1};
            break;
          }
        }
        periods.push_back({a, z});
      }
      std::sort(periods.begin(), periods.end());
      for (size_t i = 0; i < periods.size();) {
        size_t j = i;
        while (j < periods.size() && periods[j] == periods[i]) ++j;
        if (static_cast<int>(j - i) >= l.max)
          out.push_back({local_midnight_utc(p.zone, periods[i].first), local_midnight_utc(p.zone, periods[i].second)});
        i = j;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Range& a, const Range& b) { return a.s < b.s; });
  std::vector<Range> merged;
  merged.reserve(out.size());
  for (const Range& r : out) {
    if (!merged.empty() && r.s <= merged.back().e) {
      merged.back().e = std::max(merged.back().e, r.e);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

/* ranges - busy; both sorted, ranges non-overlapping, busy merged. */
std::vector<Range> subtract(const std::vector<Range>& ranges, const std::vector<Range>& busy) {
  std::vector<Range> out;
  out.reserve(ranges.size() + busy.size());
  size_t j = 0;
  for (const Range& r : ranges) {
    while (j < busy.size() && busy[j].e <= r.s) ++j;
    Instant cur = r.s;
    for (size_t k = j; k < busy.size() && busy[k].s < r.e; ++k) {
      if (busy[k].s > cur) out.push_back({cur, busy[k].s});
      cur = std::max(cur, busy[k].e);
      if (cur >= r.e) break;
    }
    if (cur < r.e) out.push_back({cur, r.e});
  }
  return out;
}

std::vector<Range> free_ranges(const Prepared& p, const EventRules& ev, const std::vector<Busy>& busy,
                               const std::string& reschedule_uid, Instant from, Instant to) {
  const std::vector<Range> work = working_ranges(p, from, to);
  if (work.empty()) return work;
  return subtract(work, busy_ranges(p, ev, busy, reschedule_uid));
}

/* First instant past the rolling booking window: the end of the local date
 * (schedule zone) that is `days` calendar days after today. */
Instant window_end(const Prepared& p, Instant now, int days) {
  OffsetCursor zc(p.zone);
  return local_midnight_utc(p.zone, zc.day(now) + Days{int64_t{days} + 1});
}

int rounding_interval(int frequency_min) {
  for (int i : {60, 30, 20, 15, 10, 5})
    if (frequency_min % i == 0) return i;
  return 1;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

/* ---- time helpers ------------------------------------------------------ */

bool is_valid_zone(const std::string& zone) { return find_zone(zone) != nullptr; }

std::string format_iso(Instant t, const std::string& zone) {
  seconds off{0};
  bool utc = true;
  if (!zone.empty() && zone != "UTC") {
    if (const date::time_zone* z = find_zone(zone)) {
      off = z->get_info(t).offset;
      utc = false;
    }
  }
  const auto lt = t + off;
  const CivilDay d = date::floor<Days>(lt);
  const int64_t sod = (lt - d).count();
  std::string s = ymd_string(d);
  s.reserve(29);
  s.push_back('T');
  put2(s, static_cast<int>(sod / 3600));
  s.push_back(':');
  put2(s, static_cast<int>(sod / 60 % 60));
  s.push_back(':');
  put2(s, static_cast<int>(sod % 60));
  s += ".000";
  if (utc) {
    s.push_back('Z');
    return s;
  }
  int64_t o = off.count();
  s.push_back(o < 0 ? '-' : '+');
  if (o < 0) o = -o;
  put2(s, static_cast<int>(o / 3600));
  s.push_back(':');
  put2(s, static_cast<int>(o / 60 % 60));
  if (o % 60 != 0) {  // historical local-mean-time offsets only
    s.push_back(':');
    put2(s, static_cast<int>(o % 60));
  }
  return s;
}

Result<Instant> parse_iso(const std::string& s) {
  auto bad = [&] {
    return make_error(400, "invalid_time",
                      "expected an ISO 8601 instant with offset such as 2026-03-10T08:00:00Z, got " + quoted(s));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  size_t i = 0;
  if (s.size() < 17 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi))
    return bad();
  i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2, se)) return bad();
    i += 3;
    if (i < s.size() && s[i] == '.') {
      const size_t f = ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;  // fraction truncated to whole seconds
      if (i == f) return bad();
    }
  }
  int64_t off = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    int oh = 0, om = 0, os = 0;
    if (!digits(s, i + 1, 2, oh)) return bad();
    i += 3;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, om)) return bad();
      i += 3;
      if (i < s.size() && s[i] == ':') {
        if (!digits(s, i + 1, 2, os)) return bad();
        i += 3;
      }
    } else if (!digits(s, i, 2, om)) {
      return bad();
    } else {
      i += 2;
    }
    if (oh > 23 || om > 59 || os > 59) return bad();
    off = sign * (oh * 3600 + om * 60 + os);
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59) return bad();
  return Instant{CivilDay{ymd}} + hours(h) + minutes(mi) + seconds(se) - seconds(off);
}

Result<Instant> local_to_utc(const std::string& date_ymd, int minutes_of_day, const std::string& zone) {
  const date::time_zone* z = find_zone(zone);
  if (!z) return make_error(400, "invalid_time_zone", "unknown time zone " + quoted(zone));
  CivilDay d;
  if (!parse_ymd(date_ymd, d)) return make_error(400, "invalid_date", "expected a date YYYY-MM-DD, got " + quoted(date_ymd));
  if (minutes_of_day < 0 || minutes_of_day > 1440)
    return make_error(400, "invalid_time", "minutes after midnight must be 0-1440");
  return local_midnight_utc(z, d, minutes_of_day);
}

std::string local_date(Instant t, const std::string& zone) {
  const date::time_zone* z = find_zone(zone);
  if (!z) return ymd_string(date::floor<Days>(t));
  return ymd_string(date::floor<Days>(t + z->get_info(t).offset));
}

/* ---- slots ------------------------------------------------------------- */

Result<std::vector<Day>> compute(const Schedule& schedule, const EventRules& event, const std::vector<Busy>& busy,
                                 const std::vector<Hold>& holds, const Query& q) {
  auto prepared = prepare(schedule);
  if (!prepared) return prepared.error();
  const Prepared& p = *prepared;
  static const std::string k_utc = "UTC";
  const date::time_zone* vz = find_zone(q.view_zone.empty() ? k_utc : q.view_zone);
  if (!vz) return make_error(400, "invalid_time_zone", "unknown time zone " + quoted(q.view_zone));
  if (auto e = check_event(event, q.duration_min)) return *e;
  if (q.end < q.start) return make_error(400, "invalid_window", "end is before start");
  if (q.end - q.start > Days{k_max_window_days})
    return make_error(400, "invalid_window", "window longer than " + std::to_string(k_max_window_days) + " days");

  const int len_min = q.duration_min > 0 ? q.duration_min : event.length_min;
  const int freq_min = event.slot_interval_min > 0 ? event.slot_interval_min : len_min;
  const int interval = rounding_interval(freq_min);
  const minutes len{len_min};
  const minutes step{int64_t{freq_min} + event.offset_start_min};
  const minutes offset_start{event.offset_start_min};

  // Step 1: from = max(start, now + max(N, 1) min), to = end.
  const Instant from = std::max(q.start, q.now + minutes(std::max(event.minimum_notice_min, 1)));
  const Instant to = q.end;
  std::vector<Day> days;
  if (from >= to) return days;

  // Steps 2-4.
  const std::vector<Range> free = free_ranges(p, event, busy, q.reschedule_uid, from, to);

  // Step 5: slot starts, rounded in the viewer's zone.
  const Instant notice_at = q.now + minutes(event.minimum_notice_min);
  OffsetCursor vc(vz);
  std::vector<Instant> starts;
  for (const Range& r : free) {
    Instant t = std::max(r.s, notice_at);
    t -= seconds(t.time_since_epoch().count() - floor_div(t.time_since_epoch().count(), 60) * 60);
    const int64_t local_min = floor_div((t + vc.offset(t)).time_since_epoch().count(), 60);
    const int minute = static_cast<int>(local_min - floor_div(local_min, 60) * 60);
    if (minute % interval != 0) t += minutes((minute / interval + 1) * interval - minute);
    t += offset_start;
    for (; t + len - seconds(1) <= r.e; t += step) starts.push_back(t);
  }
  if (!std::is_sorted(starts.begin(), starts.end())) std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());

  // Step 6: holds hide overlapping slots.
  if (!holds.empty()) {
    starts.erase(std::remove_if(starts.begin(), starts.end(),
                                [&](Instant t) {
                                  for (const Hold& h : holds)
                                    if (t < h.end && h.start < t + len) return true;
                                  return false;
                                }),
                 starts.end());
  }
  // Step 7: rolling booking window (calendar days, schedule zone).
  if (event.booking_window_days > 0 && event.booking_window_days <= k_max_booking_window_days) {
    const Instant limit = window_end(p, q.now, event.booking_window_days);
    starts.erase(std::lower_bound(starts.begin(), starts.end(), limit), starts.end());
  }

  // Step 8: group by date in the viewer's zone.
  CivilDay cur{};
  for (Instant t : starts) {
    const CivilDay d = vc.day(t);
    Day* day = nullptr;
    if (!days.empty() && d == cur) {
      day = &days.back();
    } else {
      // A zone falling back across midnight can revisit an earlier date.
      const std::string key = ymd_string(d);
      for (Day& x : days)
        if (x.date == key) day = &x;
      if (!day) {
        days.push_back(Day{key, {}});
        day = &days.back();
      }
      cur = d;
    }
    if (event.only_first_slot_per_day && !day->slots.empty()) continue;
    day->slots.push_back(Slot{t, t + len});
  }
  if (!std::is_sorted(days.begin(), days.end(), [](const Day& a, const Day& b) { return a.date < b.date; }))
    std::stable_sort(days.begin(), days.end(), [](const Day& a, const Day& b) { return a.date < b.date; });
  return days;
}

Status check_bookable(const Schedule& schedule, const EventRules& event, const std::vector<Busy>& busy,
                      Instant start, int duration_min, Instant now, const std::string& reschedule_uid) {
  auto prepared = prepare(schedule);
  if (!prepared) return prepared.error();
  if (auto e = check_event(event, duration_min)) return *e;
  const Prepared& p = *prepared;
  const Instant end = start + minutes(duration_min > 0 ? duration_min : event.length_min);
  if (start < now + minutes(std::max(event.minimum_notice_min, 1)))
    return make_error(400, "too_soon", k_out_of_bounds);
  if (event.booking_window_days > 0 && event.booking_window_days <= k_max_booking_window_days &&
      start >= window_end(p, now, event.booking_window_days))
    return make_error(400, "outside_window", k_out_of_bounds);
  for (const Range& r : free_ranges(p, event, busy, reschedule_uid, start, end))
    if (r.s <= start && end <= r.e) return ok_status();
  return make_error(400, "not_available", k_not_available);
}

/* ---- Cal.com JSON ------------------------------------------------------ */

Result<Schedule> schedule_from_calcom_json(const Json::Value& v) {
  if (!v.isObject()) return schedule_error("schedule: expected a JSON object");
  Schedule s;
  const Json::Value& tz = v["timeZone"];
  if (!tz.isString() || tz.asString().empty()) return schedule_error("timeZone: required, an IANA name such as Europe/Madrid");
  s.time_zone = tz.asString();
  if (!is_valid_zone(s.time_zone)) return schedule_error("timeZone: unknown time zone " + quoted(s.time_zone));

  auto time_field = [](const Json::Value& obj, const std::string& field, const char* key, int& out) -> std::optional<Error> {
    const Json::Value& t = obj[key];
    if (!t.isString() || !parse_hhmm(t.asString(), out))
      return schedule_error(field + "." + key + ": " + (t.isString() ? quoted(t.asString()) : std::string("value")) +
                            " is not a time HH:MM (00:00-23:59)");
    return std::nullopt;
  };

  const Json::Value& av = v["availability"];
  if (av.isNull()) {
    s.rules.push_back(Rule{{1, 2, 3, 4, 5}, 9 * 60, 17 * 60});  // Cal.com's default on create
  } else if (!av.isArray()) {
    return schedule_error("availability: expected an array");
  } else {
    for (Json::ArrayIndex i = 0; i < av.size(); ++i) {
      const std::string field = "availability[" + std::to_string(i) + "]";
      const Json::Value& a = av[i];
      if (!a.isObject()) return schedule_error(field + ": expected an object");
      const Json::Value& dv = a["days"];
      if (!dv.isArray() || dv.empty()) return schedule_error(field + ".days: expected a non-empty array of day names");
      Rule r;
      for (Json::ArrayIndex k = 0; k < dv.size(); ++k) {
        const std::string dfield = field + ".days[" + std::to_string(k) + "]";
        if (!dv[k].isString()) return schedule_error(dfield + ": expected a day name (Monday ... Sunday)");
        const std::string name = dv[k].asString();
        int w = -1;
        for (int x = 0; x < 7; ++x)
          if (name == k_day_names[x]) w = x;
        if (w < 0) return schedule_error(dfield + ": unknown day " + quoted(name) + " (expected Monday ... Sunday)");
        if (std::find(r.weekdays.begin(), r.weekdays.end(), w) == r.weekdays.end()) r.weekdays.push_back(w);
      }
      if (auto e = time_field(a, field, "startTime", r.start_min)) return *e;
      if (auto e = time_field(a, field, "endTime", r.end_min)) return *e;
      if (r.end_min <= r.start_min)
        return schedule_error(field + ".endTime: " + quoted(a["endTime"].asString()) + " is not after startTime " +
                              quoted(a["startTime"].asString()));
      if (r.end_min == 1439) r.end_min = 1440;  // "23:59" means midnight
      s.rules.push_back(std::move(r));
    }
  }
  // Rules must not overlap on any weekday (touching is fine).
  for (int w = 0; w < 7; ++w) {
    std::vector<std::pair<std::pair<int, int>, size_t>> on;  // ((start, end), rule index)
    for (size_t i = 0; i < s.rules.size(); ++i)
      if (std::find(s.rules[i].weekdays.begin(), s.rules[i].weekdays.end(), w) != s.rules[i].weekdays.end())
        on.push_back({{s.rules[i].start_min, s.rules[i].end_min}, i});
    std::sort(on.begin(), on.end());
    for (size_t k = 1; k < on.size(); ++k) {
      if (on[k].first.first < on[k - 1].first.second) {
        const size_t a = std::min(on[k].second, on[k - 1].second), b = std::max(on[k].second, on[k - 1].second);
        return schedule_error("availability[" + std::to_string(b) + "]: overlaps availability[" + std::to_string(a) +
                              "] on " + k_day_names[w]);
      }
    }
  }

  const Json::Value& ov = v["overrides"];
  if (!ov.isNull() && !ov.isArray()) return schedule_error("overrides: expected an array");
  if (ov.isArray()) {
    for (Json::ArrayIndex i = 0; i < ov.size(); ++i) {
      const std::string field = "overrides[" + std::to_string(i) + "]";
      const Json::Value& o = ov[i];
      if (!o.isObject()) return schedule_error(field + ": expected an object");
      Override x;
      CivilDay d;
      if (!o["date"].isString() || !parse_ymd(o["date"].asString(), d))
        return schedule_error(field + ".date: " + (o["date"].isString() ? quoted(o["date"].asString()) : std::string("value")) +
                              " is not a valid date YYYY-MM-DD");
      x.date = o["date"].asString();
      if (auto e = time_field(o, field, "startTime", x.start_min)) return *e;
      if (auto e = time_field(o, field, "endTime", x.end_min)) return *e;
      if (x.end_min < x.start_min)
        return schedule_error(field + ".endTime: " + quoted(o["endTime"].asString()) + " is before startTime " +
                              quoted(o["startTime"].asString()));
      if (x.end_min == 1439 && x.start_min != 1439) x.end_min = 1440;  // "23:59" means midnight
      s.overrides.push_back(std::move(x));
    }
    // Several overrides on one date may not overlap (zero-length ones are day-off markers).
    std::vector<std::pair<std::pair<std::string, int>, std::pair<int, size_t>>> all;
    for (size_t i = 0; i < s.overrides.size(); ++i)
      if (s.overrides[i].end_min > s.overrides[i].start_min)
        all.push_back({{s.overrides[i].date, s.overrides[i].start_min}, {s.overrides[i].end_min, i}});
    std::sort(all.begin(), all.end());
    for (size_t k = 1; k < all.size(); ++k) {
      if (all[k].first.first == all[k - 1].first.first && all[k].first.second < all[k - 1].second.first) {
        const size_t a = std::min(all[k].second.second, all[k - 1].second.second);
        const size_t b = std::max(all[k].second.second, all[k - 1].second.second);
        return schedule_error("overrides[" + std::to_string(b) + "]: overlaps overrides[" + std::to_string(a) + "] on " +
                              all[k].first.first);
      }
    }
  }
  return s;
}

Json::Value availability_to_calcom_json(const Schedule& s) {
  Json::Value out(Json::objectValue);
  out["timeZone"] = s.time_zone;
  Json::Value av(Json::arrayValue);
  for (const Rule& r : s.rules) {
    Json::Value a(Json::objectValue);
    Json::Value days(Json::arrayValue);
    for (int w : r.weekdays)
      if (w >= 0 && w <= 6) days.append(k_day_names[w]);
    a["days"] = days;
    a["startTime"] = hhmm(r.start_min);
    a["endTime"] = hhmm(r.end_min);
    av.append(a);
  }
  Json::Value ov(Json::arrayValue);
  for (const Override& o : s.overrides) {
    Json::Value x(Json::objectValue);
    x["date"] = o.date;
    x["startTime"] = hhmm(o.start_min);
    x["endTime"] = o.end_min == o.start_min ? hhmm(o.start_min) : hhmm(o.end_min);
    ov.append(x);
  }
  out["availability"] = av;
  out["overrides"] = ov;
  return out;
}

}  // namespace coach::slots
