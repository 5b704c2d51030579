/* calcom_bookings.hpp: /v2/bookings (cal-api-version 2024-08-13), reference
 * §6 of shared/reference/calcom-api-v2.md, shapes from BookingOutput_2024_08_13.
 *
 * Create and reschedule re-validate availability with the project's slot
 * engine (coach::slots::check_bookable) over the same inputs /v2/slots uses,
 * except reservations, which are advisory (§5.2). No idempotency: the
 * reference documents none, so the same body twice books twice (the second
 * normally fails as a conflict). Cancel keeps the row; reschedule makes a new
 * booking (new uid, rescheduledFromUid) and cancels the old one
 * (rescheduledToUid, rescheduledByEmail). Bookings of a managed user's event
 * types get metadata.platformClientId; attendee/guest emails of managed users
 * of the same client are rewritten to their +clientId form. The output
 * location is metadata.videoCallUrl when there is one (a synthesised Zoom /
 * Google Meet / Cal Video join URL), else the stored location.
 *
 * Webhooks (calcom_webhooks.hpp, §7.2): create -> BOOKING_CREATED (or
 * BOOKING_REQUESTED when pending) and MEETING_* jobs; reschedule ->
 * BOOKING_RESCHEDULED for the new booking (BOOKING_REQUESTED when it needs
 * confirmation), the old booking's MEETING_* jobs replaced; cancel ->
 * BOOKING_CANCELLED, jobs deleted; mark-absent with attendees ->
 * BOOKING_NO_SHOW_UPDATED; confirm -> BOOKING_CREATED + jobs; decline ->
 * BOOKING_REJECTED.
 *
 * Not implemented: recurring and seated bookings (treated as 1:1),
 * emailVerificationCode, routing, team event types. */
#pragma once
#include "calcom_webhooks.hpp"

namespace calcom_emu {

inline const std::vector<std::string>& booking_api_versions() {
  static const std::vector<std::string> v = {"2024-08-13"};
  return v;
}

inline constexpr const char* k_not_available_message =
    "User either already has booking at this time or is not available";
inline constexpr const char* k_outside_window_message =
    "The event type can't be booked at the \"start\" time provided. This could be because it's too soon "
    "(violating the minimum booking notice) or too far in the future (outside the event's period)";

/* ------------------------------------------------------------- outputs */

inline Json::Value booking_json(const State& st, const Booking& b) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(b.id);
  j["uid"] = b.uid;
  j["title"] = b.title;
  j["description"] = b.description;
  j["hosts"] = Json::Value(Json::arrayValue);
  auto host = st.users.find(b.host_id);
  if (host != st.users.end()) {
    const User& u = host->second;
    Json::Value h(Json::objectValue);
    h["id"] = static_cast<Json::Int64>(u.id);
    h["name"] = u.name.isString() ? u.name.asString() : u.username;
    h["email"] = u.email;
    h["displayEmail"] = display_email(u.email);
    h["username"] = u.username;
    h["timeZone"] = u.time_zone;
    j["hosts"].append(h);
  }
  j["status"] = b.status;
  j["cancellationReason"] = b.cancellation_reason;
  j["cancelledByEmail"] = b.cancelled_by_email;
  if (!b.rescheduling_reason.empty()) j["reschedulingReason"] = b.rescheduling_reason;
  if (!b.rescheduled_by_email.empty()) j["rescheduledByEmail"] = b.rescheduled_by_email;
  if (!b.rescheduled_from_uid.empty()) j["rescheduledFromUid"] = b.rescheduled_from_uid;
  if (!b.rescheduled_to_uid.empty()) j["rescheduledToUid"] = b.rescheduled_to_uid;
  j["start"] = iso_utc_ms(b.start_ms);
  j["end"] = iso_utc_ms(b.end_ms);
  j["duration"] = b.duration_min;
  j["eventTypeId"] = static_cast<Json::Int64>(b.event_type_id);
  Json::Value et(Json::objectValue);
  et["id"] = static_cast<Json::Int64>(b.event_type_id);
  et["slug"] = b.event_type_slug;
  j["eventType"] = et;
  const std::string location = b.video_call_url.empty() ? b.location : b.video_call_url;
  j["location"] = location;
  j["meetingUrl"] = location;
  j["absentHost"] = b.absent_host;
  j["createdAt"] = iso_utc_ms(b.created_ms);
  j["updatedAt"] = iso_utc_ms(b.updated_ms);
  j["metadata"] = b.metadata;
  j["rating"] = Json::Value::null;
  j["icsUid"] = b.ics_uid;
  j["attendees"] = Json::Value(Json::arrayValue);
  for (const auto& a : b.attendees) {
    Json::Value aj(Json::objectValue);
    aj["name"] = a.name;
    aj["email"] = a.email;
    aj["displayEmail"] = display_email(a.email);
    aj["timeZone"] = a.time_zone;
    aj["language"] = a.language;
    aj["absent"] = a.absent;
    if (!a.phone.empty()) aj["phoneNumber"] = a.phone;
    j["attendees"].append(aj);
  }
  j["guests"] = Json::Value(Json::arrayValue);
  Json::Value display_guests(Json::arrayValue);
  for (const auto& g : b.guests) {
    j["guests"].append(g);
    display_guests.append(display_email(g));
  }
  Json::Value responses = b.responses;
  if (!b.attendees.empty()) responses["displayEmail"] = display_email(b.attendees[0].email);
  responses["displayGuests"] = display_guests;
  j["bookingFieldsResponses"] = responses;
  return j;
}

