/* calcom_schedules.hpp: /v2/schedules (cal-api-version 2024-06-11, 2024-06-14
 * also accepted), reference §3 of shared/reference/calcom-api-v2.md. Bearer
 * auth (a managed user's access token; OAuth-client credentials act as the
 * platform owner). A schedule is validated twice: the DTO checks here
 * (class-validator envelope), then the project's slot engine
 * (coach::slots::schedule_from_calcom_json: unknown zone, end before start,
 * overlapping ranges, bad override dates), whose message becomes a 400. */
#pragma once
#include "calcom_users.hpp"
#include "slot_engine.hpp"

namespace calcom_emu {

inline const std::vector<std::string>& schedule_api_versions() {
  static const std::vector<std::string> v = {"2024-06-11", "2024-06-14"};
  return v;
}

/* ------------------------------------------------------------- outputs */

inline Json::Value availability_json(const Availability& a) {
  Json::Value j(Json::objectValue);
  j["days"] = Json::Value(Json::arrayValue);
  for (const auto& d : a.days) j["days"].append(d);
  j["startTime"] = a.start_time;
  j["endTime"] = a.end_time;
  return j;
}

inline Json::Value override_json(const DateOverride& o) {
  Json::Value j(Json::objectValue);
  j["date"] = o.date;
  j["startTime"] = o.start_time;
  j["endTime"] = o.end_time;
  return j;
}

/* ScheduleOutput_2024_06_11: each rule and override as sent, never merged. */
inline Json::Value schedule_json(const State& st, const Schedule& s) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(s.id);
  j["ownerId"] = static_cast<Json::Int64>(s.owner_id);
  j["name"] = s.name;
  j["timeZone"] = s.time_zone;
  j["availability"] = Json::Value(Json::arrayValue);
  for (const auto& a : s.availability) j["availability"].append(availability_json(a));
  j["isDefault"] = schedule_is_default(st, s);
  j["overrides"] = Json::Value(Json::arrayValue);
  for (const auto& o : s.overrides) j["overrides"].append(override_json(o));
  return j;
}

/* The schedule as the slot engine reads it. */
inline coach::Result<coach::slots::Schedule> engine_schedule(const Schedule& s) {
  Json::Value j(Json::objectValue);
  j["timeZone"] = s.time_zone;
  j["availability"] = Json::Value(Json::arrayValue);
  for (const auto& a : s.availability) j["availability"].append(availability_json(a));
  j["overrides"] = Json::Value(Json::arrayValue);
  for (const auto& o : s.overrides) j["overrides"].append(override_json(o));
  return coach::slots::schedule_from_calcom_json(j);
}

/* {"status":"success"} without data (DELETE schedule / reservation). */
inline Reply ok_status_only(int status = 200) {
  Reply r;
  r.status = status;
  r.body = "{\"status\":\"success\"}";
  return r;
}

/* -------------------------------------------------------------- inputs */

/* availability[]: {days: [weekday names], startTime: "HH:MM", endTime: "HH:MM"}. */
inline std::vector<Availability> parse_availability(BodyChecker& chk, const Json::Value& arr) {
  std::vector<Availability> out;
  const auto& days = week_days();
  for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
    const Json::Value& item = arr[i];
    const std::string idx = std::to_string(i);
    if (!item.isObject()) {
      chk.add_nested({"availability", idx}, &item, "nestedValidation",
                     "nested property availability must be either object or array");
      continue;
    }
    Availability a;
    bool ok = true;
    const Json::Value& d = item["days"];
    if (!d.isArray()) {
      chk.add_nested({"availability", idx, "days"}, item.isMember("days") ? &d : nullptr, "isArray",
                     "days must be an array");
      ok = false;
    } else {
      for (const auto& day : d) {
        if (!day.isString() || std::find(days.begin(), days.end(), day.asString()) == days.end()) {
          chk.add_nested({"availability", idx, "days"}, &d, "isEnum",
                         "each value in days must be one of the following values: " + join(days, ", "));
          ok = false;
          break;
        }
        a.days.push_back(day.asString());
      }
    }
    for (const char* k : {"startTime", "endTime"}) {
      const Json::Value& t = item[k];
      if (!t.isString() || !is_hhmm(t.asString())) {
        chk.add_nested({"availability", idx, k}, item.isMember(k) ? &t : nullptr, "isTimeFormat",
                       std::string(k) + " must be a valid time in format HH:MM e.g. " +
                           (std::string(k) == "startTime" ? "08:00" : "15:00"));
        ok = false;
      }
    }
    if (!ok) continue;
    a.start_time = item["startTime"].asString();
    a.end_time = item["endTime"].asString();
    out.push_back(a);
  }
  return out;
}

