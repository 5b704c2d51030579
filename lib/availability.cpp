/* availability.cpp: schedules, session types and free slots (see header). */
#include "availability.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "cal_integration.hpp"
#include "crypto.hpp"
#include "http.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "refund_policy.hpp"
#include "slot_engine.hpp"

namespace coach::availability {
namespace {

Json::Value parse_or(const std::string& s, Json::ValueType t) {
  auto p = json::parse(s);
  return p ? *p : Json::Value(t);
}

Result<Json::Value> as_coach(Ctx& c, int64_t uid, const std::string& method, const std::string& path,
                             const Json::Value* body, const char* version) {
  return integration::call_as_coach(c.cfg, c.db, c.cal, uid, method, path, body, version);
}

ScheduleRow schedule_from_cal(const Json::Value& d) {
  ScheduleRow s;
  s.cal_schedule_id = json::num(d, "id");
  s.name = json::str(d, "name");
  s.time_zone = json::str(d, "timeZone");
  s.is_default = d.isObject() && d["isDefault"].isBool() && d["isDefault"].asBool();
  if (d.isObject() && d["availability"].isArray()) s.availability = d["availability"];
  if (d.isObject() && d["overrides"].isArray()) s.overrides = d["overrides"];
  return s;
}

void upsert_schedule(db::Db& db, int64_t uid, const ScheduleRow& s) {
  db.exec("INSERT INTO CalSchedule (user_id, cal_schedule_id, name, time_zone, is_default, availability_json, overrides_json) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), time_zone = VALUES(time_zone), "
          "is_default = VALUES(is_default), availability_json = VALUES(availability_json), "
          "overrides_json = VALUES(overrides_json), synced_at = CURRENT_TIMESTAMP(3)",
          {uid, s.cal_schedule_id, s.name, s.time_zone, int64_t(s.is_default), json::write(s.availability),
           json::write(s.overrides)});
  if (s.is_default) {
    db.exec("UPDATE CalSchedule SET is_default = 0 WHERE user_id = ? AND cal_schedule_id <> ?", {uid, s.cal_schedule_id});
    db.exec("UPDATE CalendarIntegration SET default_schedule_id = ? WHERE user_id = ?", {s.cal_schedule_id, uid});
  }
}

ScheduleRow schedule_from_row(const db::Row& r) {
  ScheduleRow s;
  s.cal_schedule_id = r.i64("cal_schedule_id");
  s.name = r.str("name");
  s.time_zone = r.str("time_zone");
  s.is_default = r.i64("is_default") != 0;
  s.availability = parse_or(r.str("availability_json"), Json::arrayValue);
  s.overrides = parse_or(r.str("overrides_json"), Json::arrayValue);
  return s;
}

const char* kEventCols =
    "user_id, cal_event_type_id, title, slug, description, length_min, before_buffer_min, after_buffer_min, "
    "minimum_notice_min, slot_interval_min, cal_schedule_id, locations_json, booking_fields_json, limits_json, "
    "price_minor, currency, hidden, refund_policy";

EventTypeRow event_from_row(const db::Row& r) {
  EventTypeRow e;
  e.user_id = r.i64("user_id");
  e.cal_event_type_id = r.i64("cal_event_type_id");
  e.title = r.str("title");
  e.slug = r.str("slug");
  e.description = r.str("description");
  e.length_min = static_cast<int>(r.i64("length_min"));
  e.before_buffer_min = static_cast<int>(r.i64("before_buffer_min"));
  e.after_buffer_min = static_cast<int>(r.i64("after_buffer_min"));
  e.minimum_notice_min = static_cast<int>(r.i64("minimum_notice_min"));
  e.slot_interval_min = static_cast<int>(r.i64("slot_interval_min"));
  e.cal_schedule_id = r.i64("cal_schedule_id");
  e.locations = parse_or(r.str("locations_json"), Json::arrayValue);
  e.booking_fields = parse_or(r.str("booking_fields_json"), Json::arrayValue);
  e.limits = parse_or(r.str("limits_json"), Json::objectValue);
  e.price_minor = r.i64("price_minor");
  e.currency = r.str("currency");
  e.hidden = r.i64("hidden") != 0;
  e.refund_policy = r.is_null("refund_policy") ? "" : r.str("refund_policy");
  return e;
}

/* Cal.com event type -> row; price and currency are ours and kept. */
EventTypeRow event_from_cal(const Json::Value& d, int64_t uid, const std::optional<EventTypeRow>& prev) {
  EventTypeRow e;
  e.user_id = uid;
  if (!d.isObject()) return e;  // untrusted upstream JSON: id 0 is rejected by callers
  e.cal_event_type_id = json::num(d, "id");
  e.title = json::str(d, "title");
  e.slug = json::str(d, "slug");
  e.description = json::str(d, "description");
  e.length_min = static_cast<int>(json::num(d, "lengthInMinutes"));
  e.before_buffer_min = static_cast<int>(json::num(d, "beforeEventBuffer"));
  e.after_buffer_min = static_cast<int>(json::num(d, "afterEventBuffer"));
  e.minimum_notice_min = static_cast<int>(json::num(d, "minimumBookingNotice"));
  e.slot_interval_min = static_cast<int>(json::num(d, "slotInterval"));
  e.cal_schedule_id = json::num(d, "scheduleId");
  if (d["locations"].isArray()) e.locations = d["locations"];
  if (d["bookingFields"].isArray()) {
    // Keep only the custom questions; Cal.com adds its system fields itself.
    for (const auto& f : d["bookingFields"])
      if (!(f.isObject() && f["isDefault"].isBool() && f["isDefault"].asBool())) e.booking_fields.append(f);
  }
  if (d["bookingLimitsCount"].isObject()) e.limits["bookingLimitsCount"] = d["bookingLimitsCount"];
  if (d["bookingWindow"].isObject() || d["bookingWindow"].isArray()) e.limits["bookingWindow"] = d["bookingWindow"];
  if (d["onlyShowFirstAvailableSlot"].isBool()) e.limits["onlyShowFirstAvailableSlot"] = d["onlyShowFirstAvailableSlot"];
  e.hidden = d["hidden"].isBool() && d["hidden"].asBool();
  if (prev) {
    e.price_minor = prev->price_minor;
    e.currency = prev->currency;
    e.refund_policy = prev->refund_policy;
  }
  return e;
}

void upsert_event(db::Db& db, const EventTypeRow& e) {
  db.exec(std::string("INSERT INTO EventType (") + kEventCols +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
              "title = VALUES(title), slug = VALUES(slug), description = VALUES(description), "
              "length_min = VALUES(length_min), before_buffer_min = VALUES(before_buffer_min), "
              "after_buffer_min = VALUES(after_buffer_min), minimum_notice_min = VALUES(minimum_notice_min), "
              "slot_interval_min = VALUES(slot_interval_min), cal_schedule_id = VALUES(cal_schedule_id), "
              "locations_json = VALUES(locations_json), booking_fields_json = VALUES(booking_fields_json), "
              "limits_json = VALUES(limits_json), price_minor = VALUES(price_minor), currency = VALUES(currency), "
              "hidden = VALUES(hidden), refund_policy = VALUES(refund_policy), synced_at = CURRENT_TIMESTAMP(3)",
          {e.user_id, e.cal_event_type_id, e.title, e.slug, e.description, int64_t(e.length_min),
           int64_t(e.before_buffer_min), int64_t(e.after_buffer_min), int64_t(e.minimum_notice_min),
           e.slot_interval_min ? db::Param(int64_t(e.slot_interval_min)) : db::null(),
           e.cal_schedule_id ? db::Param(e.cal_schedule_id) : db::null(), json::write(e.locations),
           json::write(e.booking_fields), json::write(e.limits), e.price_minor, e.currency, int64_t(e.hidden),
           e.refund_policy.empty() ? db::null() : db::Param(e.refund_policy)});
}

Error field_error(const std::string& msg) { return make_error(400, "invalid_field", msg); }

bool valid_slug(const std::string& s) {
  if (s.empty() || s.size() > 100) return false;
  for (char ch : s)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '-'))
      return false;
  return true;
}