inline std::optional<Reply> find_booking(Call& c, const std::string& uid, Booking*& out) {
  auto it = c.st.booking_ids.find(uid);
  if (it == c.st.booking_ids.end() || !c.st.bookings.count(it->second)) {
    return error_reply(c, 404, "Booking with uid=" + uid + " was not found in the database");
  }
  out = &c.st.bookings.at(it->second);
  return std::nullopt;
}

/* -------------------------------------------------------- availability */

/* The booking-time check for [start, start + duration): in the past -> 400
 * "Attempting to book a meeting in the past."; outside the hours or on busy
 * time -> 400 "User either already has booking at this time or is not
 * available"; too soon / outside the booking window -> 400 (the window
 * message). */
inline std::optional<Reply> check_availability(Call& c, const EventType& et, int64_t start_ms, int duration_min,
                                               const std::string& reschedule_uid) {
  if (start_ms < c.now_ms) return error_reply(c, 400, "Attempting to book a meeting in the past.");
  const Schedule* sched = event_type_schedule(c.st, et);
  if (!sched) {
    c.st.counters.n_booking_conflicts++;
    return error_reply(c, 400, k_not_available_message);
  }
  auto engine = engine_schedule(*sched);
  if (!engine) return error_reply(c, 400, engine.error().message);
  if (auto win = date_window(et, sched->time_zone, c.now_ms)) {
    if (!in_date_window(to_instant(start_ms), sched->time_zone, *win)) {
      return error_reply(c, 400, k_outside_window_message);
    }
  }
  auto st = coach::slots::check_bookable(*engine, event_rules(et), host_busy(c.st, et.owner_id, &et),
                                         to_instant(start_ms), duration_min, to_instant(c.now_ms), reschedule_uid);
  if (st) return std::nullopt;
  const coach::Error& e = st.error();
  if (e.code == "too_soon" || e.code == "outside_window") return error_reply(c, 400, e.message);
  if (e.code == "not_available" || e.http_status == 400) {
    c.st.counters.n_booking_conflicts++;
    return error_reply(c, 400, e.code == "not_available" ? std::string(k_not_available_message) : e.message);
  }
  return error_reply(c, e.http_status, e.message);
}

/* ----------------------------------------------------------- locations */

/* A synthesised join URL for a video integration ("" when the location is
 * not a video app the emulator knows). */
inline std::string synthesize_video_url(const std::string& location, const std::string& uid) {
  if (location == "integrations:zoom") {
    std::string digits;
    for (unsigned char b : coach::crypto::random_bytes(11)) digits.push_back(static_cast<char>('0' + b % 10));
    if (digits[0] == '0') digits[0] = '8';
    return "https://us06web.zoom.us/j/" + digits + "?pwd=" + random_base62(32);
  }
  if (location == "integrations:daily") return "https://app.cal.com/video/" + uid;
  if (location == "integrations:google:meet") {
    std::string s = to_lower(random_base62(10));
    for (auto& ch : s) if (ch >= '0' && ch <= '9') ch = static_cast<char>('a' + (ch - '0'));
    return "https://meet.google.com/" + s.substr(0, 3) + "-" + s.substr(3, 4) + "-" + s.substr(7, 3);
  }
  return "";
}

struct ChosenLocation {
  std::string stored;                  // booking.location
  Json::Value response;                // bookingFieldsResponses.location {value, optionValue}
};

/* The booking's location: the input `location` object (must be one of the
 * event type's locations), else the deprecated meetingUrl, else the event
 * type's first location. */
inline std::optional<Reply> choose_location(Call& c, const EventType& et, const Json::Value& body,
                                            ChosenLocation& out) {
  Json::Value locations = et_get(et, "locations");
  if (!locations.isArray() || locations.empty()) locations = default_locations();
  auto response = [](const std::string& value, const std::string& option) {
    Json::Value r(Json::objectValue);
    r["value"] = value;
    r["optionValue"] = option;
    return r;
  };
  auto from_event_location = [&](const Json::Value& loc, const Json::Value& input) -> std::optional<Reply> {
    const std::string type = loc["type"].asString();
    auto need = [&](const char* key) -> std::optional<std::string> {
      if (input.isObject() && input[key].isString() && !input[key].asString().empty()) return input[key].asString();
      return std::nullopt;
    };
    if (type == "integration") {
      out.stored = integration_location_value(loc["integration"].asString());
      out.response = response(out.stored, "");
    } else if (type == "link") {
      out.stored = loc["link"].asString();
      out.response = response("link", "");
    } else if (type == "address") {
      out.stored = loc["address"].asString();
      out.response = response("inPerson", "");
    } else if (type == "phone") {
      out.stored = loc["phone"].asString();
      out.response = response("userPhone", "");
    } else {
      const char* key = type == "attendeeAddress" ? "address" : type == "attendeePhone" ? "phone" : "location";
      auto v = need(key);
      if (!v && input.isObject()) {
        Json::Value errors(Json::arrayValue);
        errors.append(nested_validation_error({"location", key}, nullptr, "isString",
                                              std::string(key) + " must be a string"));
        return validation_reply(c, errors);
      }
      out.stored = v.value_or("");
      out.response = response(type == "attendeeAddress" ? "attendeeInPerson"
                              : type == "attendeePhone" ? "phone" : "somewhereElse",
                              out.stored);
    }
    return std::nullopt;
  };
  const Json::Value& input = body["location"];
  if (input.isObject()) {
    const std::string type = input["type"].isString() ? input["type"].asString() : "";
    for (const auto& loc : locations) {
      if (loc["type"].asString() != type) continue;
      if (type == "integration" && loc["integration"].asString() != input["integration"].asString()) continue;
      return from_event_location(loc, input);
    }
    std::string what = type + (type == "integration" ? " (" + input["integration"].asString() + ")" : "");
    return error_reply(c, 400, "Location `" + what + "` is not one of the event type's locations.");
  }
  if (!input.isNull()) {
    Json::Value errors(Json::arrayValue);
    errors.append(validation_error("location", &input, "isObject",
                                   "location must be an object (one of the event type's locations)"));
    return validation_reply(c, errors);
  }
  if (body["meetingUrl"].isString() && !body["meetingUrl"].asString().empty()) {
    out.stored = body["meetingUrl"].asString();
    out.response = response("link", "");
    return std::nullopt;
  }
  return from_event_location(locations[0], Json::Value());
}

