/* calcom_slots.hpp: GET /v2/slots and /v2/slots/reservations (cal-api-version
 * 2024-09-04), reference §5 of shared/reference/calcom-api-v2.md.
 *
 * Slots come from the project's slot engine (coach::slots::compute in
 * lib/slot_engine.hpp): schedule = the event type's scheduleId or the owner's
 * default; busy = the host's ACCEPTED bookings of every event type (and the
 * ones the host attends), each with its own event type's buffers, plus this
 * type's PENDING bookings when its confirmationPolicy blocks unconfirmed
 * bookings; holds = the host's unexpired reservations; now = the emulator
 * clock. Windows of type businessDays and range are applied here (the engine
 * takes rolling calendar days only). The answer is keyed by date in the
 * requested timeZone (UTC by default) with ISO strings carrying offsets.
 *
 * Not implemented (400 saying so): dynamic events (usernames=), team event
 * types (teamSlug=). Seated event types are treated as 1:1. */
#pragma once
#include "calcom_event_types.hpp"

namespace calcom_emu {

using coach::slots::Instant;

inline const std::vector<std::string>& slot_api_versions() {
  static const std::vector<std::string> v = {"2024-09-04"};
  return v;
}

inline Instant to_instant(int64_t ms) {
  int64_t s = ms / 1000;
  if (ms % 1000 < 0) --s;
  return Instant(std::chrono::seconds(s));
}

inline int64_t to_ms(Instant t) { return static_cast<int64_t>(t.time_since_epoch().count()) * 1000; }

/* ------------------------------------------------------ engine inputs */

/* The schedule an event type uses (its scheduleId, else the owner's
 * default), or nullptr when there is none (the host cannot be booked). */
inline const Schedule* event_type_schedule(const State& st, const EventType& et) {
  int64_t sid = et_int(et, "scheduleId", 0);
  if (!sid) {
    auto owner = st.users.find(et.owner_id);
    if (owner == st.users.end() || !owner->second.default_schedule_id.isIntegral()) return nullptr;
    sid = owner->second.default_schedule_id.asInt64();
  }
  auto it = st.schedules.find(sid);
  return it == st.schedules.end() ? nullptr : &it->second;
}

inline coach::slots::EventRules event_rules(const EventType& et) {
  coach::slots::EventRules r;
  r.event_type_id = et.id;
  r.length_min = static_cast<int>(et_int(et, "lengthInMinutes", 30));
  r.slot_interval_min = static_cast<int>(et_int(et, "slotInterval", 0));
  r.before_buffer_min = static_cast<int>(et_int(et, "beforeEventBuffer", 0));
  r.after_buffer_min = static_cast<int>(et_int(et, "afterEventBuffer", 0));
  r.minimum_notice_min = static_cast<int>(et_int(et, "minimumBookingNotice", 0));
  r.offset_start_min = static_cast<int>(et_int(et, "offsetStart", 0));
  const Json::Value& limits = et_get(et, "bookingLimitsCount");
  if (limits.isObject()) {
    r.limit_per_day = limits.get("day", 0).asInt();
    r.limit_per_week = limits.get("week", 0).asInt();
    r.limit_per_month = limits.get("month", 0).asInt();
    r.limit_per_year = limits.get("year", 0).asInt();
  }
  const Json::Value& window = et_get(et, "bookingWindow");
  if (window.isObject() && window["type"].asString() == "calendarDays") {
    r.booking_window_days = window["value"].asInt();
  }
  r.only_first_slot_per_day = et_bool(et, "onlyShowFirstAvailableSlot");
  return r;
}

/* True when the booking blocks its host's time: ACCEPTED, or PENDING of
 * `for_et` when that type blocks unconfirmed bookings. */
inline bool booking_blocks(const Booking& b, const EventType* for_et) {
  if (b.status == "accepted") return true;
  if (b.status != "pending" || !for_et || b.event_type_id != for_et->id) return false;
  const Json::Value& policy = et_get(*for_et, "confirmationPolicy");
  return policy.isObject() && policy["blockUnconfirmedBookingsInBooker"].asBool();
}

/* Whether the host organises or attends the booking. */
inline bool host_involved(const State& st, const Booking& b, int64_t host_id) {
  if (b.host_id == host_id) return true;
  auto u = st.users.find(host_id);
  if (u == st.users.end()) return false;
  const std::string email = to_lower(u->second.email);
  for (const auto& a : b.attendees) if (to_lower(a.email) == email) return true;
  return false;
}

/* The host's busy bookings, each widened later by the engine with its own
 * event type's buffers. */
inline std::vector<coach::slots::Busy> host_busy(const State& st, int64_t host_id, const EventType* for_et) {
  std::vector<coach::slots::Busy> out;
  for (const auto& [id, b] : st.bookings) {
    if (!booking_blocks(b, for_et) || !host_involved(st, b, host_id)) continue;
    coach::slots::Busy busy;
    busy.start = to_instant(b.start_ms);
    busy.end = to_instant(b.end_ms);
    busy.event_type_id = b.event_type_id;
    busy.uid = b.uid;
    auto et = st.event_types.find(b.event_type_id);
    if (et != st.event_types.end()) {
      busy.before_buffer_min = static_cast<int>(et_int(et->second, "beforeEventBuffer", 0));
      busy.after_buffer_min = static_cast<int>(et_int(et->second, "afterEventBuffer", 0));
    }
    out.push_back(busy);
  }
  return out;
}

/* The host's unexpired reservations (any event type). */
inline std::vector<coach::slots::Hold> host_holds(const State& st, int64_t host_id, int64_t now) {
  std::vector<coach::slots::Hold> out;
  for (const auto& [uid, r] : st.reservations) {
    if (r.host_id != host_id || r.until_ms <= now) continue;
    out.push_back(coach::slots::Hold{to_instant(r.slot_start_ms), to_instant(r.slot_end_ms)});
  }
  return out;
}

/* businessDays and range booking windows as [first, last] local dates
 * (days since the epoch) in the schedule's zone; nullopt when the event
 * type has no such window. businessDays N: from today through the N-th
 * business day (Monday-Friday) after today (dayjs businessDaysAdd). */
inline std::optional<std::pair<int64_t, int64_t>> date_window(const EventType& et, const std::string& zone,
                                                               int64_t now) {
  const Json::Value& w = et_get(et, "bookingWindow");
  if (!w.isObject()) return std::nullopt;
  const std::string type = w["type"].asString();
  if (type == "range") return std::make_pair(*parse_ymd(w["value"][0].asString()), *parse_ymd(w["value"][1].asString()));
  if (type != "businessDays") return std::nullopt;
  auto today = parse_ymd(coach::slots::local_date(to_instant(now), zone));
  if (!today) return std::nullopt;
  int64_t d = *today, n = 0;
  const int64_t want = w["value"].asInt64();
  while (n < want) {
    ++d;
    int wd = weekday_of_days(d);
    if (wd != 0 && wd != 6) ++n;
  }
  return std::make_pair(*today, d);
}

inline bool in_date_window(Instant t, const std::string& zone, const std::pair<int64_t, int64_t>& win) {
  auto d = parse_ymd(coach::slots::local_date(t, zone));
  return d && *d >= win.first && *d <= win.second;
}

/* The lengths an event type can be booked with: lengthInMinutesOptions, or
 * just lengthInMinutes. */
inline std::vector<int64_t> allowed_lengths(const EventType& et) {
  std::vector<int64_t> out;
  const Json::Value& opts = et_get(et, "lengthInMinutesOptions");
  if (opts.isArray()) for (const auto& o : opts) out.push_back(o.asInt64());
  if (out.empty()) out.push_back(et_int(et, "lengthInMinutes", 30));
  return out;
}

inline bool has_length_options(const EventType& et) { return et_get(et, "lengthInMinutesOptions").isArray(); }

/* ------------------------------------------------------------ GET /v2/slots */

/* A start/end query value: "YYYY-MM-DD" (start: 00:00:00Z, end: 23:59:59Z)
 * or an ISO instant (an end at exactly 00:00:00Z also becomes 23:59:59Z of
 * that date). */
inline std::optional<Instant> parse_window_bound(const std::string& text, bool is_end) {
  if (auto days = parse_ymd(text)) {
    return Instant(std::chrono::seconds(*days * 86400 + (is_end ? 86399 : 0)));
  }
  auto t = coach::slots::parse_iso(text);
  if (!t) return std::nullopt;
  Instant v = *t;
  if (is_end && v.time_since_epoch().count() % 86400 == 0) v += std::chrono::seconds(86399);
  return v;
}

/* Finds the event type a slots or bookings request names: eventTypeId, or
 * eventTypeSlug + username. */
inline std::optional<Reply> find_event_type_for(Call& c, const std::optional<int64_t>& id,
                                                const std::optional<std::string>& slug,
                                                const std::optional<std::string>& username, EventType*& out) {
  if (id) {
    auto it = c.st.event_types.find(*id);
    if (it == c.st.event_types.end()) {
      return error_reply(c, 404, "Event type with id=" + std::to_string(*id) + " not found");
    }
    out = &it->second;
    return std::nullopt;
  }
  if (slug && username) {
    for (auto& [eid, et] : c.st.event_types) {
      auto owner = c.st.users.find(et.owner_id);
      if (owner != c.st.users.end() && owner->second.username == *username && et_str(et, "slug") == *slug) {
        out = &et;
        return std::nullopt;
      }
    }
    return error_reply(c, 404, "Event type with slug=" + *slug + " belonging to user " + *username + " not found");
  }
  return error_reply(c, 400,
                     "Either eventTypeId or eventTypeSlug + username must be provided (team and dynamic event "
                     "types are not implemented by the Cal.com emulator)");
}

/* The slot engine's answer for an event type over [start, end]. */
inline coach::Result<std::vector<coach::slots::Day>> compute_slots(const State& st, const EventType& et, Instant start,
                                                                   Instant end, const std::string& view_zone,
                                                                   int duration_min, int64_t now,
                                                                   const std::string& reschedule_uid) {
  const Schedule* sched = event_type_schedule(st, et);
  if (!sched) return std::vector<coach::slots::Day>{};
  auto engine = engine_schedule(*sched);
  if (!engine) return engine.error();
  coach::slots::Query q;
  q.start = start;
  q.end = end;
  q.view_zone = view_zone;
  q.duration_min = duration_min;
  q.now = to_instant(now);
  q.reschedule_uid = reschedule_uid;
  auto days = coach::slots::compute(*engine, event_rules(et), host_busy(st, et.owner_id, &et),
                                    host_holds(st, et.owner_id, now), q);
  if (!days) return days;
  auto win = date_window(et, sched->time_zone, now);
  if (!win) return days;
  std::vector<coach::slots::Day> kept;
  for (auto& d : *days) {
    coach::slots::Day nd{d.date, {}};
    for (const auto& s : d.slots) if (in_date_window(s.start, sched->time_zone, *win)) nd.slots.push_back(s);
    if (!nd.slots.empty()) kept.push_back(std::move(nd));
  }
  return kept;
}

/* GET /v2/slots?eventTypeId|eventTypeSlug+username&start&end[&timeZone]
 * [&duration][&format=range|time][&bookingUidToReschedule]. */
inline Reply handle_get_slots(Call& c) {
  if (auto err = require_api_version(c, slot_api_versions(), "/v2/slots")) return *err;
  c.st.counters.n_slot_queries++;
  Json::Value errors(Json::arrayValue);
  auto bad = [&](const char* name, const std::optional<std::string>& v, const std::string& constraint,
                 const std::string& msg) {
    Json::Value shown = v ? Json::Value(*v) : Json::Value();
    errors.append(validation_error(name, v ? &shown : nullptr, constraint, msg));
  };
  auto start_text = c.query("start"), end_text = c.query("end");
  std::optional<Instant> start, end;
  if (start_text) start = parse_window_bound(*start_text, false);
  if (!start) bad("start", start_text, "isDateString", "start must be a valid ISO 8601 date string");
  if (end_text) end = parse_window_bound(*end_text, true);
  if (!end) bad("end", end_text, "isDateString", "end must be a valid ISO 8601 date string");
  std::optional<int64_t> event_type_id;
  if (auto t = c.query("eventTypeId")) {
    int64_t v = 0;
    if (parse_int64(*t, v)) event_type_id = v;
    else bad("eventTypeId", t, "isNumber", "eventTypeId must be a number conforming to the specified constraints");
  }
  std::string zone = "UTC";
  if (auto tz = c.query("timeZone")) {
    if (auto canon = canonical_time_zone(*tz)) zone = *canon;
    else bad("timeZone", tz, "isTimeZone", "timeZone must be a valid IANA time zone");
  }
  std::optional<int64_t> duration;
  if (auto d = c.query("duration")) {
    int64_t v = 0;
    if (parse_int64(*d, v) && v >= 1) duration = v;
    else bad("duration", d, "isNumber", "duration must be a number conforming to the specified constraints");
  }
  auto format = c.query("format");
  if (format && *format != "range" && *format != "time") {
    bad("format", format, "isEnum", "format must be one of the following values: range, time");
  }
  if (!errors.empty()) return validation_reply(c, errors);
  if (c.query("usernames") || c.query("teamSlug")) {
    return error_reply(c, 400, "Team and dynamic (usernames=) slots are not implemented by the Cal.com emulator");
  }
  EventType* et = nullptr;
  if (auto err = find_event_type_for(c, event_type_id, c.query("eventTypeSlug"), c.query("username"), et)) {
    return *err;
  }
  if (duration) {
    auto lengths = allowed_lengths(*et);
    if (std::find(lengths.begin(), lengths.end(), *duration) == lengths.end()) {
      std::string list;
      for (size_t i = 0; i < lengths.size(); ++i) list += (i ? ", " : "") + std::to_string(lengths[i]);
      return error_reply(c, 400, "Requested duration " + std::to_string(*duration) +
                                     " is not one of the event type's lengths: " + list);
    }
  }
  auto days = compute_slots(c.st, *et, *start, *end, zone, static_cast<int>(duration.value_or(0)), c.now_ms,
                            c.query("bookingUidToReschedule").value_or(""));
  if (!days) return error_reply(c, days.error().http_status, days.error().message);
  const bool range = format && *format == "range";
  Json::Value data(Json::objectValue);
  for (const auto& d : *days) {
    Json::Value arr(Json::arrayValue);
    for (const auto& s : d.slots) {
      Json::Value slot(Json::objectValue);
      slot["start"] = coach::slots::format_iso(s.start, zone);
      if (range) slot["end"] = coach::slots::format_iso(s.end, zone);
      arr.append(slot);
    }
    if (!arr.empty()) data[d.date] = arr;
  }
  return ok_reply(data);
}

/* ------------------------------------------------------- reservations */

inline Json::Value reservation_json(const Reservation& r) {
  Json::Value j(Json::objectValue);
  j["eventTypeId"] = static_cast<Json::Int64>(r.event_type_id);
  j["slotStart"] = iso_utc_ms(r.slot_start_ms);
  j["slotEnd"] = iso_utc_ms(r.slot_end_ms);
  j["slotDuration"] = r.slot_duration_min;
  j["reservationUid"] = r.uid;
  j["reservationDuration"] = r.reservation_min;
  j["reservationUntil"] = iso_utc_ms(r.until_ms);
  return j;
}

/* Optional authentication (OptionalApiAuthGuard): no credentials -> user 0;
 * credentials that fail -> their 401/498. */
inline std::optional<Reply> authenticate_optional(Call& c, int64_t& user_id) {
  user_id = 0;
  const bool has_creds = !c.header("Authorization").empty() ||
                         (!c.header("x-cal-client-id").empty() && !c.header("x-cal-secret-key").empty());
  if (!has_creds) return std::nullopt;
  return authenticate_user(c, user_id);
}

/* Validates a ReserveSlotInput_2024_09_04 body and the rules around it into
 * r (all but uid); `self` is the reservation being updated, if any. */
inline std::optional<Reply> build_reservation(Call& c, Reservation& r, const std::string& self) {
  int64_t user_id = 0;
  if (auto err = authenticate_optional(c, user_id)) return err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return err;
  BodyChecker chk(body);
  auto event_type_id = chk.integer("eventTypeId", true, 1, 1LL << 50);
  std::optional<Instant> start;
  if (auto s = chk.str("slotStart", true)) {
    auto t = coach::slots::parse_iso(*s);
    if (t) start = *t;
    else chk.add("slotStart", "isDateString", "slotStart must be a valid ISO 8601 date string");
  }
  auto slot_duration = chk.integer("slotDuration", false, 1, 24 * 60);
  auto reservation_duration = chk.integer("reservationDuration", false, 1, 24 * 60);
  if (!chk.ok()) return validation_reply(c, chk.errors());

  EventType* et = nullptr;
  if (auto err = find_event_type_for(c, event_type_id, std::nullopt, std::nullopt, et)) return err;
  int64_t length = et_int(*et, "lengthInMinutes", 30);
  if (slot_duration) {
    if (!has_length_options(*et)) {
      return error_reply(c, 400, "slotDuration can only be given for an event type with multiple possible lengths "
                                 "(lengthInMinutesOptions); event type " + std::to_string(et->id) + " has none");
    }
    auto lengths = allowed_lengths(*et);
    if (std::find(lengths.begin(), lengths.end(), *slot_duration) == lengths.end()) {
      return error_reply(c, 400, "slotDuration " + std::to_string(*slot_duration) +
                                     " is not one of the event type's lengthInMinutesOptions");
    }
    length = *slot_duration;
  }
  int reservation_min = 5;
  if (reservation_duration) {
    if (!user_id) {
      return error_reply(c, 401, "reservationDuration can only be used by authenticated requests (access token, "
                                 "API key or OAuth client credentials)");
    }
    const User& caller = c.st.users.at(user_id);
    const User& owner = c.st.users.at(et->owner_id);
    const bool same_org = caller.organization_id != 0 && caller.organization_id == owner.organization_id;
    if (user_id != et->owner_id && !same_org) {
      return error_reply(c, 403, "User " + std::to_string(user_id) +
                                     " is neither the event type owner nor in the owner's team or organization, "
                                     "so reservationDuration cannot be set");
    }
    reservation_min = static_cast<int>(*reservation_duration);
  }
  const int64_t start_ms = to_ms(*start), end_ms = start_ms + length * 60000;
  for (const auto& [id, b] : c.st.bookings) {
    if (b.status == "accepted" && host_involved(c.st, b, et->owner_id) && b.start_ms < end_ms && start_ms < b.end_ms) {
      c.st.counters.n_reservation_conflicts++;
      return error_reply(c, 422, "Can't reserve a slot if the event is already booked.");
    }
  }
  for (const auto& [uid, other] : c.st.reservations) {
    if (uid == self || other.host_id != et->owner_id || other.until_ms <= c.now_ms) continue;
    if (other.slot_start_ms < end_ms && start_ms < other.slot_end_ms) {
      c.st.counters.n_reservation_conflicts++;
      return error_reply(c, 422, "This time slot is already reserved by another user.");
    }
  }
  r.event_type_id = et->id;
  r.host_id = et->owner_id;
  r.slot_start_ms = start_ms;
  r.slot_end_ms = end_ms;
  r.slot_duration_min = static_cast<int>(length);
  r.reservation_min = reservation_min;
  r.until_ms = c.now_ms + reservation_min * 60000LL;
  r.reserved_by_user_id = user_id;
  return std::nullopt;
}

/* POST /v2/slots/reservations -> 201. */
inline Reply handle_reserve_slot(Call& c) {
  if (auto err = require_api_version(c, slot_api_versions(), "/v2/slots/reservations")) return *err;
  Reservation r;
  if (auto err = build_reservation(c, r, "")) return *err;
  do { r.uid = random_uuid(); } while (c.st.reservations.count(r.uid));
  c.st.reservations[r.uid] = r;
  return ok_reply(reservation_json(r), 201);
}

/* GET /v2/slots/reservations/{uid}: the reservation, or data null. */
inline Reply handle_get_reservation(Call& c) {
  if (auto err = require_api_version(c, slot_api_versions(), "/v2/slots/reservations")) return *err;
  auto it = c.st.reservations.find(c.params[0]);
  return ok_reply(it == c.st.reservations.end() ? Json::Value::null : reservation_json(it->second));
}

/* PATCH /v2/slots/reservations/{uid}: same body as POST; the hold restarts. */
inline Reply handle_update_reservation(Call& c) {
  if (auto err = require_api_version(c, slot_api_versions(), "/v2/slots/reservations")) return *err;
  auto it = c.st.reservations.find(c.params[0]);
  if (it == c.st.reservations.end()) {
    return error_reply(c, 404, "Reserved slot with uid=" + c.params[0] + " not found");
  }
  Reservation r;
  if (auto err = build_reservation(c, r, c.params[0])) return *err;
  r.uid = c.params[0];
  it->second = r;
  return ok_reply(reservation_json(r));
}

/* DELETE /v2/slots/reservations/{uid} -> {"status":"success"}. */
inline Reply handle_delete_reservation(Call& c) {
  if (auto err = require_api_version(c, slot_api_versions(), "/v2/slots/reservations")) return *err;
  auto it = c.st.reservations.find(c.params[0]);
  if (it == c.st.reservations.end()) {
    return error_reply(c, 404, "Reserved slot with uid=" + c.params[0] + " not found");
  }
  c.st.reservations.erase(it);
  return ok_status_only();
}

}  // namespace calcom_emu