/* overrides[]: {date: "YYYY-MM-DD", startTime, endTime}. */
inline std::vector<DateOverride> parse_overrides(BodyChecker& chk, const Json::Value& arr) {
  std::vector<DateOverride> out;
  for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
    const Json::Value& item = arr[i];
    const std::string idx = std::to_string(i);
    if (!item.isObject()) {
      chk.add_nested({"overrides", idx}, &item, "nestedValidation",
                     "nested property overrides must be either object or array");
      continue;
    }
    bool ok = true;
    const Json::Value& date = item["date"];
    if (!date.isString() || !parse_ymd(date.asString())) {
      chk.add_nested({"overrides", idx, "date"}, item.isMember("date") ? &date : nullptr, "isDateString",
                     "date must be a valid ISO 8601 date string");
      ok = false;
    }
    for (const char* k : {"startTime", "endTime"}) {
      const Json::Value& t = item[k];
      if (!t.isString() || !is_hhmm(t.asString())) {
        chk.add_nested({"overrides", idx, k}, item.isMember(k) ? &t : nullptr, "isTimeFormat",
                       std::string(k) + " must be a valid time in format HH:MM e.g. " +
                           (std::string(k) == "startTime" ? "12:00" : "13:00"));
        ok = false;
      }
    }
    if (ok) out.push_back(DateOverride{date.asString(), item["startTime"].asString(), item["endTime"].asString()});
  }
  return out;
}

struct ScheduleInput {
  std::optional<std::string> name, time_zone;
  std::optional<bool> is_default;
  std::optional<std::vector<Availability>> availability;
  std::optional<std::vector<DateOverride>> overrides;
};

/* CreateScheduleInput_2024_06_11 (is_create: name, timeZone, isDefault
 * required) or UpdateScheduleInput_2024_06_11 (all optional). */
inline ScheduleInput parse_schedule_input(BodyChecker& chk, bool is_create) {
  ScheduleInput in;
  in.name = chk.str("name", is_create);
  if (auto tz = chk.str("timeZone", is_create)) {
    if (auto canon = canonical_time_zone(*tz)) {
      in.time_zone = *canon;
    } else {
      chk.add("timeZone", "isTimeZone", "timeZone must be a valid IANA time zone");
    }
  }
  in.is_default = chk.boolean("isDefault", is_create);
  if (const Json::Value* a = chk.array("availability")) in.availability = parse_availability(chk, *a);
  if (const Json::Value* o = chk.array("overrides")) in.overrides = parse_overrides(chk, *o);
  return in;
}

/* ------------------------------------------------------------- handlers */

/* Version check + authentication shared by every schedules route. */
inline std::optional<Reply> schedules_preamble(Call& c, int64_t& user_id) {
  if (auto err = require_api_version(c, schedule_api_versions(), "/v2/schedules")) return err;
  return authenticate_user(c, user_id);
}

/* The schedule {id} owned by user_id: 400 on a non-numeric id, 404 when
 * missing (DELETE: 400, as Cal.com does), 403 when someone else's. */
inline std::optional<Reply> find_own_schedule(Call& c, int64_t user_id, const std::string& id_text,
                                              bool missing_is_400, Schedule*& out) {
  int64_t id = 0;
  if (!parse_int64(id_text, id)) return error_reply(c, 400, "Validation failed (numeric string is expected)");
  auto it = c.st.schedules.find(id);
  if (it == c.st.schedules.end()) {
    if (missing_is_400) return error_reply(c, 400, "Schedule with id=" + id_text + " does not exist.");
    return error_reply(c, 404, "Schedule with id=" + id_text + " not found");
  }
  if (it->second.owner_id != user_id) {
    return error_reply(c, 403, "User with id=" + std::to_string(user_id) + " does not own schedule with id=" +
                                   id_text);
  }
  out = &it->second;
  return std::nullopt;
}