/* Validates our session-type input and builds the Cal.com body. */
Result<Json::Value> event_body(const Json::Value& in, bool is_create, int64_t* price_minor, std::string* currency,
                               std::string* refund_policy) {
  if (!in.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  Json::Value out(Json::objectValue);
  auto take_str = [&](const char* f, size_t max, bool required) -> Status {
    auto v = json::get_string(in, f, required && is_create, max);
    if (!v) return v.error();
    if (in.isMember(f)) out[f] = *v;
    return ok_status();
  };
  auto take_int = [&](const char* f, int lo, int hi, bool required) -> Status {
    auto v = json::get_int(in, f, required && is_create, 0);
    if (!v) return v.error();
    if (in.isMember(f) && !in[f].isNull()) {
      if (*v < lo || *v > hi)
        return field_error(std::string("Field '") + f + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      out[f] = Json::Int64(*v);
    }
    return ok_status();
  };
  for (auto s : {take_str("title", 255, true), take_str("slug", 100, true), take_str("description", 5000, false),
                 take_int("lengthInMinutes", 5, 720, true), take_int("beforeEventBuffer", 0, 240, false),
                 take_int("afterEventBuffer", 0, 240, false), take_int("minimumBookingNotice", 0, 60 * 24 * 60, false),
                 take_int("slotInterval", 5, 720, false), take_int("scheduleId", 1, 2000000000, false)})
    if (!s) return s.error();
  if (out.isMember("slug") && !valid_slug(out["slug"].asString()))
    return field_error("Field 'slug' may only hold lower-case letters, digits and '-'");
  if (in.isMember("location")) {
    std::string loc = in["location"].isString() ? in["location"].asString() : "?";
    Json::Value locs(Json::arrayValue);
    if (loc == "zoom" || loc == "cal-video" || loc == "google-meet") {
      Json::Value l;
      l["type"] = "integration";
      l["integration"] = loc;
      locs.append(l);
    } else if (!loc.empty()) {
      return field_error("Field 'location' must be zoom, cal-video or google-meet");
    }
    out["locations"] = locs;
  }
  if (in.isMember("bookingFields")) {
    if (!in["bookingFields"].isArray()) return field_error("Field 'bookingFields' must be an array");
    static const std::vector<std::string> types = {"phone", "address", "text", "number", "textarea", "select",
                                                   "multiselect", "multiemail", "checkbox", "radio", "boolean", "url"};
    for (const auto& f : in["bookingFields"]) {
      std::string t = json::str(f, "type"), slug = json::str(f, "slug"), label = json::str(f, "label");
      if (std::find(types.begin(), types.end(), t) == types.end())
        return field_error("bookingFields: unknown type '" + t + "'");
      if (!valid_slug(slug)) return field_error("bookingFields: slug '" + slug + "' is not valid");
      if (label.empty()) return field_error("bookingFields: field '" + slug + "' needs a label");
    }
    // Cal.com's DTO wants these on every custom field.
    Json::Value fields(Json::arrayValue);
    for (Json::Value f : in["bookingFields"]) {
      if (!f.isMember("hidden")) f["hidden"] = false;
      if (!f.isMember("placeholder")) f["placeholder"] = "";
      if (!f.isMember("required")) f["required"] = false;
      fields.append(f);
    }
    out["bookingFields"] = fields;
  }
  for (const char* f : {"bookingLimitsCount", "bookingWindow"})
    if (in.isMember(f)) {
      if (!in[f].isObject()) return field_error(std::string("Field '") + f + "' must be an object");
      out[f] = in[f];
    }
  if (in.isMember("hidden")) {
    if (!in["hidden"].isBool()) return field_error("Field 'hidden' must be true or false");
    out["hidden"] = in["hidden"];
  }
  if (in.isMember("priceMinor")) {
    if (!in["priceMinor"].isInt64() || in["priceMinor"].asInt64() < 0 || in["priceMinor"].asInt64() > 100000000)
      return field_error("Field 'priceMinor' must be a whole number of minor units (0 to 100000000)");
    *price_minor = in["priceMinor"].asInt64();
  }
  if (in.isMember("currency")) {
    std::string cur = in["currency"].isString() ? in["currency"].asString() : "";
    if (cur.size() != 3 || !std::all_of(cur.begin(), cur.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); }))
      return field_error("Field 'currency' must be a three-letter ISO 4217 code");
    std::transform(cur.begin(), cur.end(), cur.begin(), [](unsigned char ch) { return std::toupper(ch); });
    *currency = cur;
  }
  if (in.isMember("refundPolicy")) {
    const Json::Value& rp = in["refundPolicy"];
    if (!rp.isNull() && !rp.isString()) return field_error("Field 'refundPolicy' must be a text like 24h:100,2h:50, none, or null");
    std::string text;
    for (char ch : rp.isString() ? rp.asString() : std::string())
      if (!std::isspace(static_cast<unsigned char>(ch))) text += ch;
    if (text.size() > 200) return field_error("Field 'refundPolicy' is too long (at most 200 characters)");
    if (!text.empty())
      if (auto p = payments::parse_policy(text); !p) return field_error("Field 'refundPolicy': " + p.error().message);
    *refund_policy = text;
  }
  return out;
}

}  // namespace

