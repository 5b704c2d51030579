/* web_webhook_pages.cpp: the three Cal.com webhook pages.
 *   /cal-webhook-management  our webhook subscriptions next to what Cal.com
 *                            reports (drift flagged), create / update /
 *                            delete, and the one-click default setup. Coaches
 *                            manage their own user webhooks; admins also the
 *                            platform-wide (OAuth-client) ones and any coach's.
 *   /cal-webhook-test        builds a realistic delivery (the reference sample
 *                            bodies, fresh ids), signs it with a chosen secret,
 *                            POSTs it through nginx to our receiver and shows
 *                            the exact request, the answer, the inbox row and
 *                            the CalBooking row before and after. Admins only:
 *                            it signs with the platform's secrets, so anyone
 *                            using it could forge any coach's bookings.
 *   /cal-webhook-monitor     webhooks::stats (hourly counts, failures, retry
 *                            queue, dead letters with replay, signature
 *                            failures, latency) and the inbox with filters,
 *                            paging and raw bodies. Admins only: the counts
 *                            span every coach (coaches get 403).
 * Forms work without JavaScript and carry csrf_token. The rules live in
 * webhooks.hpp; this file turns form fields into its inputs and its answers
 * into template data. */
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include <unistd.h>

#include "availability.hpp"
#include "cal_integration.hpp"
#include "crypto.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "web.hpp"
#include "webhooks.hpp"