/* POST /v2/schedules -> 201. Without availability: Mon-Fri 09:00-17:00. */
inline Reply handle_create_schedule(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  ScheduleInput in = parse_schedule_input(chk, true);
  if (!chk.ok()) return validation_reply(c, chk.errors());

  Schedule s;
  s.owner_id = user_id;
  s.name = *in.name;
  s.time_zone = *in.time_zone;
  s.availability = in.availability ? *in.availability : std::vector<Availability>{default_availability()};
  if (in.overrides) s.overrides = *in.overrides;
  auto engine = engine_schedule(s);
  if (!engine) return error_reply(c, 400, engine.error().message);
  s.id = c.st.next_schedule_id++;
  c.st.schedules[s.id] = s;
  if (*in.is_default) c.st.users.at(user_id).default_schedule_id = static_cast<Json::Int64>(s.id);
  return ok_reply(schedule_json(c.st, c.st.schedules.at(s.id)), 201);
}

/* GET /v2/schedules: all of the user's schedules, by id. */
inline Reply handle_list_schedules(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  Json::Value data(Json::arrayValue);
  for (const auto& [id, s] : c.st.schedules) {
    if (s.owner_id == user_id) data.append(schedule_json(c.st, s));
  }
  return ok_reply(data);
}

/* GET /v2/schedules/default: data null when the user has no default. */
inline Reply handle_get_default_schedule(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  const User& u = c.st.users.at(user_id);
  if (u.default_schedule_id.isIntegral()) {
    auto it = c.st.schedules.find(u.default_schedule_id.asInt64());
    if (it != c.st.schedules.end() && it->second.owner_id == user_id) {
      return ok_reply(schedule_json(c.st, it->second));
    }
  }
  return ok_reply(Json::Value::null);
}

/* GET /v2/schedules/{id}. */
inline Reply handle_get_schedule(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  Schedule* s = nullptr;
  if (auto err = find_own_schedule(c, user_id, c.params[0], false, s)) return *err;
  return ok_reply(schedule_json(c.st, *s));
}

/* PATCH /v2/schedules/{id}: partial. availability / overrides, when present,
 * replace the whole list; omitted lists stay. isDefault:true makes it the
 * default; isDefault:false does not unset it. */
inline Reply handle_patch_schedule(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  Schedule* s = nullptr;
  if (auto err = find_own_schedule(c, user_id, c.params[0], false, s)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  ScheduleInput in = parse_schedule_input(chk, false);
  if (!chk.ok()) return validation_reply(c, chk.errors());

  Schedule next = *s;
  if (in.name) next.name = *in.name;
  if (in.time_zone) next.time_zone = *in.time_zone;
  if (in.availability) next.availability = *in.availability;
  if (in.overrides) next.overrides = *in.overrides;
  auto engine = engine_schedule(next);
  if (!engine) return error_reply(c, 400, engine.error().message);
  *s = next;
  if (in.is_default && *in.is_default) {
    c.st.users.at(user_id).default_schedule_id = static_cast<Json::Int64>(s->id);
  }
  return ok_reply(schedule_json(c.st, *s));
}

/* DELETE /v2/schedules/{id} -> {"status":"success"}; a missing id is 400.
 * Deleting the default leaves the user without one (defaultScheduleId null)
 * and event types that named it fall back to the (now absent) default. */
inline Reply handle_delete_schedule(Call& c) {
  int64_t user_id = 0;
  if (auto err = schedules_preamble(c, user_id)) return *err;
  Schedule* s = nullptr;
  if (auto err = find_own_schedule(c, user_id, c.params[0], true, s)) return *err;
  const int64_t id = s->id;
  User& u = c.st.users.at(user_id);
  if (u.default_schedule_id.isIntegral() && u.default_schedule_id.asInt64() == id) {
    u.default_schedule_id = Json::Value::null;
  }
  for (auto& [eid, et] : c.st.event_types) {
    const Json::Value& props = et.props;
    if (props["scheduleId"].isIntegral() && props["scheduleId"].asInt64() == id) et.props.removeMember("scheduleId");
  }
  c.st.schedules.erase(id);
  return ok_status_only();
}

}  // namespace calcom_emu
