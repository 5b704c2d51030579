/* calcom_event_types.hpp: /v2/event-types (cal-api-version 2024-06-14),
 * reference §4 of shared/reference/calcom-api-v2.md, shapes from
 * EventTypeOutput_2024_06_14 in calcom-openapi-v2.json.
 *
 * Every input property is validated (class-validator envelope on type
 * errors), stored in EventType::props in its output form and echoed back.
 * Objects that accept {"disabled": true} (bookingLimitsCount,
 * bookingLimitsDuration, bookerActiveBookingsLimit, bookingWindow,
 * confirmationPolicy, recurrence, seats) are reset by it. bookingFields
 * always carry the system fields (name, email, location, title, notes,
 * guests, rescheduleReason) ahead of the custom ones. An integration location
 * other than cal-video needs the app connected first (POST
 * /_emulator/connect-app), else 400 "`zoom` not connected.".
 *
 * Deviations from the OpenAPI document, following the live API instead:
 * bookingWindow is returned as the object that was sent (the spec types it as
 * an array), and users[] holds user objects (the spec says strings). */
#pragma once
#include "calcom_schedules.hpp"

namespace calcom_emu {

inline const std::vector<std::string>& event_type_api_versions() {
  static const std::vector<std::string> v = {"2024-06-14"};
  return v;
}

inline const std::vector<std::string>& location_integrations() {
  static const std::vector<std::string> v = {
      "cal-video", "google-meet", "zoom", "whereby-video", "whatsapp-video", "webex-video",
      "telegram-video", "tandem", "sylaps-video", "skype-video", "sirius-video", "signal-video",
      "shimmer-video", "salesroom-video", "roam-video", "riverside-video", "ping-video",
      "office365-video", "mirotalk-video", "jitsi", "jelly-video", "jelly-conferencing", "huddle",
      "facetime-video", "element-call-video", "eightxeight-video", "discord-video", "demodesk-video",
      "campfire-video"};
  return v;
}

/* The stored (internal) location value of an integration, as bookings and
 * webhooks show it: zoom -> "integrations:zoom", cal-video ->
 * "integrations:daily", google-meet -> "integrations:google:meet". */
inline std::string integration_location_value(const std::string& integration) {
  if (integration == "cal-video") return "integrations:daily";
  if (integration == "google-meet") return "integrations:google:meet";
  if (integration == "office365-video") return "integrations:office365_video";
  return "integrations:" + integration;
}

/* ------------------------------------------------------ booking fields */

inline const std::vector<std::string>& custom_field_types() {
  static const std::vector<std::string> v = {"phone", "address", "text", "number", "textarea", "select",
                                             "multiselect", "multiemail", "checkbox", "radio", "boolean", "url"};
  return v;
}

inline bool field_type_has_options(const std::string& t) {
  return t == "select" || t == "multiselect" || t == "checkbox" || t == "radio";
}

inline bool field_type_needs_placeholder(const std::string& t) {
  return t != "multiselect" && t != "checkbox" && t != "radio" && t != "boolean";
}

/* The system fields every event type's form has, in Cal.com's order. */
inline Json::Value system_booking_fields() {
  auto field = [](const char* type, const char* slug, bool required, bool hidden, const char* label,
                  const char* placeholder) {
    Json::Value f(Json::objectValue);
    f["type"] = type;
    f["slug"] = slug;
    f["isDefault"] = true;
    f["required"] = required;
    f["hidden"] = hidden;
    f["label"] = label;
    if (placeholder) {
      f["placeholder"] = placeholder;
      f["disableOnPrefill"] = false;
    }
    return f;
  };
  Json::Value a(Json::arrayValue);
  a.append(field("name", "name", true, false, "Your name", ""));
  a.append(field("email", "email", true, false, "Email address", ""));
  a.append(field("radioInput", "location", false, false, "Location", nullptr));
  a.append(field("text", "title", true, true, "What is this meeting about?", ""));
  a.append(field("textarea", "notes", false, false, "Additional notes",
                 "Please share anything that will help prepare for our meeting."));
  a.append(field("multiemail", "guests", false, false, "Add guests", ""));
  a.append(field("textarea", "rescheduleReason", false, false, "Reason for reschedule",
                 "Let others know why you need to reschedule"));
  return a;
}

/* bookingFields input -> the output list (system fields, customised by the
 * entries that name them, then the custom fields). */
inline Json::Value parse_booking_fields(BodyChecker& chk, const Json::Value& arr) {
  Json::Value fields = system_booking_fields();
  auto system_index = [&](const std::string& slug) -> int {
    for (Json::ArrayIndex i = 0; i < fields.size(); ++i) {
      if (fields[i]["isDefault"].asBool() && fields[i]["slug"].asString() == slug) return static_cast<int>(i);
    }
    return -1;
  };
  std::set<std::string> custom_slugs;
  for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
    const Json::Value& item = arr[i];
    const std::string idx = std::to_string(i);
    auto err = [&](const char* prop, const std::string& constraint, const std::string& msg) {
      chk.add_nested({"bookingFields", idx, prop}, item.isMember(prop) ? &item[prop] : nullptr, constraint, msg);
    };
    if (!item.isObject()) {
      chk.add_nested({"bookingFields", idx}, &item, "nestedValidation",
                     "nested property bookingFields must be either object or array");
      continue;
    }
    const std::string type = item["type"].isString() ? item["type"].asString() : "";
    const std::string slug = item["slug"].isString() ? item["slug"].asString() : "";
    // A system field: name/email by type, the others by slug.
    std::string sys;
    if (type == "name" || type == "email") sys = type;
    else if (type.empty() && system_index(slug) >= 0) sys = slug;
    if (!sys.empty()) {
      Json::Value& f = fields[static_cast<Json::ArrayIndex>(system_index(sys))];
      std::vector<std::pair<const char*, char>> allowed;  // property, 's'tring / 'b'oolean
      if (sys == "name") allowed = {{"label", 's'}, {"placeholder", 's'}, {"disableOnPrefill", 'b'}};
      else if (sys == "location") allowed = {{"label", 's'}};
      else allowed = {{"label", 's'}, {"placeholder", 's'}, {"disableOnPrefill", 'b'}, {"required", 'b'}, {"hidden", 'b'}};
      for (const auto& [prop, kind] : allowed) {
        if (!item.isMember(prop) || item[prop].isNull()) continue;
        if (kind == 's' && !item[prop].isString()) { err(prop, "isString", std::string(prop) + " must be a string"); continue; }
        if (kind == 'b' && !item[prop].isBool()) { err(prop, "isBoolean", std::string(prop) + " must be a boolean value"); continue; }
        f[prop] = item[prop];
      }
      continue;
    }
    const auto& types = custom_field_types();
    if (std::find(types.begin(), types.end(), type) == types.end()) {
      err("type", "isIn", "type must be one of the following values: name, email, " + join(types, ", ") +
                              " (or slug one of: title, location, notes, guests, rescheduleReason)");
      continue;
    }
    bool ok = true;
    if (slug.empty()) { err("slug", "isString", "slug must be a string"); ok = false; }
    if (!item["label"].isString()) { err("label", "isString", "label must be a string"); ok = false; }
    for (const char* b : {"required", "hidden"}) {
      if (!item[b].isBool()) { err(b, "isBoolean", std::string(b) + " must be a boolean value"); ok = false; }
    }
    if (field_type_needs_placeholder(type) && !item["placeholder"].isString()) {
      err("placeholder", "isString", "placeholder must be a string");
      ok = false;
    }
    if (field_type_has_options(type)) {
      bool opts_ok = item["options"].isArray();
      if (opts_ok) for (const auto& o : item["options"]) if (!o.isString()) opts_ok = false;
      if (!opts_ok) { err("options", "isArray", "each value in options must be a string"); ok = false; }
    }
    if (item.isMember("disableOnPrefill") && !item["disableOnPrefill"].isBool()) {
      err("disableOnPrefill", "isBoolean", "disableOnPrefill must be a boolean value");
      ok = false;
    }
    if (!ok) continue;
    if (system_index(slug) >= 0 || !custom_slugs.insert(slug).second) {
      err("slug", "isUnique", "booking field slug \"" + slug + "\" is used more than once");
      continue;
    }
    Json::Value f(Json::objectValue);
    f["type"] = type;
    f["slug"] = slug;
    f["label"] = item["label"];
    f["required"] = item["required"];
    f["hidden"] = item["hidden"];
    if (item.isMember("placeholder") && item["placeholder"].isString()) f["placeholder"] = item["placeholder"];
    if (field_type_has_options(type)) f["options"] = item["options"];
    f["disableOnPrefill"] = item.get("disableOnPrefill", false);
    f["isDefault"] = false;
    fields.append(f);
  }
  return fields;
}