/* ------------------------------------------------------------- create */

/* The email to store for an attendee or guest: a managed user of the host's
 * OAuth client is addressed by its +clientId form. */
inline std::string stored_attendee_email(const State& st, const User& host, const std::string& email) {
  if (!host.is_platform_managed || host.oauth_client_id.empty()) return email;
  const std::string rewritten = managed_email(host.oauth_client_id, email);
  if (const User* u = find_user_by_email(st, rewritten)) return u->email;
  return email;
}

/* Custom booking fields that are required and visible must be answered. */
inline std::optional<Reply> check_required_fields(Call& c, const EventType& et, const Json::Value& responses) {
  const Json::Value& fields = et_get(et, "bookingFields");
  if (!fields.isArray()) return std::nullopt;
  for (const auto& f : fields) {
    if (f["isDefault"].asBool() || !f["required"].asBool() || f["hidden"].asBool()) continue;
    const std::string slug = f["slug"].asString();
    const Json::Value& v = responses[slug];
    bool missing = v.isNull() || (v.isString() && trim(v.asString()).empty()) || (v.isArray() && v.empty());
    if (missing) {
      return error_reply(c, 400, "Missing required booking field response: bookingFieldsResponses." + slug +
                                     " (\"" + f["label"].asString() + "\")");
    }
    const std::string type = f["type"].asString();
    if (type == "number" && !json_is_number(v)) {
      return error_reply(c, 400, "Booking field response " + slug + " must be a number");
    }
    if (type == "boolean" && !v.isBool()) {
      return error_reply(c, 400, "Booking field response " + slug + " must be a boolean");
    }
  }
  return std::nullopt;
}