void bump_version(db::Db& db, int64_t uid) {
  db.exec("INSERT INTO coach_cache_version (user_id, version) VALUES (?, 2) "
          "ON DUPLICATE KEY UPDATE version = version + 1", {uid});
}

int64_t current_version(db::Db& db, int64_t uid) {
  auto r = db.query_one("SELECT version FROM coach_cache_version WHERE user_id = ?", {uid});
  return r ? r->i64("version") : 1;
}

Json::Value to_json(const ScheduleRow& s) {
  Json::Value v;
  v["id"] = Json::Int64(s.cal_schedule_id);
  v["name"] = s.name;
  v["timeZone"] = s.time_zone;
  v["isDefault"] = s.is_default;
  v["availability"] = s.availability;
  v["overrides"] = s.overrides;
  return v;
}

Json::Value to_json(const EventTypeRow& e) {
  Json::Value v;
  v["id"] = Json::Int64(e.cal_event_type_id);
  v["title"] = e.title;
  v["slug"] = e.slug;
  v["description"] = e.description;
  v["lengthInMinutes"] = e.length_min;
  v["beforeEventBuffer"] = e.before_buffer_min;
  v["afterEventBuffer"] = e.after_buffer_min;
  v["minimumBookingNotice"] = e.minimum_notice_min;
  v["slotInterval"] = e.slot_interval_min ? Json::Value(e.slot_interval_min) : Json::Value();
  v["scheduleId"] = e.cal_schedule_id ? Json::Value(Json::Int64(e.cal_schedule_id)) : Json::Value();
  v["locations"] = e.locations;
  v["bookingFields"] = e.booking_fields;
  for (const auto& k : e.limits.getMemberNames()) v[k] = e.limits[k];
  v["priceMinor"] = Json::Int64(e.price_minor);
  v["currency"] = e.currency;
  v["refundPolicy"] = e.refund_policy.empty() ? Json::Value() : Json::Value(e.refund_policy);
  v["hidden"] = e.hidden;
  return v;
}