/* ------------------------------------------------------------ locations */

/* locations[] input (InputXxxLocation_2024_06_14) -> output form. */
inline Json::Value parse_locations(BodyChecker& chk, const Json::Value& arr) {
  Json::Value out(Json::arrayValue);
  static const std::vector<std::string> types = {"integration", "link", "address", "phone",
                                                 "attendeeAddress", "attendeePhone", "attendeeDefined"};
  for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
    const Json::Value& item = arr[i];
    const std::string idx = std::to_string(i);
    auto err = [&](const char* prop, const std::string& constraint, const std::string& msg) {
      chk.add_nested({"locations", idx, prop}, item.isObject() && item.isMember(prop) ? &item[prop] : nullptr,
                     constraint, msg);
    };
    if (!item.isObject()) {
      chk.add_nested({"locations", idx}, &item, "nestedValidation",
                     "nested property locations must be either object or array");
      continue;
    }
    const std::string type = item["type"].isString() ? item["type"].asString() : "";
    if (std::find(types.begin(), types.end(), type) == types.end()) {
      err("type", "isIn", "type must be one of the following values: " + join(types, ", "));
      continue;
    }
    Json::Value loc(Json::objectValue);
    loc["type"] = type;
    bool ok = true;
    if (type == "integration") {
      const auto& ints = location_integrations();
      if (!item["integration"].isString() ||
          std::find(ints.begin(), ints.end(), item["integration"].asString()) == ints.end()) {
        err("integration", "isIn", "integration must be one of the following values: " + join(ints, ", "));
        ok = false;
      } else {
        loc["integration"] = item["integration"];
      }
    } else if (type == "link" || type == "address" || type == "phone") {
      const char* key = type.c_str();
      if (!item[key].isString() || item[key].asString().empty()) {
        err(key, "isString", type + " must be a string");
        ok = false;
      } else if (type == "link" && !is_http_url(item[key].asString())) {
        err(key, "isUrl", "link must be a URL address");
        ok = false;
      } else {
        loc[key] = item[key];
      }
      if (!item["public"].isBool()) {
        err("public", "isBoolean", "public must be a boolean value");
        ok = false;
      } else {
        loc["public"] = item["public"];
      }
    }
    if (ok) out.append(loc);
  }
  return out;
}