namespace coach::web {
namespace {

namespace wh = coach::webhooks;

Error bad(const std::string& code, const std::string& msg) { return make_error(400, code, msg); }

/* A whole number from the query within [lo, hi]; dflt when absent. */
Result<int> bounded_param(const Request& req, const std::string& name, int lo, int hi, int dflt) {
  std::string s = req.param(name);
  if (s.empty()) return dflt;
  if (!all_digits(s) || s.size() > 6 || std::stoi(s) < lo || std::stoi(s) > hi)
    return bad("invalid_field", name + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return std::stoi(s);
}

std::string pretty_if_json(const std::string& s) {
  if (auto p = json::parse(s); p) return json::write_pretty(*p);
  return s;
}

/* "2026-11-25 16:52:41.090000" -> "2026-11-25 16:52:41" ("" stays ""). */
std::string short_time(const std::string& t) { return t.size() > 19 ? t.substr(0, 19) : t; }

enum class Who { coaches_and_admins, admins_only };

/* Signs in, checks the role and (for POST) the form's content type and CSRF
 * token. Returns the response to send when the request stops here. */
std::optional<Response> gate(Context& ctx, const Request& req, const session::Auth& auth, Who who, Form* form) {
  if (req.method != "GET" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  if (who == Who::admins_only && !auth.user->is_admin())
    return error_for(ctx, req, auth, 403, "admins_only",
                     auth.user->is_coach() ? "This page is for admins: it covers every coach's webhooks. Your own "
                                             "webhooks are on the Webhooks page (/cal-webhook-management)."
                                           : "This page is for admins.");
  if (who == Who::coaches_and_admins && !auth.user->is_coach() && !auth.user->is_admin())
    return error_for(ctx, req, auth, 403, "coaches_only", "This page is for coaches and admins.");
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

/* Trigger names as template options; the current value is kept even when it
 * is not one of ours (so a page never silently switches it). */
Json::Value trigger_options(const std::vector<std::string>& names, const std::string& selected, bool with_any) {
  Json::Value arr(Json::arrayValue);
  if (with_any) {
    Json::Value o;
    o["value"] = "";
    o["label"] = "any";
    o["selected"] = selected.empty();
    arr.append(o);
  }
  bool listed = selected.empty() || std::find(names.begin(), names.end(), selected) != names.end();
  std::vector<std::string> all = names;
  if (!listed) all.insert(all.begin(), selected);
  for (const auto& n : all) {
    Json::Value o;
    o["value"] = n;
    o["label"] = n;
    o["selected"] = n == selected;
    arr.append(o);
  }
  return arr;
}

/* ------------------------------------------------------------------------
 * Order-preserving JSON text rewriting. Cal.com sends compact JSON in the
 * order JavaScript built it; jsoncpp would sort the keys. The test page edits
 * values in place, pretty-prints for the textarea and compacts for sending
 * without changing the order. The text must already have passed json::parse.
 * Paths: keys joined with '.', array elements as "[]" ("payload.attendees[].email").
 * ---------------------------------------------------------------------- */
struct JsonEdit {
  std::map<std::string, std::string> set;     // path -> raw JSON replacing the value there
  std::set<std::string> drop;                 // object members left out
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> append;  // object path -> members added when absent
};

class JsonRewriter {
 public:
  JsonRewriter(const std::string& text, const JsonEdit& edit, bool pretty, int depth)
      : s_(text), e_(edit), pretty_(pretty), base_(depth) {}

  std::string run() {
    value("", base_);
    return out_;
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void newline(int depth) {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }
  /* A string token, quotes included. */
  std::string string_token() {
    size_t b = i_++;
    while (i_ < s_.size() && s_[i_] != '"') i_ += s_[i_] == '\\' ? 2 : 1;
    ++i_;
    return s_.substr(b, i_ - b);
  }
  std::string scalar_token() {
    if (s_[i_] == '"') return string_token();
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' &&
           !std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
    return s_.substr(b, i_ - b);
  }
  static std::string key_of(const std::string& token) {
    if (token.find('\\') == std::string::npos) return token.substr(1, token.size() - 2);
    auto v = json::parse(token);
    return v && v->isString() ? v->asString() : token;
  }
  /* The replacement value, re-indented to this depth. */
  std::string sub(const std::string& raw, int depth) const {
    if (!json::parse(raw)) return raw;
    return JsonRewriter(raw, JsonEdit{}, pretty_, depth).run();
  }
  void value(const std::string& path, int depth) {
    ws();
    auto it = e_.set.find(path);
    size_t mark = out_.size();
    if (s_[i_] == '{') object(path, depth);
    else if (s_[i_] == '[') array(path, depth);
    else out_ += scalar_token();
    if (it != e_.set.end()) {
      out_.resize(mark);
      out_ += sub(it->second, depth);
    }
  }
  void object(const std::string& path, int depth) {
    ++i_;
    out_ += '{';
    bool any = false;
    std::set<std::string> seen;
    ws();
    if (s_[i_] == '}') ++i_;
    else
      for (;;) {
        ws();
        std::string raw_key = string_token();
        std::string key = key_of(raw_key);
        std::string child = path.empty() ? key : path + "." + key;
        seen.insert(key);
        ws();
        ++i_;  // ':'
        if (e_.drop.count(child)) {
          std::string keep;
          keep.swap(out_);
          value(child, depth + 1);
          keep.swap(out_);
        } else {
          if (any) out_ += ',';
          newline(depth + 1);
          out_ += raw_key;
          out_ += pretty_ ? ": " : ":";
          value(child, depth + 1);
          any = true;
        }
        ws();
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        ++i_;  // '}'
        break;
      }
    if (auto ap = e_.append.find(path); ap != e_.append.end())
      for (const auto& [k, raw] : ap->second) {
        if (seen.count(k)) continue;
        if (any) out_ += ',';
        newline(depth + 1);
        out_ += json::write(Json::Value(k));
        out_ += pretty_ ? ": " : ":";
        out_ += sub(raw, depth + 1);
        any = true;
      }
    if (any) newline(depth);
    out_ += '}';
  }
  void array(const std::string& path, int depth) {
    ++i_;
    out_ += '[';
    bool any = false;
    ws();
    if (s_[i_] == ']') {
      ++i_;
    } else {
      for (;;) {
        if (any) out_ += ',';
        newline(depth + 1);
        value(path + "[]", depth + 1);
        any = true;
        ws();
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        ++i_;  // ']'
        break;
      }
    }
    if (any) newline(depth);
    out_ += ']';
  }

  const std::string& s_;
  const JsonEdit& e_;
  bool pretty_;
  int base_;
  size_t i_ = 0;
  std::string out_;
};

/* Applies edit to valid JSON text; compact (JSON.stringify style) or pretty
 * with two-space indents. Returns the text unchanged if it is not JSON. */
std::string rewrite_json(const std::string& text, const JsonEdit& edit, bool pretty) {
  if (!json::parse(text)) return text;
  return JsonRewriter(text, edit, pretty, 0).run();
}

std::string raw_str(const std::string& s) { return json::write(Json::Value(s)); }

/* ------------------------------------------------------------------------
 * Sample bodies: the reference deliveries (calcom-webhook-samples/, exact
 * bytes as Cal.com sends them) and plausible ones built from them for the
 * triggers that have none.
 * ---------------------------------------------------------------------- */
const char* const kSampleBookingCreated =
    R"json({"triggerEvent":"BOOKING_CREATED","createdAt":"2026-03-02T09:14:07.512Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","startTime":"2026-03-10T15:00:00Z","endTime":"2026-03-10T16:00:00Z","type":"career-coaching-60","organizer":{"id":1042,"name":"Maria Lopez","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","usernameInOrg":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","timeZone":"Europe/Madrid","language":{"locale":"en"},"timeFormat":"HH:mm","utcOffset":60},"attendees":[{"email":"sam.carter@client.example","name":"Sam Carter","firstName":"","lastName":"","timeZone":"America/New_York","language":{"locale":"en"},"utcOffset":-240}],"additionalNotes":"Preparing for a senior PM interview loop.","description":"Focused 1:1 career coaching session.","eventTypeId":5531,"hideCalendarNotes":false,"hideCalendarEventDetails":false,"hideOrganizerEmail":false,"schedulingType":null,"seatsPerTimeSlot":null,"seatsShowAttendees":true,"seatsShowAvailabilityCount":true,"customReplyToEmail":null,"disableRescheduling":false,"disableCancelling":false,"customInputs":{},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_reschedule","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"userFieldsResponses":{"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"location":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","destinationCalendar":null,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":0,"requiresConfirmation":false,"oneTimePassword":null,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformBookingUrl":"https://coachmarket.example/sessions/confirmed","organizationId":7730,"hashedLink":null,"hideBranding":false,"uid":"hJ3mZ9qW2xKc7VnT5bRp1L","videoCallData":{"type":"zoom_video","id":"84512345678","password":"482913","url":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09"},"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success":1,"failures":0,"errors":[]}],"eventTitle":"Career coaching (60 min)","eventDescription":"Focused 1:1 career coaching session.","price":0,"currency":"usd","length":60,"bookingId":88213,"metadata":{"videoCallUrl":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","agentSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"status":"ACCEPTED"}})json";
const char* const kSampleBookingRescheduled =
    R"json({"triggerEvent":"BOOKING_RESCHEDULED","createdAt":"2026-03-09T18:02:44.091Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","startTime":"2026-03-12T15:00:00Z","endTime":"2026-03-12T16:00:00Z","type":"career-coaching-60","organizer":{"id":1042,"name":"Maria Lopez","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","usernameInOrg":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","timeZone":"Europe/Madrid","language":{"locale":"en"},"timeFormat":"HH:mm","utcOffset":60},"attendees":[{"email":"sam.carter@client.example","name":"Sam Carter","firstName":"","lastName":"","timeZone":"America/New_York","language":{"locale":"en"},"utcOffset":-240}],"additionalNotes":"Preparing for a senior PM interview loop.","description":"Focused 1:1 career coaching session.","eventTypeId":5531,"hideCalendarNotes":false,"hideCalendarEventDetails":false,"hideOrganizerEmail":false,"schedulingType":null,"seatsPerTimeSlot":null,"seatsShowAttendees":true,"seatsShowAvailabilityCount":true,"customReplyToEmail":null,"disableRescheduling":false,"disableCancelling":false,"customInputs":{},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_reschedule","value":"Client has a conflicting interview","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"userFieldsResponses":{"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"location":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","destinationCalendar":null,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":1,"requiresConfirmation":false,"oneTimePassword":null,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformBookingUrl":"https://coachmarket.example/sessions/confirmed","organizationId":7730,"hashedLink":null,"hideBranding":false,"uid":"Tq8wR2nV5mC1xZ7kL3pJ9s","rescheduledBy":"sam.carter@client.example","videoCallData":{"type":"zoom_video","id":"84512345678","password":"482913","url":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09"},"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success":1,"failures":0,"errors":[]}],"eventTitle":"Career coaching (60 min)","eventDescription":"Focused 1:1 career coaching session.","price":0,"currency":"usd","length":60,"bookingId":88377,"rescheduleId":88213,"rescheduleUid":"hJ3mZ9qW2xKc7VnT5bRp1L","rescheduleStartTime":"2026-03-10T15:00:00Z","rescheduleEndTime":"2026-03-10T16:00:00Z","metadata":{"videoCallUrl":"https://us06web.zoom.us/j/84512345678?pwd=Zk9vQ2xYb3R6dUhQeWdKc1N2a0F4dz09","agentSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"status":"ACCEPTED"}})json";
const char* const kSampleBookingCancelled =
    R"json({"triggerEvent":"BOOKING_CANCELLED","createdAt":"2026-03-11T08:30:12.345Z","payload":{"bookerUrl":"https://app.cal.com","title":"Career coaching (60 min) between Maria Lopez and Sam Carter","length":60,"type":"career-coaching-60","additionalNotes":"Follow-up: negotiation practice.","description":"Focused 1:1 career coaching session.","customInputs":{},"eventTypeId":5531,"userFieldsResponses":{"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label":"additional_notes","value":"Follow-up: negotiation practice.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_reschedule","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"startTime":"2026-03-17T15:00:00+00:00","endTime":"2026-03-17T16:00:00+00:00","organizer":{"id":1042,"username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","name":"Maria Lopez","timeZone":"Europe/Madrid","timeFormat":"HH:mm","language":{"locale":"en"},"utcOffset":60},"attendees":[{"name":"Sam Carter","email":"sam.carter@client.example","timeZone":"America/New_York","phoneNumber":null,"language":{"locale":"en"},"utcOffset":-240}],"uid":"Vn4cX8bQ2wE6rT1yU9iO3p","bookingId":88412,"location":"integrations:zoom","destinationCalendar":[],"cancellationReason":"Coach is unwell","seatsPerTimeSlot":null,"seatsShowAttendees":false,"iCalUID":"Rb7nM2kQ9xV4cL8wT1pZ6d@Cal.com","iCalSequence":1,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformCancelUrl":"https://coachmarket.example/sessions/cancel","hideOrganizerEmail":false,"platformBookingUrl":"https://coachmarket.example/sessions/confirmed","customReplyToEmail":null,"schedulingType":null,"hideBranding":false,"eventTitle":"Career coaching (60 min)","eventDescription":"Focused 1:1 career coaching session.","requiresConfirmation":null,"price":null,"currency":"usd","status":"CANCELLED","cancelledBy":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","requestReschedule":false}})json";
const char* const kSampleMeetingEnded =
    R"json({"triggerEvent":"MEETING_ENDED","id":88377,"uid":"Tq8wR2nV5mC1xZ7kL3pJ9s","idempotencyKey":"3b9f6c1e-5d2a-5f47-9a0c-2e8d4b7f1a63","userId":1042,"userPrimaryEmail":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","eventTypeId":5531,"title":"Career coaching (60 min) between Maria Lopez and Sam Carter","description":"Preparing for a senior PM interview loop.","customInputs":{},"responses":{"name":{"label":"your_name","value":"Sam Carter","isHidden":false},"email":{"label":"email_address","value":"sam.carter@client.example","isHidden":false},"attendeePhoneNumber":{"label":"phone_number","isHidden":true},"location":{"label":"location","value":{"value":"integrations:zoom","optionValue":""},"isHidden":false},"title":{"label":"what_is_this_meeting_about","isHidden":true},"notes":{"label":"additional_notes","value":"Preparing for a senior PM interview loop.","isHidden":false},"guests":{"label":"additional_guests","value":[],"isHidden":false},"rescheduleReason":{"label":"reason_for_reschedule","value":"Client has a conflicting interview","isHidden":false},"coaching-goal":{"label":"What do you want to work on?","value":"Mock behavioural interview","isHidden":false}},"startTime":"2026-03-12T15:00:00.000Z","endTime":"2026-03-12T16:00:00.000Z","location":"integrations:zoom","createdAt":"2026-03-09T18:02:43.877Z","updatedAt":"2026-03-09T18:02:43.877Z","status":"ACCEPTED","paid":false,"destinationCalendarId":null,"cancellationReason":null,"rejectionReason":null,"reassignReason":null,"reassignById":null,"dynamicEventSlugRef":null,"dynamicGroupSlugRef":null,"rescheduled":null,"fromReschedule":"hJ3mZ9qW2xKc7VnT5bRp1L","recurringEventId":null,"smsReminderNumber":null,"scheduledJobs":[],"metadata":{"agentSessionId":"as_7f3e2c","platformClientId":"clz8kq2vd0001mh08abcd1234"},"isRecorded":false,"iCalUID":"Xk4pT8sWq2LmN6vR9cBd3F@Cal.com","iCalSequence":1,"rating":null,"ratingFeedback":null,"noShowHost":false,"oneTimePassword":null,"cancelledBy":null,"rescheduledBy":"sam.carter@client.example","creationSource":"API_V2","user":{"uuid":"6f1d2c3b-8e4a-4b7c-9d0e-1a2b3c4d5e6f","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","name":"Maria Lopez","timeZone":"Europe/Madrid","username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","isPlatformManaged":true},"attendees":[{"id":240117,"email":"sam.carter@client.example","name":"Sam Carter","timeZone":"America/New_York","phoneNumber":null,"locale":"en","bookingId":88377,"noShow":false}],"payment":[],"references":[],"appsStatus":[{"appName":"Zoom Video","type":"zoom_video","success":1,"failures":0,"errors":[]}]})json";
const char* const kSampleBookingNoShowUpdated =
    R"json({"triggerEvent":"BOOKING_NO_SHOW_UPDATED","createdAt":"2026-03-12T15:21:05.004Z","payload":{"message":"sam.carter@client.example marked as no-show","attendees":[{"email":"sam.carter@client.example","noShow":true}],"bookingUid":"Tq8wR2nV5mC1xZ7kL3pJ9s","bookingId":88377,"platformClientId":"clz8kq2vd0001mh08abcd1234","platformCancelUrl":"https://coachmarket.example/sessions/cancel","platformRescheduleUrl":"https://coachmarket.example/sessions/reschedule","platformBookingUrl":"https://coachmarket.example/sessions/confirmed","arePlatformEmailsEnabled":false,"areCalendarEventsEnabled":true}})json";
const char* const kSamplePing =
    R"json({"triggerEvent":"PING","createdAt":"2026-03-01T12:00:00.123Z","payload":{"type":"Test","title":"Test trigger event","startTime":"2026-03-01T12:00:00.120Z","endTime":"2026-03-01T12:00:00.120Z","attendees":[{"email":"jdoe@example.com","name":"John Doe","timeZone":"Europe/London","language":{"locale":"en"},"utcOffset":0}],"organizer":{"name":"Cal","email":"no-reply@cal.com","timeZone":"Europe/London","language":{"locale":"en"},"utcOffset":0}}})json";
/* Cal.com's no-show webhooks after a Cal Video call (tasker payload): not in
 * the reference folder; built from the same booking as the samples. */
const char* const kSampleAfterNoShow =
    R"json({"triggerEvent":"AFTER_HOSTS_CAL_VIDEO_NO_SHOW","createdAt":"2026-03-10T15:05:00.418Z","payload":{"title":"Career coaching (60 min) between Maria Lopez and Sam Carter","bookingId":88213,"bookingUid":"hJ3mZ9qW2xKc7VnT5bRp1L","startTime":"2026-03-10T15:00:00.000Z","endTime":"2026-03-10T16:00:00.000Z","attendees":[{"id":240101,"email":"sam.carter@client.example","name":"Sam Carter","timeZone":"America/New_York","locale":"en"}],"hostEmail":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example","participants":[{"id":"a1f09c3e","user_id":null,"user_name":"Sam Carter","join_time":1773154830,"duration":300}],"eventType":{"id":5531,"teamId":null,"parentId":null,"calVideoSettings":null},"webhook":{"id":"2f6c1b7e-4f0a-4c55-9d3e-8b1a7c2e5d90","subscriberUrl":"https://coachmarket.example/api/cal/webhooks/receiver","time":5,"timeUnit":"MINUTE","eventTriggers":["AFTER_HOSTS_CAL_VIDEO_NO_SHOW","AFTER_GUESTS_CAL_VIDEO_NO_SHOW"]},"message":"Host with email maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example didn't join the call or didn't join before 5 minutes"}})json";

/* A routing-form submission and an out-of-office entry (no reference
 * samples; shapes of Cal.com's routing-forms and OOO webhook payloads). */
const char* const kSampleFormSubmitted =
    R"json({"triggerEvent":"FORM_SUBMITTED","createdAt":"2026-03-01T10:22:41.907Z","payload":{"formId":"4e7a2c9b-1d3f-4a8e-b6c5-9f0d2e1a7b34","formName":"Which coach fits you?","teamId":null,"responseId":5120,"responses":{"What do you need help with?":{"value":"Interview preparation","response":"Interview preparation"},"Email":{"value":"sam.carter@client.example","response":"sam.carter@client.example"}},"What do you need help with?":"Interview preparation","Email":"sam.carter@client.example"}})json";
const char* const kSampleOooCreated =
    R"json({"triggerEvent":"OOO_CREATED","createdAt":"2026-03-03T08:00:12.250Z","payload":{"oooEntry":{"id":731,"start":"2026-03-23T00:00:00.000Z","end":"2026-03-27T23:59:59.999Z","createdAt":"2026-03-03T08:00:12.101Z","updatedAt":"2026-03-03T08:00:12.101Z","notes":"Conference week","reason":{"emoji":"🏝️","reason":"vacation"},"reasonId":1,"user":{"id":1042,"name":"Maria Lopez","username":"maria-lopez-clz8kq2vd0001mh08abcd1234-coachmarket","timeZone":"Europe/Madrid","email":"maria.lopez+clz8kq2vd0001mh08abcd1234@coachmarket.example"},"toUser":null,"uuid":"9b0e6f3a-2c71-4d58-a1e4-6f2b8c0d7e95"}}})json";

/* The compact sample body for trigger: a reference file, or one derived from
 * the closest reference (same booking, the trigger's own status and extras). */
std::string sample_body(const std::string& trigger) {
  JsonEdit e;
  e.set["triggerEvent"] = raw_str(trigger);
  // Before conferencing exists (request, rejection, unpaid) there is no join URL.
  auto without_video = [&] {
    e.set["payload.location"] = raw_str("integrations:zoom");
    e.drop.insert("payload.videoCallData");
    e.drop.insert("payload.metadata.videoCallUrl");
    e.drop.insert("payload.appsStatus");
  };
  if (trigger == "BOOKING_CREATED") return kSampleBookingCreated;
  if (trigger == "BOOKING_RESCHEDULED") return kSampleBookingRescheduled;
  if (trigger == "BOOKING_CANCELLED") return kSampleBookingCancelled;
  if (trigger == "MEETING_ENDED") return kSampleMeetingEnded;
  if (trigger == "BOOKING_NO_SHOW_UPDATED") return kSampleBookingNoShowUpdated;
  if (trigger == "PING") return kSamplePing;
  if (trigger == "MEETING_STARTED") return rewrite_json(kSampleMeetingEnded, e, false);
  if (trigger == "BOOKING_REQUESTED") {
    without_video();
    e.set["payload.status"] = raw_str("PENDING");
    e.set["payload.requiresConfirmation"] = "true";
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "BOOKING_REJECTED") {
    without_video();
    e.set["payload.status"] = raw_str("REJECTED");
    e.set["payload.requiresConfirmation"] = "true";
    e.append["payload"] = {{"rejectionReason", raw_str("Coach is fully booked that week")}};
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "BOOKING_PAYMENT_INITIATED") {
    without_video();
    e.set["payload.status"] = raw_str("PENDING");
    e.set["payload.price"] = "7500";
    e.append["payload"] = {{"paymentId", "31207"}, {"paid", "false"}};
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "BOOKING_PAID") {
    e.set["payload.price"] = "7500";
    e.append["payload"] = {{"paymentId", "31207"}, {"paid", "true"}};
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "RECORDING_READY") {
    e.append["payload"] = {{"downloadLink", raw_str("https://cal-video-recordings.example/hJ3mZ9qW2xKc7VnT5bRp1L/recording.mp4")}};
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "RECORDING_TRANSCRIPTION_GENERATED") {
    e.append["payload"] = {
        {"downloadLinks", R"({"transcription":[{"format":"vtt","link":"https://cal-video-recordings.example/hJ3mZ9qW2xKc7VnT5bRp1L/transcript.vtt"}],"recording":"https://cal-video-recordings.example/hJ3mZ9qW2xKc7VnT5bRp1L/recording.mp4"})"}};
    return rewrite_json(kSampleBookingCreated, e, false);
  }
  if (trigger == "FORM_SUBMITTED") return kSampleFormSubmitted;
  if (trigger == "OOO_CREATED") return kSampleOooCreated;
  if (trigger == "AFTER_HOSTS_CAL_VIDEO_NO_SHOW") return kSampleAfterNoShow;
  if (trigger == "AFTER_GUESTS_CAL_VIDEO_NO_SHOW") {
    e.set["payload.message"] = raw_str("Guest didn't join the call or didn't join before 5 minutes");
    e.set["payload.participants"] = R"([{"id":"b7e2d41c","user_id":1042,"user_name":"Maria Lopez","join_time":1773154805,"duration":300}])";
    return rewrite_json(kSampleAfterNoShow, e, false);
  }
  Json::Value generic;
  generic["triggerEvent"] = trigger;
  generic["createdAt"] = "2026-03-02T09:14:07.512Z";
  generic["payload"]["note"] = "No reference sample for this trigger: fill in the payload Cal.com would send";
  return json::write(generic);
}

/* The triggers the test page offers: ours, plus PING (Cal.com's test button). */
std::vector<std::string> test_triggers() {
  std::vector<std::string> t = wh::handled_triggers();
  if (std::find(t.begin(), t.end(), "PING") == t.end()) t.push_back("PING");
  return t;
}

std::string now_iso_ms() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

/* A Cal.com-looking booking uid (22 letters and digits) and booking id. */
struct Ids {
  std::string uid;
  int64_t booking_id = 0;
};
Ids fresh_ids() {
  static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes = crypto::random_bytes(30);
  Ids ids;
  for (size_t i = 0; i < 22; ++i) ids.uid += kAlnum[static_cast<unsigned char>(bytes[i]) % 62];
  uint64_t n = 0;
  for (size_t i = 22; i < 30; ++i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  ids.booking_id = 1000000 + static_cast<int64_t>(n % 8999999);
  return ids;
}

bool is_wrapped(const Json::Value& body) { return body.isObject() && body["payload"].isObject(); }

/* Edits that give the booking a body refers to new identifiers (and a wrapped
 * body a new createdAt), so the receiver sees a new event, not a duplicate.
 * The booking a reschedule moves away from (rescheduleUid) is kept. */
void add_fresh_ids(JsonEdit& e, const Json::Value& body, const Ids& ids) {
  if (is_wrapped(body)) {
    const Json::Value& p = body["payload"];
    if (body.isMember("createdAt")) e.set["createdAt"] = raw_str(now_iso_ms());
    if (p.isMember("uid")) e.set["payload.uid"] = raw_str(ids.uid);
    else if (p.isMember("bookingUid")) e.set["payload.bookingUid"] = raw_str(ids.uid);
    if (p.isMember("bookingId")) e.set["payload.bookingId"] = std::to_string(ids.booking_id);
    // Bodies without a booking still need to differ, or the receiver keys them as the same event.
    if (p.isMember("responseId")) e.set["payload.responseId"] = std::to_string(ids.booking_id);
    if (p["oooEntry"].isObject()) {
      e.set["payload.oooEntry.id"] = std::to_string(ids.booking_id);
      e.set["payload.oooEntry.uuid"] = raw_str(crypto::random_hex(4) + "-" + crypto::random_hex(2) + "-4" +
                                               crypto::random_hex(2).substr(1) + "-a" + crypto::random_hex(2).substr(1) + "-" +
                                               crypto::random_hex(6));
    }
    if (json::str(body, "triggerEvent") == "PING") {  // Cal.com's test button sends the current time
      std::string now = now_iso_ms();
      e.set["payload.startTime"] = raw_str(now);
      e.set["payload.endTime"] = raw_str(now);
    }
  } else if (body.isObject()) {
    if (body.isMember("uid")) e.set["uid"] = raw_str(ids.uid);
    if (body.isMember("id")) e.set["id"] = std::to_string(ids.booking_id);
    e.set["attendees[].bookingId"] = std::to_string(ids.booking_id);
  }
}

/* The booking uid a body is about, and (reschedules) the one it replaces. */
struct BodyRefs {
  std::string trigger, uid, old_uid;
};
BodyRefs refs_of(const Json::Value& body) {
  BodyRefs r;
  if (!body.isObject()) return r;
  r.trigger = json::str(body, "triggerEvent");
  if (is_wrapped(body)) {
    const Json::Value& p = body["payload"];
    r.uid = json::str(p, "uid", json::str(p, "bookingUid"));
    r.old_uid = json::str(p, "rescheduleUid");
  } else {
    r.uid = json::str(body, "uid");
  }
  return r;
}

/* One of our coaches as a Cal.com organizer. */
struct Organizer {
  int64_t user_id = 0, cal_user_id = 0;
  std::string name, email, username, time_zone;
  std::optional<availability::EventTypeRow> event_type;
};

std::optional<Organizer> organizer_of(Context& ctx, int64_t user_id) {
  auto i = integration::find_by_user(ctx.cfg, ctx.db, user_id);
  auto u = ctx.db.query_one("SELECT name FROM users WHERE id = ?", {user_id});
  if (!i || !u || i->cal_user_id == 0) return std::nullopt;
  Organizer o;
  o.user_id = user_id;
  o.cal_user_id = i->cal_user_id;
  o.name = u->str("name");
  o.email = i->cal_email;
  o.username = i->cal_username;
  o.time_zone = i->time_zone.empty() ? "UTC" : i->time_zone;
  auto types = availability::list_event_types(ctx.db, user_id);
  if (!types.empty()) o.event_type = types.front();
  return o;
}

/* Makes the sample booking one of this coach's, so applying it lands on a real
 * coach (CalBooking.coach_user_id comes from the organizer). */
void add_organizer(JsonEdit& e, const Organizer& o) {
  const std::string id = std::to_string(o.cal_user_id);
  for (const char* base : {"payload.organizer.", "user."}) {
    std::string b = base;
    if (b == "payload.organizer.") e.set[b + "id"] = id;
    e.set[b + "name"] = raw_str(o.name);
    e.set[b + "email"] = raw_str(o.email);
    e.set[b + "username"] = raw_str(o.username);
    e.set[b + "usernameInOrg"] = raw_str(o.username);
    e.set[b + "timeZone"] = raw_str(o.time_zone);
  }
  for (const char* k : {"id", "name", "email", "username", "timeZone"}) {
    std::string path = std::string("payload.oooEntry.user.") + k;
    std::string key = k;
    e.set[path] = key == "id" ? id : raw_str(key == "name" ? o.name : key == "email" ? o.email : key == "username" ? o.username : o.time_zone);
  }
  e.set["userId"] = id;
  e.set["userPrimaryEmail"] = raw_str(o.email);
  e.set["payload.hostEmail"] = raw_str(o.email);
  e.set["payload.cancelledBy"] = raw_str(o.email);
  std::string title = (o.event_type ? o.event_type->title : std::string("Career coaching (60 min)")) + " between " +
                      o.name + " and Sam Carter";
  e.set["payload.title"] = raw_str(title);
  e.set["title"] = raw_str(title);
  if (o.event_type) {
    const std::string et = std::to_string(o.event_type->cal_event_type_id);
    e.set["payload.eventTypeId"] = et;
    e.set["eventTypeId"] = et;
    e.set["payload.eventType.id"] = et;
    e.set["payload.type"] = raw_str(o.event_type->slug);
    e.set["payload.eventTitle"] = raw_str(o.event_type->title);
  }
}

/* The CalBooking row of a uid as ordered (column, value) pairs; nullopt when
 * there is none. Known columns first, then any others alphabetically. */
std::optional<std::vector<std::pair<std::string, std::string>>> booking_row(db::Db& db, const std::string& uid) {
  if (uid.empty()) return std::nullopt;
  auto row = db.query_one("SELECT * FROM CalBooking WHERE cal_uid = ?", {uid});
  if (!row) return std::nullopt;
  static const std::vector<std::string> first = {"id", "cal_uid", "cal_booking_id", "coach_user_id", "agent_user_id",
                                                 "cal_event_type_id", "status", "start_utc", "end_utc"};
  std::vector<std::pair<std::string, std::string>> out;
  auto value_of = [&](const std::string& c) { return row->is_null(c) ? std::string("NULL") : row->str(c); };
  for (const auto& c : first)
    if (row->cols.count(c)) out.emplace_back(c, value_of(c));
  for (const auto& [c, v] : row->cols)
    if (std::find(first.begin(), first.end(), c) == first.end() && c != "raw_json") out.emplace_back(c, value_of(c));
  if (row->cols.count("raw_json"))
    out.emplace_back("raw_json", row->is_null("raw_json") ? "NULL" : std::to_string(row->str("raw_json").size()) + " bytes");
  return out;
}

/* Template data comparing a booking row before and after the delivery. */
Json::Value booking_change(const std::string& label, const std::string& uid,
                           const std::optional<std::vector<std::pair<std::string, std::string>>>& before,
                           const std::optional<std::vector<std::pair<std::string, std::string>>>& after) {
  Json::Value v;
  v["label"] = label;
  v["uid"] = uid;
  v["existed"] = before.has_value();
  v["exists"] = after.has_value();
  Json::Value rows(Json::arrayValue);
  std::map<std::string, std::string> old;
  if (before)
    for (const auto& [c, val] : *before) old[c] = val;
  int n_changed = 0;
  if (after) {
    for (const auto& [c, val] : *after) {
      Json::Value r;
      r["col"] = c;
      r["before"] = before ? (old.count(c) ? old[c] : "(no column)") : "—";
      r["after"] = val;
      bool changed = !before || !old.count(c) || old[c] != val;
      if (c == "updated_at" && before) changed = false;  // moves on every write; not news
      r["changed"] = changed;
      if (changed) ++n_changed;
      rows.append(r);
    }
  }
  v["rows"] = rows;
  v["summary"] = !after ? (before ? "Row gone" : "No CalBooking row for this uid (before or after)")
                 : !before ? "New row"
                 : n_changed ? std::to_string(n_changed) + " column(s) changed"
                             : "Unchanged";
  v["row_id"] = after ? after->front().second : "";
  return v;
}

Json::Value inbox_json(const wh::InboxEvent& e) {
  Json::Value v;
  v["eid"] = std::to_string(e.id);
  v["trigger"] = e.trigger;
  v["status"] = e.status;
  v["outcome"] = e.outcome.empty() ? "—" : e.outcome;
  v["booking_uid"] = text_or_null(e.booking_uid);
  v["cal_booking_id"] = e.cal_booking_id ? Json::Value(std::to_string(e.cal_booking_id)) : Json::Value();
  v["coach_user_id"] = e.coach_user_id ? Json::Value(std::to_string(e.coach_user_id)) : Json::Value();
  v["subscription"] = e.subscription_id ? "#" + std::to_string(e.subscription_id) : "configured secret";
  v["attempts"] = std::to_string(e.attempts) + " / " + std::to_string(e.max_attempts);
  v["apply_count"] = e.apply_count;
  v["duplicate_count"] = e.duplicate_count;
  v["last_error"] = text_or_null(e.last_error);
  v["received_at"] = short_time(e.received_at);
  v["next_attempt_at"] = text_or_null(short_time(e.next_attempt_at));
  v["processed_at"] = text_or_null(short_time(e.processed_at));
  v["event_created_at"] = text_or_null(short_time(e.event_created_at));
  v["last_duplicate_at"] = text_or_null(short_time(e.last_duplicate_at));
  v["latency"] = e.latency_ms >= 0 ? std::to_string(e.latency_ms) + " ms" : "—";
  v["body_bytes"] = std::to_string(e.body_bytes);
  v["idempotency_key"] = e.idempotency_key;
  v["is_dead"] = e.status == "dead";
  v["is_failed"] = e.status == "dead" || e.status == "retry";
  v["is_done"] = e.status == "done";
  return v;
}

/* The inbox row of a delivery: the id the receiver answered with, else the
 * newest row with the body's idempotency key. */
std::optional<wh::InboxEvent> find_inbox_row(db::Db& db, const Json::Value& answer, const Json::Value& body) {
  for (const Json::Value* o : {&answer, &answer["data"]}) {
    if (!o->isObject()) continue;
    for (const char* k : {"eventId", "event_id", "id"})
      if ((*o)[k].isInt64() && (*o)[k].asInt64() > 0) return wh::get_event(db, (*o)[k].asInt64());
  }
  auto key = wh::idempotency_key(body);
  if (!key) return std::nullopt;
  wh::InboxFilter f;
  f.trigger = json::str(body, "triggerEvent");
  f.limit = 200;
  for (const auto& e : wh::list_events(db, f).events)
    if (e.idempotency_key == *key) return wh::get_event(db, e.id);
  return std::nullopt;
}

/* What the secret select offers: the configured secret, each of our
 * subscriptions holding one, a wrong one, and none (Cal.com's literal). */
Json::Value secret_options(db::Db& db, const std::string& selected) {
  Json::Value arr(Json::arrayValue);
  auto add = [&](const std::string& value, const std::string& label) {
    Json::Value o;
    o["value"] = value;
    o["label"] = label;
    o["selected"] = value == selected;
    arr.append(o);
  };
  add("configured", "The configured secret (cal-webhook-secret-file)");
  for (const auto& s : wh::list_subscriptions(db, std::nullopt)) {
    if (!s.has_secret) continue;
    std::string whose = "platform";
    if (s.scope == wh::Scope::user) {
      auto u = db.query_one("SELECT name FROM users WHERE id = ?", {s.owner_user_id});
      whose = "user webhook of " + (u ? u->str("name") : "user " + std::to_string(s.owner_user_id));
    }
    add("sub:" + std::to_string(s.id), "Subscription #" + std::to_string(s.id) + " (" + whose + (s.active ? "" : ", inactive") + ")");
  }
  add("wrong", "A deliberately wrong secret (expect 401)");
  add("none", "No secret: header “no-secret-provided” (expect 401)");
  return arr;
}

/* The X-Cal-Signature-256 value for the chosen secret, and a label of it. */
Result<std::pair<std::string, std::string>> signature_for(Context& ctx, const std::string& choice, const std::string& body) {
  if (choice == "configured" || choice.empty()) {
    auto sig = wh::sign_body_for(ctx.cfg, ctx.db, 0, body);
    if (!sig) return sig.error();
    return std::make_pair(*sig, std::string("the configured secret"));
  }
  if (choice == "wrong") return std::make_pair(wh::sign_body("whsec_wrong_" + crypto::random_hex(12), body), std::string("a random wrong secret"));
  if (choice == "none") return std::make_pair(std::string("no-secret-provided"), std::string("no secret"));
  if (choice.rfind("sub:", 0) == 0) {
    auto id = positive_id(choice.substr(4), "Subscription");
    if (!id) return id.error();
    auto sub = wh::find_subscription(ctx.db, *id);
    if (!sub) return make_error(404, "unknown_subscription", "No subscription #" + std::to_string(*id));
    auto sig = wh::sign_body_for(ctx.cfg, ctx.db, *id, body);
    if (!sig) return sig.error();
    return std::make_pair(*sig, "the secret of subscription #" + std::to_string(*id) + " (" + wh::to_string(sub->scope) + ")");
  }
  return bad("invalid_field", "Pick a signing secret from the list");
}

Json::Value organizer_options(Context& ctx, int64_t selected) {
  Json::Value arr(Json::arrayValue);
  Json::Value none;
  none["value"] = "";
  none["label"] = "The sample's (Maria Lopez, Cal.com user 1042: not one of ours)";
  none["selected"] = selected == 0;
  arr.append(none);
  for (const auto& r : ctx.db.query(
           "SELECT u.id, u.name, ci.cal_user_id FROM users u JOIN CalendarIntegration ci ON ci.user_id = u.id "
           "WHERE ci.status = 'active' AND ci.cal_user_id IS NOT NULL ORDER BY u.name LIMIT 500")) {
    Json::Value o;
    o["value"] = r.str("id");
    o["label"] = r.str("name") + " (Cal.com user " + r.str("cal_user_id") + ")";
    o["selected"] = r.i64("id") == selected;
    arr.append(o);
  }
  return arr;
}

/* /cal-webhook-test. GET ?trigger=&coach=&uid= loads a sample; POST sends. */
Response webhook_test_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, Who::admins_only, &form)) return *stop;
  const bool posted = req.method == "POST";
  auto in = [&](const std::string& k) { return posted ? field(form, k) : req.param(k); };

  Json::Value data(Json::objectValue);
  int status = 200;
  auto fail = [&](const Error& e) {
    status = e.http_status;
    data["error"] = e.message;
    data["error_code"] = e.code;
  };
  const auto triggers = test_triggers();
  std::string trigger = in("trigger").empty() ? "BOOKING_CREATED" : in("trigger");
  if (trigger.size() > 64 || !std::all_of(trigger.begin(), trigger.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    fail(bad("invalid_field", "Trigger '" + clip(trigger) + "' is not a trigger name"));
    trigger = "BOOKING_CREATED";
  }
  int64_t coach_id = 0;
  if (!in("coach").empty()) {
    auto id = positive_id(in("coach"), "Organizer");
    if (id) coach_id = *id;
    else fail(id.error());
  }
  std::string target_uid = trim(in("uid"));
  if (target_uid.size() > 191) {
    fail(bad("invalid_field", "Booking uid is too long"));
    target_uid.clear();
  }
  std::optional<Organizer> organizer;
  if (coach_id) {
    organizer = organizer_of(ctx, coach_id);
    if (!organizer && status == 200) fail(make_error(404, "not_connected", "User " + std::to_string(coach_id) + " has no active Cal.com connection"));
  }

  std::string body_text, secret_choice = "configured";
  bool keep_ids = false, raw = false;
  if (!posted) {
    // Prefill: the sample with fresh ids (or the chosen booking's), the
    // chosen coach as organizer, pretty-printed in Cal.com's key order.
    std::string compact = sample_body(trigger);
    auto body = json::parse(compact);
    JsonEdit e;
    if (body) {
      Ids ids = fresh_ids();
      add_fresh_ids(e, *body, ids);
      if (!target_uid.empty()) {
        auto row = ctx.db.query_one("SELECT cal_booking_id, coach_user_id, DATE_FORMAT(start_utc, '%Y-%m-%dT%H:%i:%sZ') AS s, "
                                    "DATE_FORMAT(end_utc, '%Y-%m-%dT%H:%i:%sZ') AS e FROM CalBooking WHERE cal_uid = ?",
                                    {target_uid});
        std::string bid = row && !row->is_null("cal_booking_id") ? row->str("cal_booking_id") : std::to_string(ids.booking_id);
        if (trigger == "BOOKING_RESCHEDULED") {
          // The chosen booking is the one being moved; the new one gets fresh ids.
          e.set["payload.rescheduleUid"] = raw_str(target_uid);
          e.set["payload.rescheduleId"] = bid;
          if (row) {
            e.set["payload.rescheduleStartTime"] = raw_str(row->str("s"));
            e.set["payload.rescheduleEndTime"] = raw_str(row->str("e"));
          }
        } else {
          for (const char* k : {"payload.uid", "payload.bookingUid", "uid"})
            if (e.set.count(k)) e.set[k] = raw_str(target_uid);
          for (const char* k : {"payload.bookingId", "id", "attendees[].bookingId"})
            if (e.set.count(k)) e.set[k] = bid;
          keep_ids = true;  // sending must not replace the chosen booking's ids
          if (row && trigger != "BOOKING_CREATED" && trigger != "BOOKING_NO_SHOW_UPDATED") {
            bool unwrapped = !is_wrapped(*body);
            std::string s = row->str("s"), en = row->str("e");
            if (unwrapped) {  // MEETING_*: full ISO with milliseconds
              s = s.substr(0, 19) + ".000Z";
              en = en.substr(0, 19) + ".000Z";
            }
            if (trigger == "BOOKING_CANCELLED") {  // "+00:00" offsets
              s = s.substr(0, 19) + "+00:00";
              en = en.substr(0, 19) + "+00:00";
            }
            e.set[unwrapped ? "startTime" : "payload.startTime"] = raw_str(s);
            e.set[unwrapped ? "endTime" : "payload.endTime"] = raw_str(en);
          }
          if (row && !coach_id && row->i64("coach_user_id") > 0) organizer = organizer_of(ctx, row->i64("coach_user_id"));
        }
      }
      if (organizer) add_organizer(e, *organizer);
    }
    body_text = rewrite_json(compact, e, true);
  } else {
    body_text = field(form, "body");
    secret_choice = field(form, "secret");
    keep_ids = field(form, "keep_ids") == "1";
    raw = field(form, "raw") == "1";
  }

  if (posted && status == 200) {
    // What goes on the wire: the text as typed, or compacted (with new ids).
    std::string wire = body_text;
    auto parsed = json::parse(body_text);
    if (!raw && parsed) {
      JsonEdit e;
      if (!keep_ids) add_fresh_ids(e, *parsed, fresh_ids());
      wire = rewrite_json(body_text, e, false);
      parsed = json::parse(wire);
    }
    if (parsed && parsed->isObject()) {
      std::string t = json::str(*parsed, "triggerEvent");
      if (!t.empty() && t.size() <= 64) trigger = t;
    }
    auto sig = signature_for(ctx, secret_choice, wire);
    if (!sig) {
      fail(sig.error());
    } else {
      BodyRefs refs = parsed ? refs_of(*parsed) : BodyRefs{};
      auto before_main = booking_row(ctx.db, refs.uid);
      auto before_old = booking_row(ctx.db, refs.old_uid);
      int64_t sig_failures_before = wh::stats(ctx.db, 1).signature_failures_total;
      wh::InboxFilter newest;
      newest.limit = 1;
      auto top = wh::list_events(ctx.db, newest);
      int64_t max_id_before = top.events.empty() ? 0 : top.events.front().id;

      http_client::HttpRequest hr;
      hr.method = "POST";
      hr.url = wh::receiver_url(ctx.cfg);
      hr.headers = {{"Content-Type", "application/json"},
                    {"X-Cal-Signature-256", sig->first},
                    {"X-Cal-Webhook-Version", "2021-10-20"}};
      hr.body = wire;
      hr.timeout_ms = 20000;
      auto resp = http_client::perform(hr);

      Json::Value sent;
      std::string head = "POST " + hr.url + "\n";
      for (const auto& [k, v] : hr.headers) head += k + ": " + v + "\n";
      head += "Content-Length: " + std::to_string(wire.size()) + "\n";
      sent["request_head"] = head;
      sent["request_body"] = wire;
      sent["request_body_pretty"] = raw ? wire : pretty_if_json(wire);
      sent["secret_label"] = sig->second;
      sent["signature"] = sig->first;
      sent["body_mode"] = raw ? "exactly as typed" : keep_ids ? "compacted, ids kept" : "compacted, with new ids";
      sent["n_bytes"] = std::to_string(wire.size());
      if (!resp) {
        sent["transport_error"] = resp.error().message;
        fail(make_error(502, "receiver_unreachable", "The receiver could not be reached: " + resp.error().message));
      } else {
        sent["response_status"] = std::to_string(resp->status);
        sent["response_ok"] = resp->status >= 200 && resp->status < 300;
        sent["response_body"] = pretty_if_json(resp->body);
        sent["response_ms"] = std::to_string(static_cast<int64_t>(resp->elapsed_ms));
        std::string ct = resp->headers.count("content-type") ? resp->headers.at("content-type") : "";
        sent["response_type"] = ct;
        auto answer = json::parse(resp->body);
        std::optional<wh::InboxEvent> row;
        if (parsed) row = find_inbox_row(ctx.db, answer ? *answer : Json::Value(), *parsed);
        if (row) {
          Json::Value ib = inbox_json(*row);
          ib["is_new"] = row->id > max_id_before;
          ib["body"] = pretty_if_json(row->body);
          sent["inbox"] = ib;
        }
        sent["no_inbox_row"] = !row.has_value();
        Json::Value changes(Json::arrayValue);
        if (!refs.uid.empty())
          changes.append(booking_change(refs.old_uid.empty() ? "The booking" : "The new booking", refs.uid, before_main,
                                        booking_row(ctx.db, refs.uid)));
        if (!refs.old_uid.empty())
          changes.append(booking_change("The booking it replaces", refs.old_uid, before_old, booking_row(ctx.db, refs.old_uid)));
        sent["bookings"] = changes;
        sent["has_bookings"] = !changes.empty();
        int64_t sig_failures_after = wh::stats(ctx.db, 1).signature_failures_total;
        sent["sig_failures"] = std::to_string(sig_failures_before) + " → " + std::to_string(sig_failures_after);
        sent["sig_failures_after"] = std::to_string(sig_failures_after);
        if (!refs.uid.empty() && booking_row(ctx.db, refs.uid)) {
          // Follow-ups on the booking just sent (its ids are kept on those).
          Json::Value next(Json::arrayValue);
          for (const char* t : {"BOOKING_RESCHEDULED", "BOOKING_CANCELLED", "BOOKING_NO_SHOW_UPDATED", "MEETING_ENDED"}) {
            if (std::find(triggers.begin(), triggers.end(), t) == triggers.end() || t == trigger) continue;
            Json::Value n;
            n["label"] = t;
            n["href"] = "/cal-webhook-test?trigger=" + std::string(t) + "&uid=" + url_encode(refs.uid) +
                        (coach_id ? "&coach=" + std::to_string(coach_id) : "");
            next.append(n);
          }
          sent["next"] = next;
          sent["has_next"] = !next.empty();
        }
        data["notice_bad"] = resp->status < 200 || resp->status >= 300;
        data["notice"] = "Sent " + (trigger.empty() ? std::string("the body") : trigger) + " signed with " + sig->second +
                         ": the receiver answered " + std::to_string(resp->status) + ".";
      }
      data["sent"] = sent;
    }
  }

  data["triggers"] = trigger_options(triggers, trigger, false);
  data["trigger"] = trigger;
  data["organizers"] = organizer_options(ctx, coach_id);
  data["coach"] = coach_id ? std::to_string(coach_id) : "";
  data["target_uid"] = target_uid;
  data["body_text"] = body_text;
  data["secrets"] = secret_options(ctx.db, secret_choice);
  data["keep_ids"] = keep_ids;
  data["raw"] = raw;
  data["receiver_url"] = wh::receiver_url(ctx.cfg);
  data["has_sample"] = trigger == "BOOKING_CREATED" || trigger == "BOOKING_RESCHEDULED" || trigger == "BOOKING_CANCELLED" ||
                       trigger == "MEETING_ENDED" || trigger == "BOOKING_NO_SHOW_UPDATED" || trigger == "PING";
  return page(ctx, req, auth, "cal_webhook_test", "Cal.com webhooks — test", data, status);
}

/* ------------------------------------------------------------------------
 * /cal-webhook-management
 * ---------------------------------------------------------------------- */

/* The coach whose user webhooks a request manages: yourself (coaches), or
 * user_id (admins; none = the platform section and the overview only). */
struct Owner {
  int64_t user_id = 0;
  std::string name, email;
  bool connected = false;
};

Result<std::optional<Owner>> resolve_owner(Context& ctx, const session::Auth& auth, const std::string& user_id_param) {
  int64_t id = auth.user->is_admin() ? 0 : auth.user->id;
  if (!user_id_param.empty()) {
    auto v = positive_id(user_id_param, "user_id");
    if (!v) return v.error();
    if (*v != auth.user->id && !auth.user->is_admin()) return make_error(403, "forbidden", "Only an admin can manage another coach's webhooks");
    id = *v;
  }
  if (id == 0) return std::optional<Owner>();
  auto row = ctx.db.query_one(
      "SELECT u.id, u.name, u.email, ci.status AS cal_status FROM users u "
      "LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id WHERE u.id = ?", {id});
  if (!row) return make_error(404, "unknown_user", "No user with id " + std::to_string(id));
  return std::optional<Owner>(Owner{row->i64("id"), row->str("name"), row->str("email"), row->str("cal_status") == "active"});
}

std::vector<std::string> checked_triggers(const Form& f) {
  std::vector<std::string> out;
  for (const auto& t : wh::handled_triggers())
    if (field(f, "t_" + t) == "1") out.push_back(t);
  return out;
}

Json::Value trigger_checks(const std::vector<std::string>& checked) {
  Json::Value arr(Json::arrayValue);
  for (const auto& t : wh::handled_triggers()) {
    Json::Value c;
    c["name"] = t;
    c["checked"] = std::find(checked.begin(), checked.end(), t) != checked.end();
    arr.append(c);
  }
  return arr;
}

/* Validates the URL and triggers of a create/update form. */
Result<wh::SubscriptionInput> subscription_input_from_form(const Form& f, bool is_create) {
  wh::SubscriptionInput in;
  std::string url = trim(field(f, "subscriber_url"));
  if (url.empty()) return bad("invalid_field", "Give the subscriber URL (where Cal.com should POST the events)");
  if ((url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) || url.size() > 2048 ||
      url.find_first_of(" \t\r\n") != std::string::npos)
    return bad("invalid_field", "Subscriber URL '" + clip(url) + "' is not an http(s) URL");
  in.subscriber_url = url;
  auto triggers = checked_triggers(f);
  if (triggers.empty()) return bad("invalid_field", "Tick at least one trigger");
  in.triggers = triggers;
  in.active = field(f, "active") == "1";
  if (is_create) {
    std::string secret = field(f, "secret");
    if (secret.size() > 255) return bad("invalid_field", "The secret is too long (255 characters at most)");
    if (!secret.empty()) in.secret = secret;
  }
  return in;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

/* What differs between our row and Cal.com's entry for it. */
std::vector<std::string> drift_of(const wh::Subscription& s, const Json::Value* remote) {
  std::vector<std::string> d;
  if (!remote) {
    d.push_back("Cal.com does not list this webhook (deleted there?)");
    return d;
  }
  if ((*remote)["active"].isBool() && (*remote)["active"].asBool() != s.active)
    d.push_back(std::string("Cal.com has it ") + ((*remote)["active"].asBool() ? "active" : "inactive"));
  std::string url = json::str(*remote, "subscriberUrl");
  if (!url.empty() && url != s.subscriber_url) d.push_back("Cal.com's subscriber URL is " + url);
  std::set<std::string> ours(s.triggers.begin(), s.triggers.end()), theirs;
  if ((*remote)["triggers"].isArray())
    for (const auto& t : (*remote)["triggers"])
      if (t.isString()) theirs.insert(t.asString());
  std::vector<std::string> only_ours, only_theirs;
  for (const auto& t : ours)
    if (!theirs.count(t)) only_ours.push_back(t);
  for (const auto& t : theirs)
    if (!ours.count(t)) only_theirs.push_back(t);
  if (!only_ours.empty()) d.push_back("Cal.com lacks " + join(only_ours, ", "));
  if (!only_theirs.empty()) d.push_back("Cal.com also sends " + join(only_theirs, ", "));
  return d;
}

/* One scope's section: our rows with drift against Cal.com's list, and the
 * webhooks only Cal.com knows. */
Json::Value scope_section(Context& ctx, calcom::Client& cal, wh::Scope scope, int64_t owner_id, const std::string& title,
                          int64_t kept_id, const Form& kept_form, const std::string& kept_error) {
  Json::Value sec;
  sec["title"] = title;
  sec["scope"] = wh::to_string(scope);
  sec["owner_id"] = owner_id ? std::to_string(owner_id) : "";
  sec["is_platform"] = scope == wh::Scope::platform;
  wh::Ctx wc{ctx.cfg, ctx.db, cal};
  auto remote = wh::list_remote(wc, scope, owner_id);
  if (!remote) {
    sec["remote_error"] = remote.error().message;
    sec["remote_error_code"] = remote.error().code;
  }
  auto subs = wh::list_subscriptions(ctx.db, scope, scope == wh::Scope::user ? owner_id : 0);
  if (scope == wh::Scope::user) {
    // owner 0 means "every coach" in list_subscriptions; never show others here.
    subs.erase(std::remove_if(subs.begin(), subs.end(), [&](const wh::Subscription& s) { return s.owner_user_id != owner_id; }),
               subs.end());
  }
  const std::string receiver = wh::receiver_url(ctx.cfg);
  Json::Value rows(Json::arrayValue);
  int n_drift = 0, n_ours_on_receiver = 0;
  for (const auto& s : subs) {
    const Json::Value* r = nullptr;
    if (remote && remote->isArray())
      for (const auto& x : *remote)
        if ((x["subscriptionId"].isInt64() && x["subscriptionId"].asInt64() == s.id) ||
            (!s.cal_webhook_id.empty() && json::str(x, "calWebhookId") == s.cal_webhook_id))
          r = &x;
    Json::Value v;
    v["sid"] = std::to_string(s.id);
    v["cal_webhook_id"] = s.cal_webhook_id;
    v["subscriber_url"] = s.subscriber_url;
    v["is_receiver"] = s.subscriber_url == receiver;
    if (s.subscriber_url == receiver) ++n_ours_on_receiver;
    v["active"] = s.active;
    v["is_default"] = s.is_default;
    v["has_secret"] = s.has_secret;
    v["last_delivery_at"] = s.last_delivery_at.empty() ? "never" : short_time(s.last_delivery_at);
    v["n_deliveries"] = std::to_string(s.n_deliveries);
    v["created_at"] = short_time(s.created_at);
    v["updated_at"] = short_time(s.updated_at);
    Json::Value tl(Json::arrayValue);
    for (const auto& t : s.triggers) tl.append(t);
    v["triggers"] = tl;
    v["n_triggers"] = std::to_string(s.triggers.size()) + " of " + std::to_string(wh::handled_triggers().size());
    if (remote) {
      auto d = drift_of(s, r);
      Json::Value dl(Json::arrayValue);
      for (const auto& x : d) dl.append(x);
      v["drift"] = dl;
      v["in_sync"] = d.empty();
      if (!d.empty()) ++n_drift;
    }
    v["remote_known"] = remote.ok();
    bool keep = kept_id == s.id;
    Json::Value fm;
    fm["subscriber_url"] = keep ? field(kept_form, "subscriber_url") : s.subscriber_url;
    fm["active"] = keep ? field(kept_form, "active") == "1" : s.active;
    fm["checks"] = trigger_checks(keep ? checked_triggers(kept_form) : s.triggers);
    v["form"] = fm;
    v["open"] = keep;
    v["row_error"] = text_or_null(keep ? kept_error : "");
    rows.append(v);
  }
  Json::Value only(Json::arrayValue);
  if (remote && remote->isArray())
    for (const auto& x : *remote) {
      if (x["known"].isBool() && x["known"].asBool()) continue;
      Json::Value v;
      v["cal_webhook_id"] = json::str(x, "calWebhookId");
      v["subscriber_url"] = json::str(x, "subscriberUrl");
      v["is_receiver"] = json::str(x, "subscriberUrl") == receiver;
      v["active"] = x["active"].isBool() && x["active"].asBool();
      std::vector<std::string> t;
      if (x["triggers"].isArray())
        for (const auto& y : x["triggers"])
          if (y.isString()) t.push_back(y.asString());
      v["triggers"] = join(t, ", ");
      only.append(v);
      ++n_drift;
    }
  sec["subs"] = rows;
  sec["has_subs"] = !rows.empty();
  sec["remote_only"] = only;
  sec["has_remote_only"] = !only.empty();
  sec["n_drift"] = n_drift;
  sec["has_drift"] = n_drift > 0;
  sec["in_sync"] = remote.ok() && n_drift == 0;
  sec["n_remote"] = remote && remote->isArray() ? static_cast<int>(remote->size()) : 0;
  sec["n_ours"] = static_cast<int>(subs.size());
  return sec;
}

/* What a POSTed management action left for the page. */
struct MgmtOutcome {
  int status = 200;
  std::string notice, error, error_code;
  std::string kept;       // "create" or "update"
  int64_t kept_id = 0;
  Json::Value setup;      // setup_default's result, shown in its own box
};

void set_error(MgmtOutcome& o, const Error& e, const std::string& kept = "", int64_t id = 0) {
  o.status = e.http_status;
  o.error = e.message;
  o.error_code = e.code;
  o.kept = kept;
  o.kept_id = id;
}

/* The scope and owner a create/setup form names, checked against the role. */
Result<std::pair<wh::Scope, int64_t>> form_scope(const session::Auth& auth, const Form& f, const std::optional<Owner>& owner) {
  auto scope = wh::parse_scope(field(f, "scope").empty() ? "user" : field(f, "scope"));
  if (!scope) return bad("invalid_field", "Scope must be user or platform");
  if (*scope == wh::Scope::platform) {
    if (!auth.user->is_admin()) return make_error(403, "admins_only", "Only an admin can manage the platform-wide webhooks");
    return std::make_pair(*scope, int64_t(0));
  }
  if (!owner) return bad("invalid_field", "Pick a coach first (user webhooks belong to one coach)");
  return std::make_pair(*scope, owner->user_id);
}

MgmtOutcome run_mgmt_action(Context& ctx, calcom::Client& cal, const session::Auth& auth, const Form& f,
                            const std::optional<Owner>& owner) {
  MgmtOutcome o;
  wh::Ctx wc{ctx.cfg, ctx.db, cal};
  const std::string action = field(f, "action");
  if (action == "create" || action == "setup_default") {
    auto sc = form_scope(auth, f, owner);
    if (!sc) {
      set_error(o, sc.error(), action == "create" ? "create" : "");
      return o;
    }
    const std::string whose = sc->first == wh::Scope::platform ? "the platform (OAuth client)" : owner->name;
    if (action == "create") {
      auto in = subscription_input_from_form(f, true);
      if (!in) {
        set_error(o, in.error(), "create");
        return o;
      }
      auto r = wh::create_subscription(wc, sc->first, sc->second, *in, auth.user->id);
      if (!r) set_error(o, r.error(), "create");
      else o.notice = "Webhook #" + std::to_string(r->id) + " created for " + whose + " (Cal.com id " + r->cal_webhook_id +
                      ", " + std::to_string(r->triggers.size()) + " trigger(s)" + (r->has_secret ? ", signed with a secret we hold" : ", no secret") + ").";
      return o;
    }
    auto r = wh::setup_default(wc, sc->first, sc->second, auth.user->id);
    if (!r) {
      set_error(o, r.error());
      return o;
    }
    const auto& s = r->subscription;
    std::string what = r->created ? "created a new Cal.com webhook" : r->adopted ? "adopted the Cal.com webhook that already pointed at our receiver (with a fresh secret)"
                                                                                : "found it already in place and changed nothing on Cal.com";
    o.notice = "Default webhook setup for " + whose + ": " + what +
               (r->removed_duplicates ? "; removed " + std::to_string(r->removed_duplicates) + " duplicate(s)" : "") +
               ". One webhook: #" + std::to_string(s.id) + " (Cal.com id " + s.cal_webhook_id + ").";
    Json::Value st;
    st["sid"] = std::to_string(s.id);
    st["cal_webhook_id"] = s.cal_webhook_id;
    st["created"] = r->created;
    st["adopted"] = r->adopted;
    st["removed_duplicates"] = r->removed_duplicates;
    st["subscriber_url"] = s.subscriber_url;
    st["n_triggers"] = static_cast<int>(s.triggers.size());
    st["active"] = s.active;
    st["has_secret"] = s.has_secret;
    st["whose"] = whose;
    // Count what Cal.com now lists with our receiver URL: the proof of "one".
    auto remote = wh::list_remote(wc, sc->first, sc->second);
    if (remote && remote->isArray()) {
      int n = 0;
      for (const auto& x : *remote)
        if (json::str(x, "subscriberUrl") == wh::receiver_url(ctx.cfg)) ++n;
      st["n_on_receiver"] = std::to_string(n);
    } else {
      st["n_on_receiver"] = "unknown (" + (remote ? std::string("bad answer") : remote.error().message) + ")";
    }
    o.setup = st;
    return o;
  }
  if (action == "update" || action == "delete") {
    auto id = positive_id(field(f, "subscription_id"), "subscription_id");
    if (!id) {
      set_error(o, id.error());
      return o;
    }
    auto cur = wh::find_subscription(ctx.db, *id);
    bool mine = cur && cur->scope == wh::Scope::user && cur->owner_user_id == auth.user->id;
    if (!cur || (!mine && !auth.user->is_admin())) {
      set_error(o, make_error(404, "unknown_subscription", "No webhook #" + std::to_string(*id) + " of yours"));
      return o;
    }
    if (action == "delete") {
      auto r = wh::delete_subscription(wc, *id);
      if (!r) set_error(o, r.error());
      else o.notice = "Webhook #" + std::to_string(*id) + " deleted (on Cal.com too).";
      return o;
    }
    auto in = subscription_input_from_form(f, false);
    if (!in) {
      set_error(o, in.error(), "update", *id);
      return o;
    }
    auto r = wh::update_subscription(wc, *id, *in);
    if (!r) set_error(o, r.error(), "update", *id);
    else o.notice = "Webhook #" + std::to_string(*id) + " saved: " + (r->active ? "active" : "inactive") + ", " +
                    std::to_string(r->triggers.size()) + " trigger(s), " + r->subscriber_url + ".";
    return o;
  }
  set_error(o, bad("unknown_action", "Unknown action '" + clip(action) + "'"));
  return o;
}

Json::Value coaches_for_admin(Context& ctx, int64_t selected) {
  Json::Value arr(Json::arrayValue);
  Json::Value none;
  none["id"] = "";
  none["label"] = "— no coach (platform webhooks only) —";
  none["selected"] = selected == 0;
  arr.append(none);
  for (const auto& r : ctx.db.query(
           "SELECT u.id, u.name, u.email, ci.status FROM users u LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id "
           "WHERE u.role = 'coach' ORDER BY u.name LIMIT 500")) {
    Json::Value u;
    u["id"] = r.str("id");
    u["label"] = r.str("name") + " <" + r.str("email") + ">" + (r.str("status") == "active" ? "" : " (not connected)");
    u["selected"] = r.i64("id") == selected;
    arr.append(u);
  }
  return arr;
}

Response webhook_management_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, Who::coaches_and_admins, &form)) return *stop;
  const bool posted = req.method == "POST";
  auto owner = resolve_owner(ctx, auth, posted ? field(form, "user_id") : req.param("user_id"));
  if (!owner) return error_for(ctx, req, auth, owner.error().http_status, owner.error().code, owner.error().message);

  std::vector<calcom::Exchange> exchanges;
  calcom::Client cal(calcom::settings_from(ctx.cfg), &exchanges);
  Json::Value data(Json::objectValue);
  MgmtOutcome o;
  if (posted) o = run_mgmt_action(ctx, cal, auth, form, *owner);
  if (!o.notice.empty()) data["notice"] = o.notice;
  if (!o.error.empty() && o.kept.empty()) {  // create/update errors show next to their form
    data["error"] = o.error;
    data["error_code"] = o.error_code;
  }
  if (!o.setup.isNull()) data["setup"] = o.setup;

  const bool is_admin = auth.user->is_admin();
  data["is_admin"] = is_admin;
  data["receiver_url"] = wh::receiver_url(ctx.cfg);
  if (is_admin) data["coaches"] = coaches_for_admin(ctx, *owner ? (*owner)->user_id : 0);
  Json::Value sections(Json::arrayValue);
  const std::string kept_err = o.kept == "update" ? o.error : "";
  if (is_admin)
    sections.append(scope_section(ctx, cal, wh::Scope::platform, 0, "Platform webhooks (OAuth client: every coach's bookings)",
                                  o.kept_id, form, kept_err));
  if (*owner) {
    const Owner& ow = **owner;
    Json::Value t;
    t["id"] = std::to_string(ow.user_id);
    t["name"] = ow.name;
    t["email"] = ow.email;
    t["connected"] = ow.connected;
    t["is_self"] = ow.user_id == auth.user->id;
    data["owner"] = t;
    if (ow.connected)
      sections.append(scope_section(ctx, cal, wh::Scope::user, ow.user_id,
                                    (ow.user_id == auth.user->id ? std::string("My webhooks") : "Webhooks of " + ow.name) +
                                        " (Cal.com user webhooks: this coach's bookings)",
                                    o.kept_id, form, kept_err));
  }
  data["sections"] = sections;

  // The create form: the receiver and every trigger by default; as posted after an error.
  bool keep_create = o.kept == "create";
  Json::Value nf;
  nf["subscriber_url"] = keep_create ? field(form, "subscriber_url") : wh::receiver_url(ctx.cfg);
  nf["active"] = keep_create ? field(form, "active") == "1" : true;
  nf["checks"] = trigger_checks(keep_create ? checked_triggers(form) : wh::handled_triggers());
  std::string scope_sel = keep_create ? field(form, "scope") : (*owner && (*owner)->connected ? "user" : "platform");
  nf["scope_user"] = scope_sel != "platform";
  nf["scope_platform"] = scope_sel == "platform";
  nf["error"] = text_or_null(keep_create ? o.error : "");
  data["new_form"] = nf;
  data["can_create_user"] = *owner && (*owner)->connected;
  data["can_create"] = is_admin || (*owner && (*owner)->connected);

  if (is_admin) {
    // Every coach's user webhooks at a glance (manage one by picking the coach).
    Json::Value all(Json::arrayValue);
    std::map<int64_t, std::string> names;
    auto user_subs = wh::list_subscriptions(ctx.db, wh::Scope::user, 0);
    for (const auto& s : user_subs)
      if (!names.count(s.owner_user_id)) {
        auto u = ctx.db.query_one("SELECT name FROM users WHERE id = ?", {s.owner_user_id});
        names[s.owner_user_id] = u ? u->str("name") : "user " + std::to_string(s.owner_user_id);
      }
    for (const auto& s : user_subs) {
      Json::Value v;
      v["sid"] = std::to_string(s.id);
      v["owner_id"] = std::to_string(s.owner_user_id);
      v["owner_name"] = names[s.owner_user_id];
      v["subscriber_url"] = s.subscriber_url;
      v["active"] = s.active;
      v["is_default"] = s.is_default;
      v["n_triggers"] = static_cast<int>(s.triggers.size());
      v["last_delivery_at"] = s.last_delivery_at.empty() ? "never" : short_time(s.last_delivery_at);
      all.append(v);
    }
    data["all_user_subs"] = all;
    data["has_all_user_subs"] = !all.empty();
  }
  data["exchanges"] = exchanges_json(exchanges);
  data["has_exchanges"] = !exchanges.empty();
  data["n_exchanges"] = static_cast<int>(exchanges.size());
  return page(ctx, req, auth, "cal_webhook_management", "Cal.com webhooks", data, o.status);
}

/* ------------------------------------------------------------------------
 * /cal-webhook-monitor
 * ---------------------------------------------------------------------- */

constexpr size_t kBodyPreviewBytes = 16 * 1024;

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

Json::Value events_json(const std::vector<wh::InboxEvent>& events) {
  Json::Value arr(Json::arrayValue);
  for (const auto& e : events) arr.append(inbox_json(e));
  return arr;
}

/* The hourly counts as rows (hour, trigger) with one column per status. */
Json::Value hourly_rows(const std::vector<wh::HourlyCount>& hourly) {
  std::map<std::pair<std::string, std::string>, std::map<std::string, int64_t>> grid;
  for (const auto& h : hourly) grid[{h.hour, h.trigger}][h.status] += h.count;
  std::vector<std::pair<std::pair<std::string, std::string>, std::map<std::string, int64_t>>> rows(grid.begin(), grid.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.first.first != b.first.first ? a.first.first > b.first.first : a.first.second < b.first.second;
  });
  Json::Value arr(Json::arrayValue);
  std::string last_hour;
  for (const auto& [k, counts] : rows) {
    Json::Value r;
    r["hour"] = k.first.substr(0, 16);
    r["new_hour"] = k.first != last_hour;
    last_hour = k.first;
    r["trigger"] = k.second;
    int64_t total = 0;
    for (const char* st : {"pending", "retry", "done", "dead"}) {
      int64_t n = counts.count(st) ? counts.at(st) : 0;
      r[st] = n ? std::to_string(n) : "";
      total += n;
    }
    r["total"] = std::to_string(total);
    arr.append(r);
  }
  return arr;
}

/* Query string of the inbox filters (for paging links and hidden fields). */
struct InboxView {
  std::string trigger, status, uid;
  int64_t before = 0;
  int limit = 25;
  int hours = 24;
  int64_t event = 0;
};

std::string view_query(const InboxView& v, int64_t before) {
  std::string q = "hours=" + std::to_string(v.hours);
  if (!v.trigger.empty()) q += "&trigger=" + url_encode(v.trigger);
  if (!v.status.empty()) q += "&status=" + url_encode(v.status);
  if (!v.uid.empty()) q += "&uid=" + url_encode(v.uid);
  if (v.limit != 25) q += "&limit=" + std::to_string(v.limit);
  if (before) q += "&before=" + std::to_string(before);
  return q;
}

Response webhook_monitor_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  Form form;
  if (auto stop = gate(ctx, req, auth, Who::admins_only, &form)) return *stop;
  const bool posted = req.method == "POST";
  // The view's parameters come from the query, or from a form's hidden fields.
  Request view_req = req;
  if (posted) {
    view_req.query.clear();
    for (const char* k : {"hours", "trigger", "status", "uid", "before", "limit", "event"})
      if (!field(form, k).empty()) view_req.query[k] = field(form, k);
  }
  auto bail = [&](const Error& e) { return error_for(ctx, req, auth, e.http_status, e.code, e.message); };
  InboxView v;
  auto hours = bounded_param(view_req, "hours", 1, 24 * 14, 24);
  if (!hours) return bail(hours.error());
  v.hours = *hours;
  auto limit = bounded_param(view_req, "limit", 1, 200, 25);
  if (!limit) return bail(limit.error());
  v.limit = *limit;
  v.trigger = view_req.param("trigger");
  if (v.trigger.size() > 64) return bail(bad("invalid_field", "trigger is too long"));
  v.status = view_req.param("status");
  static const std::vector<std::string> kStatuses = {"", "pending", "retry", "done", "dead", "failed"};
  if (std::find(kStatuses.begin(), kStatuses.end(), v.status) == kStatuses.end())
    return bail(bad("invalid_field", "status must be pending, retry, done, dead or failed"));
  v.uid = trim(view_req.param("uid"));
  if (v.uid.size() > 191) return bail(bad("invalid_field", "uid is too long"));
  if (!view_req.param("before").empty()) {
    auto b = positive_id(view_req.param("before"), "before");
    if (!b) return bail(b.error());
    v.before = *b;
  }
  if (!view_req.param("event").empty()) {
    auto e = positive_id(view_req.param("event"), "event");
    if (!e) return bail(e.error());
    v.event = *e;
  }

