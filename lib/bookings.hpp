/* bookings.hpp: agents book coaching sessions with coaches (layer 4, domain).
 *
 * Create, list, show, reschedule and cancel bookings through Cal.com, with our
 * own guard against double booking in front of it:
 *
 *  - booking_intents (sql/0006_bookings.sql): one row per attempt to take a
 *    slot. UNIQUE (coach_user_id, active_start_utc) allows one active intent
 *    per coach and start (active_start_utc is NULL once the intent is released
 *    or superseded); UNIQUE (agent_user_id, idempotency_key) makes a repeated
 *    create with the same client key return the same booking. The intent is
 *    inserted in its own short transaction before we call Cal.com: the loser
 *    of a race gets 409 slot_taken at once.
 *  - Cal.com: slot reservation (POST /v2/slots/reservations), then the booking
 *    (POST /v2/bookings, /reschedule, /cancel). A Cal.com "slot not
 *    available" is 409 slot_taken; a 5xx/timeout is 502 upstream_unavailable
 *    and releases the intent (nothing half-written; the same key may be
 *    retried).
 *  - On success, ONE transaction: the CalBooking row (through
 *    webhooks::converge_booking, so a webhook for the same booking agrees),
 *    our booking_meta row (agent, ics uid/sequence, responses, who cancelled),
 *    the intent marked done, availability::bump_version for the coach, and
 *    booking_mail::enqueue for the change.
 *
 * Authorization everywhere: an agent sees/acts on their own bookings, a coach
 * on bookings with them, an admin on all; anything else is 404 not_found (we
 * never confirm that a uid exists).
 *
 * Times: every "..._utc" field is an ISO-8601 UTC instant
 * "YYYY-MM-DDTHH:MM:SSZ". Errors are Error{code, message, http_status}; codes
 * are listed on each function. */
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "result.hpp"
#include "session.hpp"