/* Cal Video when an event type has no locations. */
inline Json::Value default_locations() {
  Json::Value a(Json::arrayValue);
  Json::Value l(Json::objectValue);
  l["type"] = "integration";
  l["integration"] = "cal-video";
  a.append(l);
  return a;
}

/* --------------------------------------------------------- other objects */

/* {"disabled": true} (Disabled_2024_06_14). */
inline bool is_disabled_object(const Json::Value& v) {
  return v.isObject() && v.isMember("disabled") && v["disabled"].isBool() && v["disabled"].asBool();
}

/* bookingLimitsCount / bookingLimitsDuration: {day, week, month, year}
 * positive integers (duration: minutes, multiples of 15), ascending. */
inline std::optional<Json::Value> parse_limits(BodyChecker& chk, const char* prop, bool minutes) {
  const Json::Value& v = chk[prop];
  Json::Value out(Json::objectValue);
  int64_t last = 0;
  for (const char* k : {"day", "week", "month", "year"}) {
    if (!v.isMember(k) || v[k].isNull()) continue;
    int64_t n = 0;
    if (!json_is_number(v[k]) || !json_as_int64(v[k], n) || n < 1) {
      chk.add_nested({prop, k}, &v[k], "min", std::string(k) + " must be a positive integer");
      return std::nullopt;
    }
    if (minutes && n % 15 != 0) {
      chk.add_nested({prop, k}, &v[k], "isMultipleOf15", std::string(k) + " must be a multiple of 15 minutes");
      return std::nullopt;
    }
    if (n < last) {
      chk.add(prop, "ascending", std::string(prop) + ": limits must be in ascending order (day <= week <= month <= year)");
      return std::nullopt;
    }
    last = n;
    out[k] = static_cast<Json::Int64>(n);
  }
  return out;
}

/* bookingWindow: {type: businessDays|calendarDays, value: days, rolling?}
 * or {type: range, value: ["YYYY-MM-DD", "YYYY-MM-DD"]}. */