  Json::Value data(Json::objectValue);
  int status = 200;
  if (posted) {
    const std::string action = field(form, "action");
    if (action == "replay") {
      auto id = positive_id(field(form, "event_id"), "event_id");
      if (!id) {
        status = 400;
        data["error"] = id.error().message;
        data["error_code"] = id.error().code;
      } else {
        auto before = wh::get_event(ctx.db, *id);
        auto r = wh::replay_event(ctx.db, *id);
        if (!r) {
          status = r.error().http_status;
          data["error"] = r.error().message;
          data["error_code"] = r.error().code;
        } else {
          auto after = wh::get_event(ctx.db, *id);
          data["notice"] = "Event #" + std::to_string(*id) + " queued again: " + (before ? before->status : std::string("?")) + " → " +
                           (after ? after->status : std::string("?")) +
                           ". The worker applies it on its next pass (or press “Run the worker now”).";
          data["replayed_id"] = std::to_string(*id);
        }
      }
    } else if (action == "replay_all") {
      int64_t n = wh::replay_all_dead(ctx.db);
      data["notice"] = n ? std::to_string(n) + " dead letter(s) queued again (status pending)." : std::string("There were no dead letters to replay.");
    } else if (action == "process_due") {
      int n = wh::process_due(ctx.cfg, ctx.db, "monitor-page-" + std::to_string(::getpid()));
      data["notice"] = "Worker pass done: " + std::to_string(n) + " due event(s) processed.";
    } else {
      status = 400;
      data["error"] = "Unknown action '" + clip(action) + "'";
      data["error_code"] = "unknown_action";
    }
  }