std::vector<ScheduleRow> list_schedules(db::Db& db, int64_t uid) {
  std::vector<ScheduleRow> out;
  for (const auto& r : db.query("SELECT cal_schedule_id, name, time_zone, is_default, availability_json, overrides_json "
                                "FROM CalSchedule WHERE user_id = ? ORDER BY is_default DESC, cal_schedule_id", {uid}))
    out.push_back(schedule_from_row(r));
  return out;
}

Result<std::vector<ScheduleRow>> sync_schedules(Ctx& c, int64_t uid) {
  auto r = as_coach(c, uid, "GET", "/v2/schedules", nullptr, kScheduleApiVersion);
  if (!r) return r.error();
  const Json::Value& data = (*r)["data"];
  if (!data.isArray()) return make_error(502, "cal_bad_response", "Cal.com schedule list is not an array");
  std::vector<ScheduleRow> fresh;
  for (const auto& d : data) fresh.push_back(schedule_from_cal(d));
  c.db.transaction([&](db::Db& tx) {
    std::string before;
    for (const auto& s : list_schedules(tx, uid)) before += json::write(to_json(s));
    std::string keep = "0";
    for (const auto& s : fresh) {
      upsert_schedule(tx, uid, s);
      keep += "," + std::to_string(s.cal_schedule_id);
    }
    // Ids are numbers we produced: safe to inline.
    tx.exec("DELETE FROM CalSchedule WHERE user_id = ? AND cal_schedule_id NOT IN (" + keep + ")", {uid});
    std::string after;
    for (const auto& s : list_schedules(tx, uid)) after += json::write(to_json(s));
    if (before != after) bump_version(tx, uid);
  });
  return list_schedules(c.db, uid);
}