inline std::optional<Json::Value> parse_booking_window(BodyChecker& chk) {
  const Json::Value& v = chk["bookingWindow"];
  const std::string type = v["type"].isString() ? v["type"].asString() : "";
  Json::Value out(Json::objectValue);
  out["type"] = type;
  if (type == "businessDays" || type == "calendarDays") {
    int64_t n = 0;
    if (!json_is_number(v["value"]) || !json_as_int64(v["value"], n) || n < 0) {
      chk.add_nested({"bookingWindow", "value"}, v.isMember("value") ? &v["value"] : nullptr, "isInt",
                     "value must be a non-negative integer number of days");
      return std::nullopt;
    }
    out["value"] = static_cast<Json::Int64>(n);
    if (v.isMember("rolling")) {
      if (!v["rolling"].isBool()) {
        chk.add_nested({"bookingWindow", "rolling"}, &v["rolling"], "isBoolean", "rolling must be a boolean value");
        return std::nullopt;
      }
      out["rolling"] = v["rolling"];
    }
    return out;
  }
  if (type == "range") {
    const Json::Value& r = v["value"];
    if (!r.isArray() || r.size() != 2 || !r[0].isString() || !r[1].isString() || !parse_ymd(r[0].asString()) ||
        !parse_ymd(r[1].asString()) || *parse_ymd(r[1].asString()) < *parse_ymd(r[0].asString())) {
      chk.add_nested({"bookingWindow", "value"}, v.isMember("value") ? &r : nullptr, "isDateRange",
                     "value must be [\"YYYY-MM-DD\", \"YYYY-MM-DD\"] with the start not after the end");
      return std::nullopt;
    }
    out["value"] = r;
    return out;
  }
  chk.add_nested({"bookingWindow", "type"}, v.isMember("type") ? &v["type"] : nullptr, "isEnum",
                 "type must be one of the following values: businessDays, calendarDays, range");
  return std::nullopt;
}

/* confirmationPolicy: {type: always|time, noticeThreshold?: {unit, count},
 * blockUnconfirmedBookingsInBooker: boolean}. */
inline std::optional<Json::Value> parse_confirmation_policy(BodyChecker& chk) {
  const Json::Value& v = chk["confirmationPolicy"];
  const std::string type = v["type"].isString() ? v["type"].asString() : "";
  if (type != "always" && type != "time") {
    chk.add_nested({"confirmationPolicy", "type"}, v.isMember("type") ? &v["type"] : nullptr, "isEnum",
                   "type must be one of the following values: always, time");
    return std::nullopt;
  }
  if (!v["blockUnconfirmedBookingsInBooker"].isBool()) {
    chk.add_nested({"confirmationPolicy", "blockUnconfirmedBookingsInBooker"},
                   v.isMember("blockUnconfirmedBookingsInBooker") ? &v["blockUnconfirmedBookingsInBooker"] : nullptr,
                   "isBoolean", "blockUnconfirmedBookingsInBooker must be a boolean value");
    return std::nullopt;
  }
  Json::Value out(Json::objectValue);
  out["type"] = type;
  out["blockUnconfirmedBookingsInBooker"] = v["blockUnconfirmedBookingsInBooker"];
  if (v.isMember("noticeThreshold") && !v["noticeThreshold"].isNull()) {
    const Json::Value& t = v["noticeThreshold"];
    int64_t n = 0;
    if (!t.isObject() || !t["unit"].isString() || !json_as_int64(t["count"], n) || n < 0) {
      chk.add_nested({"confirmationPolicy", "noticeThreshold"}, &t, "nestedValidation",
                     "noticeThreshold must be {unit: \"minutes\"|\"hours\", count: number}");
      return std::nullopt;
    }
    out["noticeThreshold"] = t;
  }
  return out;
}

/* -------------------------------------------------------------- input */

/* Validates a create/update body into `patch`: property -> new output value,
 * or null to remove the property (a {"disabled": true} reset). */