  wh::Stats s = wh::stats(ctx.db, v.hours);
  data["hours"] = std::to_string(v.hours);
  Json::Value hour_opts(Json::arrayValue);
  for (int h : {1, 6, 24, 72, 168, 336}) {
    Json::Value o;
    o["value"] = std::to_string(h);
    o["label"] = h < 48 ? std::to_string(h) + " h" : std::to_string(h / 24) + " days";
    o["selected"] = h == v.hours;
    hour_opts.append(o);
  }
  data["hour_options"] = hour_opts;
  Json::Value c;
  c["pending"] = std::to_string(s.n_pending);
  c["retry"] = std::to_string(s.n_retry);
  c["dead"] = std::to_string(s.n_dead);
  c["done"] = std::to_string(s.n_done);
  c["sig_failures"] = std::to_string(s.signature_failures_total);
  c["duplicates"] = std::to_string(s.duplicates);
  c["p50"] = s.latency_samples ? ms_text(s.latency_p50_ms) : "—";
  c["p99"] = s.latency_samples ? ms_text(s.latency_p99_ms) : "—";
  c["samples"] = std::to_string(s.latency_samples);
  c["last_received_at"] = s.last_received_at.empty() ? "never" : short_time(s.last_received_at);
  c["has_dead"] = s.n_dead > 0;
  c["has_sig_failures"] = s.signature_failures_total > 0;
  data["counts"] = c;
  data["hourly"] = hourly_rows(s.hourly);
  data["has_hourly"] = !s.hourly.empty();
  Json::Value sig(Json::arrayValue);
  for (const auto& [hour, n] : s.signature_failures_hourly) {
    Json::Value r;
    r["hour"] = hour.substr(0, 16);
    r["count"] = std::to_string(n);
    sig.append(r);
  }
  data["sig_hourly"] = sig;
  data["has_sig_hourly"] = !sig.empty();
  data["failures"] = events_json(s.recent_failures);
  data["has_failures"] = !s.recent_failures.empty();
  data["retry_queue"] = events_json(s.retry_queue);
  data["has_retry_queue"] = !s.retry_queue.empty();
  data["dead_letters"] = events_json(s.dead_letters);
  data["has_dead_letters"] = !s.dead_letters.empty();