Result<ScheduleRow> create_schedule(Ctx& c, int64_t uid, const Json::Value& input) {
  if (!input.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  auto name = json::get_string(input, "name", true, 200);
  if (!name) return name.error();
  auto tz = json::get_string(input, "timeZone", true, 64);
  if (!tz) return tz.error();
  Json::Value body = input;
  if (!body.isMember("isDefault")) body["isDefault"] = false;
  if (!body["isDefault"].isBool()) return field_error("Field 'isDefault' must be true or false");
  if (!body.isMember("availability")) {
    // Cal.com's default: Mon-Fri 09:00-17:00.
    Json::Value rule;
    for (const char* d : {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}) rule["days"].append(d);
    rule["startTime"] = "09:00";
    rule["endTime"] = "17:00";
    body["availability"].append(rule);
  }
  if (!body.isMember("overrides")) body["overrides"] = Json::Value(Json::arrayValue);
  auto valid = slots::schedule_from_calcom_json(body);
  if (!valid) return valid.error();
  Json::Value clean;
  for (const char* k : {"name", "timeZone", "isDefault", "availability", "overrides"}) clean[k] = body[k];
  auto r = as_coach(c, uid, "POST", "/v2/schedules", &clean, kScheduleApiVersion);
  if (!r) return r.error();
  ScheduleRow s = schedule_from_cal((*r)["data"]);
  if (s.cal_schedule_id <= 0) return make_error(502, "cal_bad_response", "Cal.com did not return the schedule id");
  c.db.transaction([&](db::Db& tx) {
    upsert_schedule(tx, uid, s);
    bump_version(tx, uid);
  });
  return s;
}

Result<ScheduleRow> update_schedule(Ctx& c, int64_t uid, int64_t sid, const Json::Value& patch) {
  if (!patch.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  auto mine = c.db.query_one("SELECT cal_schedule_id, name, time_zone, is_default, availability_json, overrides_json "
                             "FROM CalSchedule WHERE user_id = ? AND cal_schedule_id = ?", {uid, sid});
  if (!mine) return make_error(404, "unknown_schedule", "No schedule " + std::to_string(sid) + " for this coach");
  // Validate the schedule as it will be after the patch (lists replace).
  ScheduleRow cur = schedule_from_row(*mine);
  Json::Value merged = to_json(cur);
  Json::Value clean(Json::objectValue);
  for (const char* k : {"name", "timeZone", "isDefault", "availability", "overrides"})
    if (patch.isMember(k)) merged[k] = clean[k] = patch[k];
  if (clean.empty()) return field_error("Nothing to change: send name, timeZone, isDefault, availability or overrides");
  if (clean.isMember("name") && (!clean["name"].isString() || clean["name"].asString().empty()))
    return field_error("Field 'name' must be a non-empty string");
  if (clean.isMember("isDefault") && !clean["isDefault"].isBool()) return field_error("Field 'isDefault' must be true or false");
  auto valid = slots::schedule_from_calcom_json(merged);
  if (!valid) return valid.error();
  auto r = as_coach(c, uid, "PATCH", "/v2/schedules/" + std::to_string(sid), &clean, kScheduleApiVersion);
  if (!r) return r.error();
  ScheduleRow s = schedule_from_cal((*r)["data"]);
  if (s.cal_schedule_id <= 0) s.cal_schedule_id = sid;
  c.db.transaction([&](db::Db& tx) {
    upsert_schedule(tx, uid, s);
    bump_version(tx, uid);
  });
  return s;
}

Status delete_schedule(Ctx& c, int64_t uid, int64_t sid) {
  auto mine = c.db.query_one("SELECT is_default FROM CalSchedule WHERE user_id = ? AND cal_schedule_id = ?", {uid, sid});
  if (!mine) return make_error(404, "unknown_schedule", "No schedule " + std::to_string(sid) + " for this coach");
  if (mine->i64("is_default")) return make_error(409, "default_schedule", "The default schedule cannot be deleted; make another one the default first");
  auto r = as_coach(c, uid, "DELETE", "/v2/schedules/" + std::to_string(sid), nullptr, kScheduleApiVersion);
  if (!r && r.error().code != "cal_bad_request" && r.error().code != "cal_not_found") return r.error();
  c.db.transaction([&](db::Db& tx) {
    tx.exec("DELETE FROM CalSchedule WHERE user_id = ? AND cal_schedule_id = ?", {uid, sid});
    bump_version(tx, uid);
  });
  return ok_status();
}

std::vector<EventTypeRow> list_event_types(db::Db& db, int64_t uid) {
  std::vector<EventTypeRow> out;
  for (const auto& r : db.query(std::string("SELECT ") + kEventCols + " FROM EventType WHERE user_id = ? ORDER BY length_min, title", {uid}))
    out.push_back(event_from_row(r));
  return out;
}

std::optional<EventTypeRow> find_event_type(db::Db& db, int64_t cal_id) {
  auto r = db.query_one(std::string("SELECT ") + kEventCols + " FROM EventType WHERE cal_event_type_id = ?", {cal_id});
  if (!r) return std::nullopt;
  return event_from_row(*r);
}

Result<std::vector<EventTypeRow>> sync_event_types(Ctx& c, int64_t uid) {
  auto r = as_coach(c, uid, "GET", "/v2/event-types", nullptr, kEventTypeApiVersion);
  if (!r) return r.error();
  const Json::Value& data = (*r)["data"];
  if (!data.isArray()) return make_error(502, "cal_bad_response", "Cal.com event type list is not an array");
  c.db.transaction([&](db::Db& tx) {
    std::string before;
    for (const auto& e : list_event_types(tx, uid)) before += json::write(to_json(e));
    std::string keep = "0";
    for (const auto& d : data) {
      int64_t id = json::num(d, "id");
      if (id <= 0) continue;
      upsert_event(tx, event_from_cal(d, uid, find_event_type(tx, id)));
      keep += "," + std::to_string(id);
    }
    tx.exec("DELETE FROM EventType WHERE user_id = ? AND cal_event_type_id NOT IN (" + keep + ")", {uid});
    std::string after;
    for (const auto& e : list_event_types(tx, uid)) after += json::write(to_json(e));
    if (before != after) bump_version(tx, uid);
  });
  return list_event_types(c.db, uid);
}

Result<EventTypeRow> create_event_type(Ctx& c, int64_t uid, const Json::Value& input) {
  int64_t price = 0;
  std::string currency = "USD", refund_policy;
  auto body = event_body(input, true, &price, &currency, &refund_policy);
  if (!body) return body.error();
  if (body->isMember("scheduleId") &&
      !c.db.query_one("SELECT id FROM CalSchedule WHERE user_id = ? AND cal_schedule_id = ?", {uid, (*body)["scheduleId"].asInt64()}))
    return field_error("Field 'scheduleId' is not one of this coach's schedules");
  if (c.db.query_one("SELECT id FROM EventType WHERE user_id = ? AND slug = ?", {uid, (*body)["slug"].asString()}))
    return make_error(409, "duplicate_slug", "You already have a session type with this slug");
  auto r = as_coach(c, uid, "POST", "/v2/event-types", &*body, kEventTypeApiVersion);
  if (!r) return r.error();
  EventTypeRow e = event_from_cal((*r)["data"], uid, std::nullopt);
  if (e.cal_event_type_id <= 0) return make_error(502, "cal_bad_response", "Cal.com did not return the event type id");
  e.price_minor = price;
  e.currency = currency;
  e.refund_policy = refund_policy;
  c.db.transaction([&](db::Db& tx) {
    upsert_event(tx, e);
    bump_version(tx, uid);
  });
  return e;
}

Result<EventTypeRow> update_event_type(Ctx& c, int64_t uid, int64_t id, const Json::Value& patch) {
  auto cur = find_event_type(c.db, id);
  if (!cur || cur->user_id != uid) return make_error(404, "unknown_event_type", "No session type " + std::to_string(id) + " for this coach");
  int64_t price = cur->price_minor;
  std::string currency = cur->currency, refund_policy = cur->refund_policy;
  auto body = event_body(patch, false, &price, &currency, &refund_policy);
  if (!body) return body.error();
  if (body->isMember("scheduleId") &&
      !c.db.query_one("SELECT id FROM CalSchedule WHERE user_id = ? AND cal_schedule_id = ?", {uid, (*body)["scheduleId"].asInt64()}))
    return field_error("Field 'scheduleId' is not one of this coach's schedules");
  EventTypeRow e = *cur;
  if (!body->empty()) {
    auto r = as_coach(c, uid, "PATCH", "/v2/event-types/" + std::to_string(id), &*body, kEventTypeApiVersion);
    if (!r) return r.error();
    e = event_from_cal((*r)["data"], uid, cur);
    if (e.cal_event_type_id <= 0) e.cal_event_type_id = id;
  }
  e.price_minor = price;
  e.currency = currency;
  e.refund_policy = refund_policy;
  c.db.transaction([&](db::Db& tx) {
    upsert_event(tx, e);
    bump_version(tx, uid);
  });
  return e;
}

Status delete_event_type(Ctx& c, int64_t uid, int64_t id) {
  auto cur = find_event_type(c.db, id);
  if (!cur || cur->user_id != uid) return make_error(404, "unknown_event_type", "No session type " + std::to_string(id) + " for this coach");
  auto r = as_coach(c, uid, "DELETE", "/v2/event-types/" + std::to_string(id), nullptr, kEventTypeApiVersion);
  if (!r && r.error().code != "cal_not_found") return r.error();
  c.db.transaction([&](db::Db& tx) {
    tx.exec("DELETE FROM EventType WHERE cal_event_type_id = ?", {id});
    bump_version(tx, uid);
  });
  return ok_status();
}

Status sync_coach(Ctx& c, int64_t uid) {
  auto s = sync_schedules(c, uid);
  if (!s) return s.error();
  auto e = sync_event_types(c, uid);
  if (!e) return e.error();
  return ok_status();
}

namespace {

/* Cal.com's window rules: a date-only start is 00:00:00Z, a date-only end (or
 * an end at exactly midnight) is 23:59:59Z of that date. */
Result<slots::Instant> parse_bound(const std::string& s, bool is_end, const char* field) {
  if (s.empty()) return make_error(400, "invalid_window", std::string("Missing '") + field + "'");
  std::string iso = s.size() == 10 ? s + (is_end ? "T23:59:59Z" : "T00:00:00Z") : s;
  auto t = slots::parse_iso(iso);
  if (!t) return make_error(400, "invalid_time", std::string("'") + field + "' must be a date (YYYY-MM-DD) or an ISO 8601 time");
  if (is_end && s.size() != 10 && t->time_since_epoch().count() % 86400 == 0) *t += std::chrono::seconds(86399);
  return *t;
}

Json::Value days_from_calcom(const Json::Value& data) {
  Json::Value days(Json::arrayValue);
  if (!data.isObject()) return days;
  std::vector<std::string> dates = data.getMemberNames();
  std::sort(dates.begin(), dates.end());
  for (const auto& d : dates) {
    Json::Value day;
    day["date"] = d;
    day["slots"] = Json::Value(Json::arrayValue);
    for (const auto& s : data[d]) {
      Json::Value slot;
      slot["start"] = s.isString() ? s.asString() : json::str(s, "start");
      slot["end"] = json::str(s, "end");
      day["slots"].append(slot);
    }
    days.append(day);
  }
  return days;
}

/* The local slot engine over our mirror: the degraded answer. */
Result<Json::Value> compute_locally(Ctx& c, const EventTypeRow& et, const SlotQuery& q, slots::Instant from,
                                    slots::Instant to) {
  std::optional<db::Row> srow;
  if (et.cal_schedule_id)
    srow = c.db.query_one("SELECT cal_schedule_id, name, time_zone, is_default, availability_json, overrides_json "
                          "FROM CalSchedule WHERE cal_schedule_id = ?", {et.cal_schedule_id});
  if (!srow)
    srow = c.db.query_one("SELECT cal_schedule_id, name, time_zone, is_default, availability_json, overrides_json "
                          "FROM CalSchedule WHERE user_id = ? ORDER BY is_default DESC, cal_schedule_id LIMIT 1",
                          {q.coach_user_id});
  if (!srow) return make_error(503, "availability_unavailable", "Cal.com is unavailable and no schedule is mirrored for this coach yet");
  ScheduleRow sr = schedule_from_row(*srow);
  auto sched = slots::schedule_from_calcom_json(to_json(sr));
  if (!sched) return sched.error();
  slots::EventRules rules;
  rules.event_type_id = et.cal_event_type_id;
  rules.length_min = et.length_min;
  rules.slot_interval_min = et.slot_interval_min;
  rules.before_buffer_min = et.before_buffer_min;
  rules.after_buffer_min = et.after_buffer_min;
  rules.minimum_notice_min = et.minimum_notice_min;
  const Json::Value& lim = et.limits["bookingLimitsCount"];
  rules.limit_per_day = static_cast<int>(json::num(lim, "day"));
  rules.limit_per_week = static_cast<int>(json::num(lim, "week"));
  rules.limit_per_month = static_cast<int>(json::num(lim, "month"));
  rules.limit_per_year = static_cast<int>(json::num(lim, "year"));
  const Json::Value& win = et.limits["bookingWindow"];
  if (win.isObject() && json::str(win, "type") == "calendarDays") rules.booking_window_days = static_cast<int>(json::num(win, "value"));
  std::vector<slots::Busy> busy;
  for (const auto& b : c.db.query(
           "SELECT b.cal_uid, b.cal_event_type_id, UNIX_TIMESTAMP(b.start_utc) AS s, UNIX_TIMESTAMP(b.end_utc) AS e, "
           "COALESCE(t.before_buffer_min, 0) AS bb, COALESCE(t.after_buffer_min, 0) AS ab FROM CalBooking b "
           "LEFT JOIN EventType t ON t.cal_event_type_id = b.cal_event_type_id "
           "WHERE b.coach_user_id = ? AND b.status = 'accepted' AND b.end_utc > FROM_UNIXTIME(?) AND b.start_utc < FROM_UNIXTIME(?)",
           {q.coach_user_id, int64_t(from.time_since_epoch().count() - 86400 * 366),
            int64_t(to.time_since_epoch().count() + 86400 * 366)})) {
    slots::Busy x;
    x.uid = b.str("cal_uid");
    x.event_type_id = b.i64("cal_event_type_id");
    x.start = slots::Instant(std::chrono::seconds(b.i64("s")));
    x.end = slots::Instant(std::chrono::seconds(b.i64("e")));
    x.before_buffer_min = static_cast<int>(b.i64("bb"));
    x.after_buffer_min = static_cast<int>(b.i64("ab"));
    busy.push_back(x);
  }
  slots::Query sq;
  sq.start = from;
  sq.end = to;
  sq.view_zone = q.time_zone;
  sq.duration_min = q.duration_min;
  sq.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto days = slots::compute(*sched, rules, busy, {}, sq);
  if (!days) return days.error();
  Json::Value out(Json::arrayValue);
  for (const auto& d : *days) {
    Json::Value day;
    day["date"] = d.date;
    day["slots"] = Json::Value(Json::arrayValue);
    for (const auto& s : d.slots) {
      Json::Value slot;
      slot["start"] = slots::format_iso(s.start, q.time_zone);
      slot["end"] = slots::format_iso(s.end, q.time_zone);
      day["slots"].append(slot);
    }
    out.append(day);
  }
  return out;
}

}  // namespace

Result<SlotAnswer> free_slots(Ctx& c, const SlotQuery& q) {
  if (!slots::is_valid_zone(q.time_zone)) return make_error(400, "invalid_time_zone", "Unknown time zone '" + q.time_zone + "'");
  auto from = parse_bound(q.start, false, "start");
  if (!from) return from.error();
  auto to = parse_bound(q.end, true, "end");
  if (!to) return to.error();
  if (*to <= *from) return make_error(400, "invalid_window", "'end' must be after 'start'");
  if (*to - *from > std::chrono::hours(24 * 62)) return make_error(400, "invalid_window", "The window may span at most 62 days");
  if (q.duration_min < 0 || q.duration_min > 720) return make_error(400, "invalid_field", "'duration' must be between 1 and 720 minutes");
  SlotAnswer ans;
  ans.window_start = slots::format_iso(*from, "UTC");
  ans.window_end = slots::format_iso(*to, "UTC");
  const std::string key = crypto::hex_encode(crypto::sha256(
      std::to_string(q.coach_user_id) + "|" + std::to_string(q.cal_event_type_id) + "|" + ans.window_start + "|" +
      ans.window_end + "|" + q.time_zone + "|" + std::to_string(q.duration_min)));
  // Warm path: one query. An entry exists only for a coach and session type
  // that were valid when it was stored, and every change since (a deleted
  // session type, a booking, a disconnect) bumped the version it must match.
  if (auto hit = c.db.query_one(
          "SELECT s.body FROM slot_cache s LEFT JOIN coach_cache_version v ON v.user_id = s.user_id "
          "WHERE s.cache_key = ? AND s.version = COALESCE(v.version, 1) AND s.expires_at > CURRENT_TIMESTAMP(3)",
          {key})) {
    ans.days = parse_or(hit->str("body"), Json::arrayValue);
    ans.source = "cache";
    return ans;
  }
  auto coach = c.db.query_one("SELECT u.id FROM users u JOIN CalendarIntegration ci ON ci.user_id = u.id "
                              "WHERE u.id = ? AND u.role = 'coach' AND ci.status = 'active'", {q.coach_user_id});
  if (!coach) return make_error(404, "unknown_coach", "No bookable coach with id " + std::to_string(q.coach_user_id));
  auto et = find_event_type(c.db, q.cal_event_type_id);
  if (!et || et->user_id != q.coach_user_id)
    return make_error(404, "unknown_event_type", "This coach has no session type " + std::to_string(q.cal_event_type_id));
  const int64_t version = current_version(c.db, q.coach_user_id);
  std::string path = "/v2/slots?eventTypeId=" + std::to_string(q.cal_event_type_id) + "&start=" + url_encode(ans.window_start) +
                     "&end=" + url_encode(ans.window_end) + "&timeZone=" + url_encode(q.time_zone) + "&format=range";
  if (q.duration_min) path += "&duration=" + std::to_string(q.duration_min);
  // Slots are public in Cal.com: no coach token needed, and a short timeout
  // so a slow Cal.com degrades to the local answer instead of hanging.
  calcom::Settings fast = calcom::settings_from(c.cfg);
  fast.timeout_ms = std::min<long>(fast.timeout_ms, 2500);
  calcom::Client quick(fast);
  auto r = quick.call("GET", path, nullptr, "", kSlotsApiVersion);
  if (r) {
    ans.days = days_from_calcom((*r)["data"]);
    ans.source = "calcom";
    c.db.exec("REPLACE INTO slot_cache (cache_key, user_id, version, body, expires_at) "
              "VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL 60 SECOND)",
              {key, q.coach_user_id, version, json::write(ans.days)});
    return ans;
  }
  const std::string& code = r.error().code;
  if (code != "cal_unreachable" && code != "cal_unavailable" && code != "cal_bad_response") return r.error();
  log::warn("slots: Cal.com failed, answering from the local engine",
            {{"coach", std::to_string(q.coach_user_id)}, {"error", r.error().message}});
  auto local = compute_locally(c, *et, q, *from, *to);
  if (!local) return local.error();
  ans.days = *local;
  ans.source = "local";
  ans.degraded = true;
  return ans;
}

}  // namespace coach::availability