/* POST /v2/bookings -> 201 BookingOutput. */
inline Reply handle_create_booking(Call& c) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return *err;
  int64_t caller_id = 0;
  if (auto err = authenticate_optional(c, caller_id)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  std::optional<int64_t> start_ms;
  if (auto s = chk.str("start", true)) {
    if (auto t = coach::slots::parse_iso(*s)) start_ms = to_ms(*t);
    else chk.add("start", "isISO8601", "start must be a valid ISO 8601 date string");
  }
  BookingAttendee attendee;
  if (const Json::Value* a = chk.object("attendee", true)) {
    const Json::Value& av = *a;
    auto nested = [&](const char* prop, const std::string& constraint, const std::string& msg) {
      chk.add_nested({"attendee", prop}, av.isMember(prop) ? &av[prop] : nullptr, constraint, msg);
    };
    if (av["name"].isString() && !trim(av["name"].asString()).empty()) attendee.name = av["name"].asString();
    else nested("name", "isString", "name must be a string");
    std::optional<std::string> tz;
    if (av["timeZone"].isString()) tz = canonical_time_zone(av["timeZone"].asString());
    if (tz) attendee.time_zone = *tz;
    else nested("timeZone", "isTimeZone", "timeZone must be a valid IANA time zone");
    if (av.isMember("email") && !av["email"].isNull()) {
      if (av["email"].isString() && is_email(av["email"].asString())) attendee.email = to_lower(av["email"].asString());
      else nested("email", "isEmail", "email must be an email");
    }
    if (av.isMember("phoneNumber") && !av["phoneNumber"].isNull()) {
      if (av["phoneNumber"].isString()) attendee.phone = av["phoneNumber"].asString();
      else nested("phoneNumber", "isPhoneNumber", "phoneNumber must be a valid phone number");
    }
    if (av.isMember("language") && !av["language"].isNull()) {
      const auto& l = locales();
      if (av["language"].isString() && std::find(l.begin(), l.end(), av["language"].asString()) != l.end()) {
        attendee.language = av["language"].asString();
      } else {
        nested("language", "isEnum", "language must be one of the following values: " + join(l, ", "));
      }
    }
  }
  auto event_type_id = chk.integer("eventTypeId", false, 1, 1LL << 50);
  auto event_type_slug = chk.str("eventTypeSlug");
  auto username = chk.str("username");
  auto length = chk.integer("lengthInMinutes", false, 1, 24 * 60 * 7);
  std::vector<std::string> guests;
  if (const Json::Value* g = chk.array("guests")) {
    for (const auto& x : *g) {
      if (x.isString() && is_email(x.asString())) {
        guests.push_back(to_lower(x.asString()));
      } else {
        chk.add("guests", "isEmail", "each value in guests must be an email");
        break;
      }
    }
  }
  Json::Value responses(Json::objectValue);
  if (const Json::Value* r = chk.object("bookingFieldsResponses")) responses = *r;
  Json::Value metadata(Json::objectValue);
  if (chk.present("metadata")) {
    if (metadata_ok(chk["metadata"])) metadata = chk["metadata"];
    else chk.add("metadata", "validateMetadata", k_metadata_message);
  }
  if (chk.present("meetingUrl") && !chk["meetingUrl"].isString()) chk.add("meetingUrl", "isString", "meetingUrl must be a string");
  if (chk.present("teamSlug")) {
    return error_reply(c, 400, "Team event types (teamSlug) are not implemented by the Cal.com emulator");
  }
  if (!chk.ok()) return validation_reply(c, chk.errors());
  if (attendee.email.empty()) {
    if (attendee.phone.empty()) {
      return error_reply(c, 400, "Either attendee.email or attendee.phoneNumber must be provided");
    }
    std::string digits;
    for (char ch : attendee.phone) if (std::isdigit(static_cast<unsigned char>(ch))) digits.push_back(ch);
    attendee.email = digits + "@sms.cal.com";
  }

  EventType* et = nullptr;
  if (auto err = find_event_type_for(c, event_type_id, event_type_slug, username, et)) return *err;
  const User& host = c.st.users.at(et->owner_id);
  if (et_bool(*et, "bookingRequiresAuthentication")) {
    if (!caller_id) return error_reply(c, 401, "This event type requires authentication to be booked.");
    if (caller_id != et->owner_id) {
      return error_reply(c, 403, "Only the event type owner can book event type " + std::to_string(et->id));
    }
  }
  int duration = static_cast<int>(et_int(*et, "lengthInMinutes", 30));
  if (length) {
    if (!has_length_options(*et)) {
      if (*length != duration) {
        return error_reply(c, 400, "Can't specify 'lengthInMinutes' because event type does not have multiple "
                                   "possible lengths. Please, remove the 'lengthInMinutes' field from the request.");
      }
    } else {
      auto lengths = allowed_lengths(*et);
      if (std::find(lengths.begin(), lengths.end(), *length) == lengths.end()) {
        std::string list;
        for (size_t i = 0; i < lengths.size(); ++i) list += (i ? ", " : "") + std::to_string(lengths[i]);
        return error_reply(c, 400, "Invalid lengthInMinutes " + std::to_string(*length) +
                                       ": it must be one of the event type's lengthInMinutesOptions (" + list + ")");
      }
      duration = static_cast<int>(*length);
    }
  }
  ChosenLocation loc;
  if (auto err = choose_location(c, *et, body, loc)) return *err;
  if (auto err = check_required_fields(c, *et, responses)) return *err;
  if (auto err = check_availability(c, *et, *start_ms, duration, "")) return *err;

  Booking b;
  b.id = c.st.next_booking_id++;
  do { b.uid = random_base62(22); } while (c.st.booking_ids.count(b.uid));
  b.event_type_id = et->id;
  b.event_type_slug = et_str(*et, "slug");
  b.host_id = host.id;
  attendee.email = stored_attendee_email(c.st, host, attendee.email);
  for (auto& g : guests) g = stored_attendee_email(c.st, host, g);
  const std::string host_name = host.name.isString() ? host.name.asString() : host.username;
  b.title = et_str(*et, "title") + " between " + host_name + " and " + attendee.name;
  const Json::Value& notes = static_cast<const Json::Value&>(responses)["notes"];
  b.description = notes.isString() ? notes.asString() : "";
  const Json::Value& policy = et_get(*et, "confirmationPolicy");
  b.status = policy.isObject() ? "pending" : "accepted";
  b.start_ms = *start_ms;
  b.end_ms = *start_ms + duration * 60000LL;
  b.duration_min = duration;
  b.attendees.push_back(attendee);
  b.guests = guests;
  b.location = loc.stored;
  if (b.status == "accepted") b.video_call_url = synthesize_video_url(b.location, b.uid);
  if (metadata.isMember("videoCallUrl") && metadata["videoCallUrl"].isString()) {
    b.video_call_url = metadata["videoCallUrl"].asString();
    metadata.removeMember("videoCallUrl");
  }
  if (host.is_platform_managed && !host.oauth_client_id.empty()) metadata["platformClientId"] = host.oauth_client_id;
  b.metadata = metadata;
  responses["name"] = attendee.name;
  responses["email"] = attendee.email;
  responses["guests"] = Json::Value(Json::arrayValue);
  for (const auto& g : b.guests) responses["guests"].append(g);
  responses["location"] = loc.response;
  if (!attendee.phone.empty()) responses["attendeePhoneNumber"] = attendee.phone;
  b.responses = responses;
  b.ics_uid = random_base62(22) + "@Cal.com";
  b.created_ms = b.updated_ms = c.now_ms;
  c.st.bookings[b.id] = b;
  c.st.booking_ids[b.uid] = b.id;
  c.st.counters.n_bookings_created++;
  emit_booking_webhooks(c, b.status == "pending" ? "BOOKING_REQUESTED" : "BOOKING_CREATED", b);
  schedule_meeting_jobs(c.st, c.cfg, b);
  return ok_reply(booking_json(c.st, b), 201);
}

/* ---------------------------------------------------------------- list */

/* GET /v2/bookings (Bearer): the caller's bookings (as host or attendee),
 * filtered, sorted, paginated with take/skip and a pagination object. */