inline Json::Value parse_event_type_input(BodyChecker& chk, bool is_create) {
  Json::Value patch(Json::objectValue);
  if (auto n = chk.integer("lengthInMinutes", is_create, 1, 24 * 60 * 7)) {
    patch["lengthInMinutes"] = static_cast<Json::Int64>(*n);
  }
  if (auto t = chk.str("title", is_create)) {
    if (trim(*t).empty()) chk.add("title", "isNotEmpty", "title should not be empty");
    else patch["title"] = *t;
  }
  if (auto s = chk.str("slug", is_create)) {
    if (trim(*s).empty()) chk.add("slug", "isNotEmpty", "slug should not be empty");
    else patch["slug"] = *s;
  }
  if (auto d = chk.str("description")) patch["description"] = *d;
  if (const Json::Value* opts = chk.array("lengthInMinutesOptions")) {
    Json::Value o(Json::arrayValue);
    bool ok = true;
    for (const auto& x : *opts) {
      int64_t n = 0;
      bool good = json_is_number(x) ? json_as_int64(x, n) : x.isString() && parse_int64(x.asString(), n);
      if (!good || n < 1) ok = false;
      else o.append(static_cast<Json::Int64>(n));
    }
    if (!ok || o.empty()) {
      chk.add("lengthInMinutesOptions", "isArray", "lengthInMinutesOptions must be a non-empty array of positive integers");
    } else {
      patch["lengthInMinutesOptions"] = o;
    }
  }
  for (const char* k : {"minimumBookingNotice", "beforeEventBuffer", "afterEventBuffer", "offsetStart"}) {
    if (auto n = chk.integer(k, false, 0, 10LL * 365 * 24 * 60)) patch[k] = static_cast<Json::Int64>(*n);
  }
  if (auto n = chk.integer("slotInterval", false, 1, 24 * 60)) patch["slotInterval"] = static_cast<Json::Int64>(*n);
  if (auto n = chk.integer("scheduleId", false, 1, 1LL << 50)) patch["scheduleId"] = static_cast<Json::Int64>(*n);
  for (const char* k : {"disableGuests", "onlyShowFirstAvailableSlot", "requiresBookerEmailVerification",
                        "hideCalendarNotes", "lockTimeZoneToggleOnBookingPage", "useDestinationCalendarEmail",
                        "hideCalendarEventDetails", "hideOrganizerEmail", "hidden", "bookingRequiresAuthentication",
                        "allowReschedulingPastBookings", "allowReschedulingCancelledBookings",
                        "showOptimizedSlots"}) {
    if (auto b = chk.boolean(k)) patch[k] = *b;
  }
  if (auto s = chk.str("customName")) patch["customName"] = *s;
  if (auto s = chk.str("interfaceLanguage")) patch["interfaceLanguage"] = *s;
  if (auto s = chk.str("successRedirectUrl")) {
    if (is_http_url(*s)) patch["successRedirectUrl"] = *s;
    else chk.add("successRedirectUrl", "isUrl", "successRedirectUrl must be a URL address");
  }
  if (const Json::Value* a = chk.array("locations")) patch["locations"] = parse_locations(chk, *a);
  if (const Json::Value* a = chk.array("bookingFields")) patch["bookingFields"] = parse_booking_fields(chk, *a);

  // Objects that {"disabled": true} resets.
  auto resettable = [&](const char* k, const std::function<std::optional<Json::Value>()>& parse) {
    if (!chk.object(k)) return;
    if (is_disabled_object(chk[k])) { patch[k] = Json::Value::null; return; }
    if (auto v = parse()) patch[k] = *v;
  };
  resettable("bookingLimitsCount", [&] { return parse_limits(chk, "bookingLimitsCount", false); });
  resettable("bookingLimitsDuration", [&] { return parse_limits(chk, "bookingLimitsDuration", true); });
  resettable("bookingWindow", [&] { return parse_booking_window(chk); });
  resettable("confirmationPolicy", [&] { return parse_confirmation_policy(chk); });
  resettable("bookerActiveBookingsLimit", [&]() -> std::optional<Json::Value> {
    const Json::Value& v = chk["bookerActiveBookingsLimit"];
    int64_t n = 0;
    if (!json_as_int64(v["maximumActiveBookings"], n) || n < 1) {
      chk.add_nested({"bookerActiveBookingsLimit", "maximumActiveBookings"},
                     v.isMember("maximumActiveBookings") ? &v["maximumActiveBookings"] : nullptr, "min",
                     "maximumActiveBookings must not be less than 1");
      return std::nullopt;
    }
    Json::Value out(Json::objectValue);
    out["maximumActiveBookings"] = static_cast<Json::Int64>(n);
    out["offerReschedule"] = v.get("offerReschedule", false).isBool() ? v.get("offerReschedule", false) : false;
    return out;
  });
  resettable("recurrence", [&]() -> std::optional<Json::Value> {
    const Json::Value& v = chk["recurrence"];
    int64_t interval = 0, occ = 0;
    const std::string f = v["frequency"].isString() ? v["frequency"].asString() : "";
    if (!json_as_int64(v["interval"], interval) || interval < 1 || !json_as_int64(v["occurrences"], occ) || occ < 1 ||
        (f != "yearly" && f != "monthly" && f != "weekly")) {
      chk.add("recurrence", "nestedValidation",
              "recurrence must be {interval >= 1, occurrences >= 1, frequency: yearly|monthly|weekly}");
      return std::nullopt;
    }
    return v;
  });
  resettable("seats", [&]() -> std::optional<Json::Value> {
    const Json::Value& v = chk["seats"];
    int64_t n = 0;
    if (!json_as_int64(v["seatsPerTimeSlot"], n) || n < 1 || n > 1000 || !v["showAttendeeInfo"].isBool() ||
        !v["showAvailabilityCount"].isBool()) {
      chk.add("seats", "nestedValidation",
              "seats must be {seatsPerTimeSlot: 1-1000, showAttendeeInfo: boolean, showAvailabilityCount: boolean}");
      return std::nullopt;
    }
    return v;
  });
  // Objects stored as sent.
  for (const char* k : {"bookerLayouts", "color", "destinationCalendar", "calVideoSettings", "disableCancelling",
                        "disableRescheduling"}) {
    if (const Json::Value* o = chk.object(k)) patch[k] = *o;
  }
  return patch;
}