namespace coach::bookings {

inline constexpr const char* kBookingsApiVersion = "2024-08-13";
inline constexpr const char* kReservationsApiVersion = "2024-09-04";
inline constexpr const char* kIcsDomain = "coach-marketplace";   // ics uid = "<root uid>@coach-marketplace"
inline constexpr int kMaxTake = 100;
inline constexpr int kDefaultTake = 20;
inline constexpr size_t kMaxIdempotencyKey = 120;

struct Ctx {
  const Config& cfg;
  db::Db& db;
  calcom::Client& cal;
};

/* ------------------------------------------------------------------ views */

struct PersonView {
  int64_t user_id = 0;             // 0 when the person is not one of our users
  std::string name, email, time_zone;
};

struct EventTypeView {
  int64_t cal_event_type_id = 0;
  std::string title, slug;
  int length_min = 0;
  int64_t price_minor = 0;         // our price, minor units (cents)
  std::string currency = "USD";
};

/* Everything a page needs to show one booking. */
struct BookingView {
  std::string uid;                 // Cal.com booking uid (our public id)
  int64_t cal_booking_id = 0;
  std::string status;              // accepted | pending | cancelled | rejected
  std::string start_utc, end_utc;  // ISO UTC "YYYY-MM-DDTHH:MM:SSZ"
  std::string title;               // Cal.com's booking title
  PersonView coach, agent;         // agent.time_zone = the zone the agent booked in
  EventTypeView event_type;
  std::string location;            // stored location, e.g. "integrations:zoom" or an address
  std::string join_url;            // video link when known, else ""
  std::string rescheduled_from_uid;  // this booking replaced that one
  std::string rescheduled_to_uid;    // this booking was replaced by that one (status cancelled)
  std::string cancel_reason;       // cancellation (or reschedule) reason
  std::string cancelled_by;        // "agent" | "coach" | "admin" | "calcom" | "" (not cancelled)
  Json::Value responses{Json::objectValue};  // booking field responses {slug: value}
  std::string ics_uid;             // "<root uid>@coach-marketplace", shared by a reschedule chain
  int sequence = 0;                // iCalendar SEQUENCE of the last e-mail about this booking
  /* Payment (issue 7; filled by load from the payments tables). Empty
   * payment_status = a free session (nothing to pay). */
  std::string payment_status;      // "" | pending | paid | failed | expired | partially_refunded | refunded
  int64_t amount_paid_minor = 0, amount_refunded_minor = 0;
  std::string payment_currency;    // ISO code, upper case, "" when free
  std::string receipt_url;         // our receipt page for this booking's payment, "" when none
  std::string created_at, updated_at;  // ISO UTC
  /* Relative to the viewer who fetched it (filled by get/list/create/...): */
  std::string viewer_role;         // "agent" | "coach" | "admin"
  bool is_upcoming = false;        // not cancelled/rejected and end in the future
  bool can_cancel = false;         // viewer may cancel now
  bool can_reschedule = false;     // viewer may reschedule now
};

/* The API shape (camelCase): {uid, status, startUtc, endUtc, title,
 * coach{userId,name,email,timeZone}, agent{...}, eventType{id,title,slug,
 * lengthInMinutes,priceMinor,currency}, location, joinUrl, rescheduledFromUid,
 * rescheduledToUid, cancelReason, cancelledBy, responses, icsUid, sequence,
 * createdAt, updatedAt, viewerRole, isUpcoming, canCancel, canReschedule}.
 * Empty strings are JSON null. */
Json::Value to_json(const BookingView& b);

/* ------------------------------------------------------------------ create */

struct CreateInput {
  int64_t coach_user_id = 0;
  int64_t cal_event_type_id = 0;
  std::string start;               // ISO instant as sent ("2030-01-07T09:00:00Z", offsets allowed)
  std::string time_zone;           // the agent's IANA zone (e-mails, Cal.com attendee)
  Json::Value responses{Json::objectValue};  // {slug: value} for the session type's booking fields
  std::string idempotency_key;     // client key, 1..120 chars [A-Za-z0-9._:-]; "" = none (no replay protection)
};

/* Parses a POST body {coachId, eventTypeId, start, timeZone, responses,
 * idempotencyKey}; header_key (Idempotency-Key) is used when the body has
 * none (both present and different: 400). Fails 400 with code
 * invalid_field naming the first bad field (missing_field when absent,
 * invalid_time when start is not ISO, invalid_time_zone). Does not touch the
 * database. */
Result<CreateInput> parse_create(const Json::Value& body, const std::string& header_key);

/* Checks responses against the session type's Cal.com bookingFields: every
 * required custom field present and non-empty, values plausible for the type
 * (text/textarea/phone/email/select/radio: string; number: number; boolean/
 * checkbox: bool; multiselect/checkbox group: array of strings; email and
 * select options checked). System fields (name, email, ...) are filled by us
 * and ignored; unknown slugs are 400 too. Fails 400 invalid_responses naming
 * the field. */
Status validate_responses(const Json::Value& booking_fields, const Json::Value& responses);

struct CreateOutcome {
  BookingView booking;
  bool created = true;             // false: replay of an earlier create with the same key (answer 200)
  /* A priced session type (issue 7): nothing is booked yet. The slot is held
   * and the agent pays at checkout_url; the booking is made when Stripe
   * reports the payment (payments.hpp). booking is empty then. */
  bool payment_required = false;
  int64_t payment_id = 0;
  std::string checkout_url, checkout_session_id, payment_status;
  int64_t checkout_expires_at = 0; // unix s
};

/* Books a slot for agent (must be signed in; any role may book for itself,
 * but not with itself as coach: 400 cannot_book_self). Validates everything
 * first (404 unknown_coach, unknown_event_type; 400 invalid_time when start is
 * in the past, invalid_responses), then guards the slot,
 * reserves it on Cal.com, books it and records it (see the file comment).
 * Errors: 409 slot_taken (our guard, Cal.com reservation 422, Cal.com booking
 * "not available"); 409 idempotency_conflict (same key used for a different
 * request, or that request still in flight); 502 upstream_unavailable
 * (Cal.com 5xx/unreachable; intent released); 503 db_unavailable. */
Result<CreateOutcome> create_booking(Ctx& c, const session::User& agent, const CreateInput& in);

/* Payments (issue 7): books the slot of a paid intent (run by the worker's
 * payment_finalize job, idempotent). Re-takes our hold if it lapsed
 * (409 slot_taken when someone else holds or booked the slot meanwhile), then
 * books on Cal.com as create_booking does and records it in one transaction
 * in which in_tx(tx, uid) also runs. An intent already booked returns its uid.
 * Errors: 409 slot_taken / 400 booking_rejected (the slot is lost: the caller
 * refunds), 502/503 (retry later; the hold stays), 404 (intent gone). */
Result<std::string> finalize_paid_intent(Ctx& c, int64_t intent_id, const std::string& time_zone,
                                         const Json::Value& responses,
                                         const std::function<void(db::Db&, const std::string&)>& in_tx);

/* Free slots of that coach and session type on the local day of start in
 * time_zone (availability::free_slots), minus starts someone is booking right
 * now: what a 409 slot_taken carries in its error body as "freshSlots":
 * {"date","timeZone","days":[{"date","slots":[{"start","end"}]}],"source",
 * "degraded"}. Never fails: {"days":[]} when unknown. */
Json::Value fresh_slots_for_day(Ctx& c, int64_t coach_user_id, int64_t cal_event_type_id, const std::string& start,
                                const std::string& time_zone);

/* ------------------------------------------------------------------ read */

enum class ListStatus { upcoming, past, cancelled };
std::optional<ListStatus> parse_list_status(const std::string& s);   // "upcoming" | "past" | "cancelled"

struct ListQuery {
  ListStatus status = ListStatus::upcoming;
  int take = kDefaultTake;         // clamped to 1..kMaxTake
  int skip = 0;                    // >= 0
  std::string as_role;             // "" = every booking the viewer may see; "agent" | "coach" to restrict
};
/* Parses status/take/skip/as from query parameters (400 invalid_field). */
Result<ListQuery> parse_list_query(const std::map<std::string, std::string>& query);

struct BookingPage {
  std::vector<BookingView> items;  // upcoming: soonest first; past, cancelled: newest first
  int64_t total = 0;               // matching rows (all pages)
  int take = kDefaultTake, skip = 0;
  bool has_more = false;
};

/* Bookings of viewer: as agent (agent_user_id), as coach (coach_user_id), or
 * all for an admin. upcoming = accepted/pending with end in the future; past
 * = accepted/pending with end passed; cancelled = cancelled/rejected. */
BookingPage list_bookings(db::Db& db, const session::User& viewer, const ListQuery& q);

/* One booking. 404 not_found when it does not exist or viewer may not see it. */
Result<BookingView> get_booking(db::Db& db, const session::User& viewer, const std::string& uid);

/* ------------------------------------------------------------------ change */

struct RescheduleInput {
  std::string start;               // new ISO instant
  std::string reason;              // optional, <= 500 chars
  std::string idempotency_key;     // optional client key (header Idempotency-Key)
};
/* Parses {start, reason, idempotencyKey} (400 missing_field / invalid_time / invalid_field). */
Result<RescheduleInput> parse_reschedule(const Json::Value& body, const std::string& header_key);

/* Moves a booking of viewer (its agent, its coach, or an admin) to a new start
 * on the same session type. The new slot is guarded like create; Cal.com
 * reschedules (new uid); one transaction: old row cancelled with
 * rescheduled_to_uid, new row accepted with rescheduled_from_uid, same
 * ics_uid, sequence + 1, bump_version, mail (rescheduled). Returns the new
 * booking. A retry of a reschedule already done (same old uid, same start)
 * returns the new booking again. Errors: 404 not_found, 409
 * booking_not_active (cancelled/rejected/already rescheduled to another
 * start), 400 invalid_time (past, same start), 409 slot_taken, 502
 * upstream_unavailable. */
Result<BookingView> reschedule_booking(Ctx& c, const session::User& viewer, const std::string& uid,
                                       const RescheduleInput& in);

/* Parses {reason} (optional, <= 500 chars; 400 invalid_field). */
Result<std::string> parse_cancel_reason(const Json::Value& body);

/* Cancels a booking of viewer (agent, coach, admin). Cal.com cancel (as the
 * coach), then one transaction: row cancelled with the reason and who,
 * sequence + 1, bump_version, mail (cancelled). Errors: 404 not_found, 409
 * already_cancelled (no second e-mail), 409 booking_not_active (rejected),
 * 400 booking_in_past, 502 upstream_unavailable (nothing changed). */
Result<BookingView> cancel_booking(Ctx& c, const session::User& viewer, const std::string& uid,
                                   const std::string& reason);

}  // namespace coach::bookings