inline Reply handle_list_bookings(Call& c) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return *err;
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  Json::Value errors(Json::arrayValue);
  auto bad = [&](const char* name, const std::string& value, const std::string& constraint, const std::string& msg) {
    Json::Value shown(value);
    errors.append(validation_error(name, &shown, constraint, msg));
  };
  static const std::vector<std::string> statuses = {"upcoming", "recurring", "past", "cancelled", "unconfirmed"};
  std::set<std::string> want_status;
  if (auto s = c.query("status")) {
    for (const auto& part : split(*s, ',')) {
      std::string v = trim(part);
      if (std::find(statuses.begin(), statuses.end(), v) == statuses.end()) {
        bad("status", *s, "isEnum", "each value in status must be one of the following values: " + join(statuses, ", "));
        break;
      }
      want_status.insert(v);
    }
  }
  auto int_param = [&](const char* name, int64_t lo, int64_t hi, int64_t dflt) {
    auto text = c.query(name);
    if (!text) return dflt;
    int64_t v = 0;
    if (!parse_int64(*text, v)) bad(name, *text, "isNumber", std::string(name) + " must be a number conforming to the specified constraints");
    else if (v < lo) bad(name, *text, "min", std::string(name) + " must not be less than " + std::to_string(lo));
    else if (v > hi) bad(name, *text, "max", std::string(name) + " must not be greater than " + std::to_string(hi));
    return v;
  };
  const int64_t take = int_param("take", 1, 250, 100);
  const int64_t skip = int_param("skip", 0, 1LL << 40, 0);
  auto time_param = [&](const char* name) -> std::optional<int64_t> {
    auto text = c.query(name);
    if (!text) return std::nullopt;
    auto t = coach::slots::parse_iso(*text);
    if (!t) {
      if (auto d = parse_ymd(*text)) return *d * 86400000LL;
      bad(name, *text, "isDateString", std::string(name) + " must be a valid ISO 8601 date string");
      return std::nullopt;
    }
    return to_ms(*t);
  };
  auto after_start = time_param("afterStart"), before_end = time_param("beforeEnd");
  auto after_created = time_param("afterCreatedAt"), before_created = time_param("beforeCreatedAt");
  auto after_updated = time_param("afterUpdatedAt"), before_updated = time_param("beforeUpdatedAt");
  std::set<int64_t> event_type_ids;
  for (const char* name : {"eventTypeId", "eventTypeIds"}) {
    auto text = c.query(name);
    if (!text) continue;
    for (const auto& part : split(*text, ',')) {
      int64_t v = 0;
      if (!parse_int64(trim(part), v)) {
        bad(name, *text, "isNumber", std::string(name) + " must be a number or comma-separated numbers");
        break;
      }
      event_type_ids.insert(v);
    }
  }
  std::string sort_key, sort_dir;
  for (const char* name : {"sortStart", "sortEnd", "sortCreated", "sortUpdatedAt"}) {
    auto text = c.query(name);
    if (!text) continue;
    if (*text != "asc" && *text != "desc") {
      bad(name, *text, "isEnum", std::string(name) + " must be one of the following values: asc, desc");
    } else if (sort_key.empty()) {
      sort_key = name;
      sort_dir = *text;
    }
  }
  if (!errors.empty()) return validation_reply(c, errors);
  auto attendee_email = c.query("attendeeEmail");
  auto attendee_name = c.query("attendeeName");
  auto booking_uid = c.query("bookingUid");

  std::vector<const Booking*> rows;
  const int64_t now = c.now_ms;
  for (const auto& [id, b] : c.st.bookings) {
    if (!host_involved(c.st, b, user_id)) continue;
    if (!want_status.empty()) {
      const bool live = b.status == "accepted" || b.status == "pending";
      const bool gone = b.status == "cancelled" || b.status == "rejected";
      bool match = false;
      for (const auto& s : want_status) {
        if (s == "upcoming" && b.end_ms >= now && live) match = true;
        if (s == "past" && b.end_ms <= now && !gone) match = true;
        if (s == "cancelled" && gone) match = true;
        if (s == "unconfirmed" && b.end_ms >= now && b.status == "pending") match = true;
      }
      if (!match) continue;
    }
    if (booking_uid && b.uid != *booking_uid) continue;
    if (!event_type_ids.empty() && !event_type_ids.count(b.event_type_id)) continue;
    if (attendee_email || attendee_name) {
      bool found = false;
      for (const auto& a : b.attendees) {
        if (attendee_email && to_lower(a.email) != to_lower(*attendee_email) &&
            to_lower(display_email(a.email)) != to_lower(*attendee_email)) continue;
        if (attendee_name && to_lower(a.name) != to_lower(*attendee_name)) continue;
        found = true;
      }
      if (!found) continue;
    }
    if (after_start && b.start_ms < *after_start) continue;
    if (before_end && b.end_ms > *before_end) continue;
    if (after_created && b.created_ms < *after_created) continue;
    if (before_created && b.created_ms > *before_created) continue;
    if (after_updated && b.updated_ms < *after_updated) continue;
    if (before_updated && b.updated_ms > *before_updated) continue;
    rows.push_back(&b);
  }
  auto key = [&](const Booking* b) {
    if (sort_key == "sortEnd") return b->end_ms;
    if (sort_key == "sortCreated") return b->created_ms;
    if (sort_key == "sortUpdatedAt") return b->updated_ms;
    return b->start_ms;
  };
  const bool desc = sort_dir == "desc";
  std::stable_sort(rows.begin(), rows.end(), [&](const Booking* a, const Booking* b) {
    if (key(a) != key(b)) return desc ? key(a) > key(b) : key(a) < key(b);
    return a->id < b->id;
  });
  const int64_t total = static_cast<int64_t>(rows.size());
  Json::Value data(Json::arrayValue);
  for (int64_t i = skip; i < total && i < skip + take; ++i) data.append(booking_json(c.st, *rows[static_cast<size_t>(i)]));
  const int64_t returned = static_cast<int64_t>(data.size());
  Json::Value p(Json::objectValue);
  p["totalItems"] = static_cast<Json::Int64>(total);
  p["remainingItems"] = static_cast<Json::Int64>(std::max<int64_t>(0, total - (skip + returned)));
  p["returnedItems"] = static_cast<Json::Int64>(returned);
  p["itemsPerPage"] = static_cast<Json::Int64>(take);
  p["currentPage"] = static_cast<Json::Int64>(skip / take + 1);
  p["totalPages"] = static_cast<Json::Int64>((total + take - 1) / take);
  p["hasNextPage"] = skip + take < total;
  p["hasPreviousPage"] = skip > 0;
  Json::Value env(Json::objectValue);
  env["status"] = "success";
  env["data"] = data;
  env["pagination"] = p;
  Reply r;
  r.body = json_dump(env);
  return r;
}