/* ------------------------------------------------------------- outputs */

/* Integer property of an event type, or dflt when absent/null. */
inline int64_t et_int(const EventType& et, const char* k, int64_t dflt = 0) {
  const Json::Value* v = et.props.find(k, k + std::strlen(k));
  return v && v->isIntegral() ? v->asInt64() : dflt;
}

inline bool et_bool(const EventType& et, const char* k) {
  const Json::Value* v = et.props.find(k, k + std::strlen(k));
  return v && v->isBool() && v->asBool();
}

inline std::string et_str(const EventType& et, const char* k) {
  const Json::Value* v = et.props.find(k, k + std::strlen(k));
  return v && v->isString() ? v->asString() : "";
}

inline const Json::Value& et_get(const EventType& et, const char* k) {
  const Json::Value* v = et.props.find(k, k + std::strlen(k));
  static const Json::Value null_value;
  return v ? *v : null_value;
}

inline Json::Value event_type_user_json(const User& u) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(u.id);
  j["name"] = u.name;
  j["username"] = u.username;
  j["avatarUrl"] = u.avatar_url;
  j["weekStart"] = u.week_start;
  j["brandColor"] = "#292929";
  j["darkBrandColor"] = "#fafafa";
  j["metadata"] = u.metadata.isNull() ? Json::Value(Json::objectValue) : u.metadata;
  return j;
}

/* EventTypeOutput_2024_06_14: defaults overlaid with the stored props. */
inline Json::Value event_type_json(const State& st, const EventType& et) {
  Json::Value j(Json::objectValue);
  j["description"] = "";
  j["locations"] = default_locations();
  j["bookingFields"] = system_booking_fields();
  j["disableGuests"] = false;
  j["slotInterval"] = Json::Value::null;
  j["minimumBookingNotice"] = 0;
  j["beforeEventBuffer"] = 0;
  j["afterEventBuffer"] = 0;
  j["recurrence"] = Json::Value::null;
  j["metadata"] = Json::Value(Json::objectValue);
  j["price"] = 0;
  j["currency"] = "usd";
  j["lockTimeZoneToggleOnBookingPage"] = false;
  j["seatsPerTimeSlot"] = Json::Value::null;
  j["forwardParamsSuccessRedirect"] = true;
  j["successRedirectUrl"] = Json::Value::null;
  j["isInstantEvent"] = false;
  j["seatsShowAvailabilityCount"] = false;
  j["scheduleId"] = Json::Value::null;
  j["onlyShowFirstAvailableSlot"] = false;
  j["offsetStart"] = 0;
  j["requiresBookerEmailVerification"] = false;
  j["hideCalendarNotes"] = false;
  j["hideCalendarEventDetails"] = false;
  j["hideOrganizerEmail"] = false;
  j["useDestinationCalendarEmail"] = false;
  j["hidden"] = false;
  j["bookingRequiresAuthentication"] = false;
  j["allowReschedulingPastBookings"] = false;
  j["allowReschedulingCancelledBookings"] = false;
  j["showOptimizedSlots"] = false;
  j["interfaceLanguage"] = Json::Value::null;
  Json::Value layouts(Json::objectValue);
  layouts["defaultLayout"] = "month";
  layouts["enabledLayouts"] = Json::Value(Json::arrayValue);
  for (const char* l : {"month", "week", "column"}) layouts["enabledLayouts"].append(l);
  j["bookerLayouts"] = layouts;
  Json::Value off(Json::objectValue);
  off["disabled"] = false;
  j["disableCancelling"] = off;
  j["disableRescheduling"] = off;
  for (const auto& k : et.props.getMemberNames()) j[k] = et.props[k];
  if (et.props.isMember("seats")) {
    j["seatsPerTimeSlot"] = et.props["seats"]["seatsPerTimeSlot"];
    j["seatsShowAvailabilityCount"] = et.props["seats"]["showAvailabilityCount"];
  }
  j["id"] = static_cast<Json::Int64>(et.id);
  j["ownerId"] = static_cast<Json::Int64>(et.owner_id);
  j["users"] = Json::Value(Json::arrayValue);
  auto owner = st.users.find(et.owner_id);
  std::string username;
  if (owner != st.users.end()) {
    j["users"].append(event_type_user_json(owner->second));
    username = owner->second.username;
  }
  j["bookingUrl"] = "https://cal.com/" + username + "/" + et_str(et, "slug");
  return j;
}