  // The inbox: filters, one page, each row with its raw body.
  wh::InboxFilter f;
  f.trigger = v.trigger;
  f.status = v.status;
  f.booking_uid = v.uid;
  f.before_id = v.before;
  f.limit = v.limit;
  auto inbox = wh::list_events(ctx.db, f);
  Json::Value rows(Json::arrayValue);
  for (const auto& e : inbox.events) {
    Json::Value r = inbox_json(e);
    auto full = wh::get_event(ctx.db, e.id);
    std::string body = full ? full->body : "";
    bool cut = body.size() > kBodyPreviewBytes;
    r["body"] = cut ? body.substr(0, kBodyPreviewBytes) : pretty_if_json(body);
    r["body_cut"] = cut;
    rows.append(r);
  }
  data["inbox"] = rows;
  data["has_inbox"] = !rows.empty();
  data["inbox_total"] = std::to_string(inbox.total);
  data["inbox_shown"] = std::to_string(inbox.events.size());
  data["older_href"] = inbox.next_before_id ? Json::Value("/cal-webhook-monitor?" + view_query(v, inbox.next_before_id)) : Json::Value();
  data["newest_href"] = v.before ? Json::Value("/cal-webhook-monitor?" + view_query(v, 0)) : Json::Value();
  std::vector<std::string> trig = test_triggers();
  data["trigger_options"] = trigger_options(trig, v.trigger, true);
  Json::Value st_opts(Json::arrayValue);
  for (const auto& st : kStatuses) {
    Json::Value o;
    o["value"] = st;
    o["label"] = st.empty() ? "any" : st == "failed" ? "failed (retry + dead)" : st;
    o["selected"] = st == v.status;
    st_opts.append(o);
  }
  data["status_options"] = st_opts;
  Json::Value view;
  view["trigger"] = v.trigger;
  view["status"] = v.status;
  view["uid"] = v.uid;
  view["before"] = v.before ? std::to_string(v.before) : "";
  view["limit"] = std::to_string(v.limit);
  view["hours"] = std::to_string(v.hours);
  view["event"] = v.event ? std::to_string(v.event) : "";
  data["view"] = view;