/* GET /v2/bookings/{uid} (auth optional). */
inline Reply handle_get_booking(Call& c) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return *err;
  int64_t caller_id = 0;
  if (auto err = authenticate_optional(c, caller_id)) return *err;
  Booking* b = nullptr;
  if (auto err = find_booking(c, c.params[0], b)) return *err;
  return ok_reply(booking_json(c.st, *b));
}

/* ------------------------------------------------------------- actions */

inline std::string caller_email(const Call& c, int64_t caller_id) {
  auto it = c.st.users.find(caller_id);
  return caller_id && it != c.st.users.end() ? it->second.email : "";
}

/* POST /v2/bookings/{uid}/cancel {cancellationReason?} -> 200, the booking
 * with status cancelled (the row stays). */
inline Reply handle_cancel_booking(Call& c) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return *err;
  int64_t caller_id = 0;
  if (auto err = authenticate_optional(c, caller_id)) return *err;
  Booking* b = nullptr;
  if (auto err = find_booking(c, c.params[0], b)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  auto reason = chk.str("cancellationReason");
  chk.boolean("cancelSubsequentBookings");
  if (!chk.ok()) return validation_reply(c, chk.errors());
  if (b->status == "cancelled" || b->status == "rejected") {
    return error_reply(c, 400, "This booking has already been cancelled.");
  }
  if (b->end_ms <= c.now_ms) return error_reply(c, 400, "Cannot cancel a booking that has already ended.");
  auto et = c.st.event_types.find(b->event_type_id);
  if (et != c.st.event_types.end() && et_get(et->second, "disableCancelling").isObject() &&
      et_get(et->second, "disableCancelling")["disabled"].asBool()) {
    return error_reply(c, 400, "Cancelling is disabled for this event type.");
  }
  b->status = "cancelled";
  b->cancellation_reason = reason.value_or("");
  b->cancelled_by_email = caller_email(c, caller_id);
  b->updated_ms = c.now_ms;
  c.st.counters.n_bookings_cancelled++;
  delete_meeting_jobs(c.st, b->uid);
  emit_booking_webhooks(c, "BOOKING_CANCELLED", *b);
  return ok_reply(booking_json(c.st, *b));
}

/* POST /v2/bookings/{uid}/reschedule {start, reschedulingReason?,
 * rescheduledBy?} -> 201, the NEW booking (new uid, rescheduledFromUid);
 * the old one becomes cancelled with rescheduledToUid. The old booking's own
 * time does not block the new one. A Zoom join URL carries over. */