/* ------------------------------------------------------------- handlers */

inline std::optional<Reply> find_own_event_type(Call& c, int64_t user_id, const std::string& id_text,
                                                EventType*& out) {
  int64_t id = 0;
  if (!parse_int64(id_text, id)) return error_reply(c, 400, "Validation failed (numeric string is expected)");
  auto it = c.st.event_types.find(id);
  if (it == c.st.event_types.end()) return error_reply(c, 404, "Event type with id=" + id_text + " not found");
  if (it->second.owner_id != user_id) {
    return error_reply(c, 403, "User with id=" + std::to_string(user_id) + " does not own event type with id=" +
                                   id_text);
  }
  out = &it->second;
  return std::nullopt;
}

/* The checks after the DTO: scheduleId must be one of the user's schedules,
 * slug unique per user, length among the options, integration locations
 * connected. `merged` is the event type's props after the patch. */
inline std::optional<Reply> check_event_type_rules(Call& c, int64_t user_id, int64_t self_id,
                                                   const Json::Value& patch, const Json::Value& merged) {
  if (patch.isMember("scheduleId") && patch["scheduleId"].isIntegral()) {
    Schedule* s = nullptr;
    if (auto err = find_own_schedule(c, user_id, std::to_string(patch["scheduleId"].asInt64()), false, s)) {
      return err;
    }
  }
  if (patch.isMember("slug")) {
    for (const auto& [id, et] : c.st.event_types) {
      if (id != self_id && et.owner_id == user_id && et_str(et, "slug") == patch["slug"].asString()) {
        return error_reply(c, 400, "User already has an event type with this slug.");
      }
    }
  }
  if (merged.isMember("lengthInMinutesOptions")) {
    bool found = false;
    for (const auto& o : merged["lengthInMinutesOptions"]) {
      if (o.asInt64() == merged["lengthInMinutes"].asInt64()) found = true;
    }
    if (!found) return error_reply(c, 400, "lengthInMinutesOptions must include lengthInMinutes");
  }
  if (patch.isMember("locations")) {
    const User& u = c.st.users.at(user_id);
    for (const auto& loc : patch["locations"]) {
      if (loc["type"].asString() != "integration") continue;
      const std::string app = loc["integration"].asString();
      if (app != "cal-video" && !u.connected_apps.count(app)) {
        return error_reply(c, 400, "`" + app + "` not connected.");
      }
    }
  }
  return std::nullopt;
}

inline void apply_event_type_patch(EventType& et, const Json::Value& patch) {
  for (const auto& k : patch.getMemberNames()) {
    if (patch[k].isNull()) et.props.removeMember(k);
    else et.props[k] = patch[k];
  }
}

/* POST /v2/event-types -> 201. */
inline Reply handle_create_event_type(Call& c) {
  if (auto err = require_api_version(c, event_type_api_versions(), "/v2/event-types")) return *err;
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  Json::Value patch = parse_event_type_input(chk, true);
  if (!chk.ok()) return validation_reply(c, chk.errors());
  EventType et;
  et.owner_id = user_id;
  et.created_ms = c.now_ms;
  apply_event_type_patch(et, patch);
  if (auto err = check_event_type_rules(c, user_id, 0, patch, et.props)) return *err;
  et.id = c.st.next_event_type_id++;
  c.st.event_types[et.id] = et;
  return ok_reply(event_type_json(c.st, et), 201);
}

/* GET /v2/event-types: ?username=&eventSlug= (public, [one] or []),
 * ?username= (that user's visible event types), else the caller's own
 * (Bearer). sortCreatedAt=asc|desc. */