  if (v.event) {
    auto e = wh::get_event(ctx.db, v.event);
    if (!e) {
      data["event_error"] = "No inbox event #" + std::to_string(v.event);
      if (status == 200) status = 404;
    } else {
      Json::Value d = inbox_json(*e);
      d["body"] = pretty_if_json(e->body);
      d["body_is_json"] = json::parse(e->body).ok();
      data["event"] = d;
    }
  }
  return page(ctx, req, auth, "cal_webhook_monitor", "Cal.com webhooks — monitor", data, status);
}

}  // namespace

/* WEBPAGE: /cal-webhook-management  Our Cal.com webhook subscriptions next to
 * Cal.com's own list (drift flagged), with forms to create, update (active,
 * triggers, URL) and delete one, and the one-click default setup. Coaches: their
 * own user webhooks; admins: the platform webhooks and any coach's (?user_id=). */
Response cal_webhook_management(Context& ctx, const Request& req) { return webhook_management_page(ctx, req); }

/* WEBPAGE: /cal-webhook-test  Sends a signed sample delivery (any trigger, the
 * configured, a subscription's, a wrong or no secret) to our receiver through
 * nginx, and shows the request, the answer, the inbox row and the CalBooking
 * row before and after. Admins only. */
Response cal_webhook_test(Context& ctx, const Request& req) { return webhook_test_page(ctx, req); }

/* WEBPAGE: /cal-webhook-monitor  Webhook health: counts per hour, trigger and
 * status, failures, the retry queue, dead letters (replay one or all),
 * signature failures, latency p50/p99, and the inbox with filters, paging and
 * raw bodies. Admins only. */
Response cal_webhook_monitor(Context& ctx, const Request& req) { return webhook_monitor_page(ctx, req); }

}  // namespace coach::web