inline Reply handle_reschedule_booking(Call& c) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return *err;
  int64_t caller_id = 0;
  if (auto err = authenticate_optional(c, caller_id)) return *err;
  Booking* old = nullptr;
  if (auto err = find_booking(c, c.params[0], old)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  std::optional<int64_t> start_ms;
  if (auto s = chk.str("start", true)) {
    if (auto t = coach::slots::parse_iso(*s)) start_ms = to_ms(*t);
    else chk.add("start", "isISO8601", "start must be a valid ISO 8601 date string");
  }
  auto reason = chk.str("reschedulingReason");
  auto by = chk.str("rescheduledBy");
  if (by && !is_email(*by)) chk.add("rescheduledBy", "isEmail", "rescheduledBy must be an email");
  if (!chk.ok()) return validation_reply(c, chk.errors());

  auto et_it = c.st.event_types.find(old->event_type_id);
  if (et_it == c.st.event_types.end()) {
    return error_reply(c, 404, "Event type with id=" + std::to_string(old->event_type_id) + " not found");
  }
  const EventType& et = et_it->second;
  if (!old->rescheduled_to_uid.empty()) {
    return error_reply(c, 400, "Booking with uid=" + old->uid + " was already rescheduled to uid=" +
                                   old->rescheduled_to_uid);
  }
  if ((old->status == "cancelled" || old->status == "rejected") && !et_bool(et, "allowReschedulingCancelledBookings")) {
    return error_reply(c, 400, "Cannot reschedule a cancelled booking.");
  }
  if (old->end_ms <= c.now_ms && !et_bool(et, "allowReschedulingPastBookings")) {
    return error_reply(c, 400, "Cannot reschedule a booking that has already ended.");
  }
  const Json::Value& dr = et_get(et, "disableRescheduling");
  if (dr.isObject() && dr["disabled"].asBool()) {
    const int64_t before = dr["minutesBefore"].isIntegral() ? dr["minutesBefore"].asInt64() : 0;
    if (before == 0 || old->start_ms - c.now_ms < before * 60000) {
      return error_reply(c, 400, "Rescheduling is disabled for this event type" +
                                     (before ? " less than " + std::to_string(before) + " minutes before the start."
                                             : std::string(".")));
    }
  }
  if (auto err = check_availability(c, et, *start_ms, old->duration_min, old->uid)) return *err;

  const User& host = c.st.users.at(et.owner_id);
  const std::string rescheduler = by ? to_lower(*by) : caller_email(c, caller_id);
  Booking nb = *old;
  nb.id = c.st.next_booking_id++;
  do { nb.uid = random_base62(22); } while (c.st.booking_ids.count(nb.uid));
  nb.start_ms = *start_ms;
  nb.end_ms = *start_ms + old->duration_min * 60000LL;
  const bool needs_confirmation = et_get(et, "confirmationPolicy").isObject() && to_lower(host.email) != rescheduler;
  nb.status = needs_confirmation ? "pending" : "accepted";
  nb.rescheduled_from_uid = old->uid;
  nb.rescheduled_to_uid.clear();
  nb.rescheduled = false;
  nb.rescheduling_reason = reason.value_or("");
  nb.rescheduled_by_email = rescheduler;
  nb.cancellation_reason.clear();
  nb.cancelled_by_email.clear();
  nb.absent_host = false;
  for (auto& a : nb.attendees) a.absent = false;
  if (reason) nb.responses["rescheduleReason"] = *reason;
  if (nb.location == "integrations:zoom" && !old->video_call_url.empty()) {
    nb.video_call_url = old->video_call_url;  // Cal.com updates the Zoom meeting in place
  } else {
    nb.video_call_url = nb.status == "accepted" ? synthesize_video_url(nb.location, nb.uid) : "";
  }
  nb.created_ms = nb.updated_ms = c.now_ms;

  old->status = "cancelled";
  old->rescheduled = true;
  old->rescheduled_to_uid = nb.uid;
  old->rescheduled_by_email = rescheduler;
  old->updated_ms = c.now_ms;
  c.st.bookings[nb.id] = nb;
  c.st.booking_ids[nb.uid] = nb.id;
  c.st.counters.n_bookings_rescheduled++;
  delete_meeting_jobs(c.st, old->uid);
  emit_booking_webhooks(c, nb.status == "pending" ? "BOOKING_REQUESTED" : "BOOKING_RESCHEDULED", nb, old);
  schedule_meeting_jobs(c.st, c.cfg, nb);
  return ok_reply(booking_json(c.st, nb), 201);
}

/* The booking {uid} hosted by the Bearer caller (403 otherwise). */
inline std::optional<Reply> find_hosted_booking(Call& c, int64_t& caller_id, Booking*& out) {
  if (auto err = require_api_version(c, booking_api_versions(), "/v2/bookings")) return err;
  if (auto err = authenticate_user(c, caller_id)) return err;
  if (auto err = find_booking(c, c.params[0], out)) return err;
  if (out->host_id != caller_id) {
    return error_reply(c, 403, "User with id=" + std::to_string(caller_id) + " is not the host of booking with uid=" +
                                   out->uid);
  }
  return std::nullopt;
}

/* POST /v2/bookings/{uid}/mark-absent {host?, attendees?: [{email, absent}]}
 * (Bearer, host only; only once the booking has started) -> 200 booking. */