inline Reply handle_list_event_types(Call& c) {
  if (auto err = require_api_version(c, event_type_api_versions(), "/v2/event-types")) return *err;
  auto username = c.query("username");
  auto event_slug = c.query("eventSlug");
  auto sort = c.query("sortCreatedAt");
  if (sort && *sort != "asc" && *sort != "desc") {
    Json::Value errors(Json::arrayValue);
    Json::Value shown(*sort);
    errors.append(validation_error("sortCreatedAt", &shown, "isEnum",
                                   "sortCreatedAt must be one of the following values: asc, desc"));
    return validation_reply(c, errors);
  }
  if (c.query("usernames")) {
    return error_reply(c, 400, "Dynamic event types (usernames=) are not implemented by the Cal.com emulator");
  }
  std::vector<const EventType*> list;
  if (username) {
    const User* owner = nullptr;
    for (const auto& [id, u] : c.st.users) if (u.username == *username) owner = &u;
    if (!owner) return error_reply(c, 404, "User with username=" + *username + " not found");
    for (const auto& [id, et] : c.st.event_types) {
      if (et.owner_id != owner->id) continue;
      if (event_slug ? et_str(et, "slug") == *event_slug : !et_bool(et, "hidden")) list.push_back(&et);
    }
  } else {
    if (event_slug) return error_reply(c, 400, "eventSlug requires username");
    int64_t user_id = 0;
    if (auto err = authenticate_user(c, user_id)) return *err;
    for (const auto& [id, et] : c.st.event_types) if (et.owner_id == user_id) list.push_back(&et);
  }
  if (sort) {
    std::stable_sort(list.begin(), list.end(), [&](const EventType* a, const EventType* b) {
      return *sort == "asc" ? a->created_ms < b->created_ms : a->created_ms > b->created_ms;
    });
  }
  Json::Value data(Json::arrayValue);
  for (const EventType* et : list) data.append(event_type_json(c.st, *et));
  return ok_reply(data);
}

/* GET /v2/event-types/{id}. */
inline Reply handle_get_event_type(Call& c) {
  if (auto err = require_api_version(c, event_type_api_versions(), "/v2/event-types")) return *err;
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  EventType* et = nullptr;
  if (auto err = find_own_event_type(c, user_id, c.params[0], et)) return *err;
  return ok_reply(event_type_json(c.st, *et));
}

/* PATCH /v2/event-types/{id}: partial; bookingFields and locations, when
 * present, replace the lists. */
inline Reply handle_patch_event_type(Call& c) {
  if (auto err = require_api_version(c, event_type_api_versions(), "/v2/event-types")) return *err;
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  EventType* et = nullptr;
  if (auto err = find_own_event_type(c, user_id, c.params[0], et)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  Json::Value patch = parse_event_type_input(chk, false);
  if (!chk.ok()) return validation_reply(c, chk.errors());
  EventType next = *et;
  apply_event_type_patch(next, patch);
  if (auto err = check_event_type_rules(c, user_id, et->id, patch, next.props)) return *err;
  *et = next;
  return ok_reply(event_type_json(c.st, *et));
}

/* DELETE /v2/event-types/{id} -> {id, lengthInMinutes, slug, title}. Its
 * bookings stay (with the slug they were made under); its reservations and
 * its event-type webhooks go. */
inline Reply handle_delete_event_type(Call& c) {
  if (auto err = require_api_version(c, event_type_api_versions(), "/v2/event-types")) return *err;
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  EventType* et = nullptr;
  if (auto err = find_own_event_type(c, user_id, c.params[0], et)) return *err;
  Json::Value data(Json::objectValue);
  data["id"] = static_cast<Json::Int64>(et->id);
  data["lengthInMinutes"] = et_get(*et, "lengthInMinutes");
  data["slug"] = et_get(*et, "slug");
  data["title"] = et_get(*et, "title");
  const int64_t id = et->id;
  for (auto it = c.st.reservations.begin(); it != c.st.reservations.end();) {
    it = it->second.event_type_id == id ? c.st.reservations.erase(it) : std::next(it);
  }
  for (auto it = c.st.webhooks.begin(); it != c.st.webhooks.end();) {
    it = it->second.scope == "event-type" && it->second.event_type_id == id ? c.st.webhooks.erase(it) : std::next(it);
  }
  c.st.event_types.erase(id);
  return ok_reply(data);
}

}  // namespace calcom_emu