inline Reply handle_mark_absent(Call& c) {
  int64_t caller_id = 0;
  Booking* b = nullptr;
  if (auto err = find_hosted_booking(c, caller_id, b)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  auto host = chk.boolean("host");
  std::vector<std::pair<std::string, bool>> marks;
  if (const Json::Value* arr = chk.array("attendees")) {
    for (Json::ArrayIndex i = 0; i < arr->size(); ++i) {
      const Json::Value& a = (*arr)[i];
      if (!a.isObject() || !a["email"].isString() || !a["absent"].isBool()) {
        chk.add_nested({"attendees", std::to_string(i)}, &a, "nestedValidation",
                       "each attendee must be {email: string, absent: boolean}");
        continue;
      }
      marks.emplace_back(to_lower(a["email"].asString()), a["absent"].asBool());
    }
  }
  if (!chk.ok()) return validation_reply(c, chk.errors());
  if (b->start_ms > c.now_ms) {
    return error_reply(c, 400, "Absence can only be marked once the booking has started (start " +
                                   iso_utc_ms(b->start_ms) + ").");
  }
  for (const auto& [email, absent] : marks) {
    bool found = false;
    for (const auto& a : b->attendees) {
      if (to_lower(a.email) == email || to_lower(display_email(a.email)) == email) found = true;
    }
    if (!found) return error_reply(c, 400, "Attendee with email " + email + " is not an attendee of this booking.");
  }
  std::vector<std::pair<std::string, bool>> changed;  // stored emails, for the webhook
  for (const auto& [email, absent] : marks) {
    for (auto& a : b->attendees) {
      if (to_lower(a.email) == email || to_lower(display_email(a.email)) == email) {
        a.absent = absent;
        changed.emplace_back(a.email, absent);
      }
    }
  }
  if (host) b->absent_host = *host;
  b->updated_ms = c.now_ms;
  emit_no_show_webhooks(c, *b, changed);
  return ok_reply(booking_json(c.st, *b));
}

/* PATCH /v2/bookings/{uid}/location {"location": {...}} (Bearer, host only;
 * cal-api-version 2024-08-13) -> 200 booking. The location object is one of
 * the booking input location shapes: {type:"link", link}, {type:"address",
 * address}, {type:"phone", phone}, {type:"attendeeAddress", address},
 * {type:"attendeePhone", phone}, {type:"attendeeDefined", location}, or
 * {type:"integration", integration} (Cal Video, or an app the host
 * connected), for which a conference link is provisioned as on create. The
 * output location becomes the link (or the provisioned video URL). No webhook. */
inline Reply handle_update_booking_location(Call& c) {
  int64_t caller_id = 0;
  Booking* b = nullptr;
  if (auto err = find_hosted_booking(c, caller_id, b)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  const Json::Value& loc = body["location"];
  if (!loc.isObject()) {
    Json::Value errors(Json::arrayValue);
    errors.append(validation_error("location", body.isMember("location") ? &loc : nullptr, "isObject",
                                   "location must be an object"));
    return validation_reply(c, errors);
  }
  const std::string type = loc["type"].isString() ? loc["type"].asString() : "";
  auto need = [&](const char* key) -> std::optional<std::string> {
    if (loc[key].isString() && !loc[key].asString().empty()) return loc[key].asString();
    return std::nullopt;
  };
  auto missing = [&](const char* key) {
    Json::Value errors(Json::arrayValue);
    errors.append(nested_validation_error({"location", key}, nullptr, "isString", std::string(key) + " must be a string"));
    return validation_reply(c, errors);
  };
  std::string stored, response_value, option_value, video;
  if (type == "link") {
    auto v = need("link");
    if (!v) return missing("link");
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0) {
      Json::Value errors(Json::arrayValue);
      errors.append(nested_validation_error({"location", "link"}, &loc["link"], "isUrl", "link must be a URL address"));
      return validation_reply(c, errors);
    }
    stored = *v;
    response_value = "link";
  } else if (type == "address" || type == "attendeeAddress") {
    auto v = need("address");
    if (!v) return missing("address");
    stored = *v;
    response_value = type == "address" ? "inPerson" : "attendeeInPerson";
    if (type == "attendeeAddress") option_value = *v;
  } else if (type == "phone" || type == "attendeePhone") {
    auto v = need("phone");
    if (!v) return missing("phone");
    stored = *v;
    response_value = type == "phone" ? "userPhone" : "phone";
    if (type == "attendeePhone") option_value = *v;
  } else if (type == "attendeeDefined") {
    auto v = need("location");
    if (!v) return missing("location");
    stored = *v;
    response_value = "somewhereElse";
    option_value = *v;
  } else if (type == "integration") {
    auto v = need("integration");
    if (!v) return missing("integration");
    const auto& apps = location_integrations();
    if (std::find(apps.begin(), apps.end(), *v) == apps.end()) {
      Json::Value errors(Json::arrayValue);
      errors.append(nested_validation_error({"location", "integration"}, &loc["integration"], "isIn",
                                            "integration must be one of the supported apps"));
      return validation_reply(c, errors);
    }
    const User& host = c.st.users.at(b->host_id);
    if (*v != "cal-video" && !host.connected_apps.count(*v)) return error_reply(c, 400, "`" + *v + "` not connected.");
    stored = integration_location_value(*v);
    response_value = stored;
    if (b->status == "accepted") video = synthesize_video_url(stored, b->uid);
  } else {
    Json::Value errors(Json::arrayValue);
    errors.append(nested_validation_error({"location", "type"}, loc.isMember("type") ? &loc["type"] : nullptr, "isIn",
                                          "type must be one of link, address, phone, attendeeAddress, attendeePhone, "
                                          "attendeeDefined, integration"));
    return validation_reply(c, errors);
  }
  b->location = stored;
  b->video_call_url = video;
  Json::Value r(Json::objectValue);
  r["value"] = response_value;
  r["optionValue"] = option_value;
  b->responses["location"] = r;
  b->updated_ms = c.now_ms;
  return ok_reply(booking_json(c.st, *b));
}

/* POST /v2/bookings/{uid}/confirm (host): pending -> accepted. */
inline Reply handle_confirm_booking(Call& c) {
  int64_t caller_id = 0;
  Booking* b = nullptr;
  if (auto err = find_hosted_booking(c, caller_id, b)) return *err;
  if (b->status != "pending") return error_reply(c, 400, "Booking with uid=" + b->uid + " is not pending.");
  b->status = "accepted";
  b->video_call_url = synthesize_video_url(b->location, b->uid);
  b->updated_ms = c.now_ms;
  emit_booking_webhooks(c, "BOOKING_CREATED", *b);
  schedule_meeting_jobs(c.st, c.cfg, *b);
  return ok_reply(booking_json(c.st, *b));
}

/* POST /v2/bookings/{uid}/decline {reason?} (host): pending -> rejected. */
inline Reply handle_decline_booking(Call& c) {
  int64_t caller_id = 0;
  Booking* b = nullptr;
  if (auto err = find_hosted_booking(c, caller_id, b)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  BodyChecker chk(body);
  auto reason = chk.str("reason");
  if (!chk.ok()) return validation_reply(c, chk.errors());
  if (b->status != "pending") return error_reply(c, 400, "Booking with uid=" + b->uid + " is not pending.");
  b->status = "rejected";
  b->updated_ms = c.now_ms;
  emit_booking_webhooks(c, "BOOKING_REJECTED", *b, nullptr, reason.value_or(""));
  return ok_reply(booking_json(c.st, *b));
}

}  // namespace calcom_emu
