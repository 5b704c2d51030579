/* slot_engine.hpp: free slots computed the way Cal.com computes them
 * (reference calcom-api-v2.md §5.3): weekly rules as wall-clock time in the
 * schedule's zone, date overrides replacing a day, busy bookings widened by
 * buffers, minimum notice, slot interval and rounding in the viewer's zone,
 * booking limits, and deliberate handling of DST gaps (earlier offset) and
 * repeated hours (first occurrence). Pure: no I/O, no clock; time zones come
 * from the tz database (Howard Hinnant's date, /usr/share/zoneinfo).
 * Used by our fallback when Cal.com is slow or down, and by the Cal.com
 * emulator's /v2/slots and booking checks.
 *
 * Choices the reference leaves open (all pinned by tests/test_slot_engine.cpp):
 *  - Ranges that overlap merge; ranges that only touch (09-12 and 12-17, or two
 *    touching overrides) stay separate, as in Cal.com, so no slot and no
 *    booking straddles their boundary.
 *  - Booking limits count Busy entries of this event type by their start's
 *    local date in the schedule's zone; months and years are calendar ones.
 *  - The booking window ends at the end of the local date (schedule zone)
 *    booking_window_days after today's; a slot is dropped if it starts later.
 *  - Holds hide a slot when [start, start+len) and the hold overlap (touching
 *    does not count).
 * Zone names are looked up once per thread and cached. The OS tz files carry
 * explicit transitions only up to 2037: later instants keep the last offset. */
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "result.hpp"

namespace coach::slots {

using Instant = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;  // UTC (= date::sys_seconds)

struct Rule {
  std::vector<int> weekdays;  // 0 = Sunday ... 6 = Saturday
  int start_min = 0;          // minutes after local midnight
  int end_min = 0;            // exclusive; "23:59" is read as 1440 (midnight)
};

struct Override {
  std::string date;           // YYYY-MM-DD, local date in the schedule's zone
  int start_min = 0, end_min = 0;  // start == end: the whole day is off
};

struct Schedule {
  std::string time_zone;      // IANA
  std::vector<Rule> rules;
  std::vector<Override> overrides;
};

struct EventRules {
  int64_t event_type_id = 0;
  int length_min = 30;
  int slot_interval_min = 0;  // 0 = length
  int before_buffer_min = 0, after_buffer_min = 0;
  int minimum_notice_min = 0;
  int offset_start_min = 0;
  int limit_per_day = 0;      // bookingLimitsCount.day; 0 = none (week/month/year likewise)
  int limit_per_week = 0, limit_per_month = 0, limit_per_year = 0;
  int booking_window_days = 0;       // rolling calendar days from now; 0 = none
  bool only_first_slot_per_day = false;
};

/* An existing booking of the host (accepted), with its own event type's buffers. */
struct Busy {
  Instant start, end;
  int64_t event_type_id = 0;
  int before_buffer_min = 0, after_buffer_min = 0;
  std::string uid;
};

/* A soft hold (slot reservation) of the host: hides overlapping slots. */
struct Hold {
  Instant start, end;
};

struct Query {
  Instant start, end;         // UTC window (callers apply Cal.com's date-only rules first)
  std::string view_zone = "UTC";  // output zone, date grouping and rounding zone
  int duration_min = 0;       // 0 = event length
  Instant now;
  std::string reschedule_uid; // this booking's busy time is ignored
};

struct Slot {
  Instant start, end;
};

struct Day {
  std::string date;           // YYYY-MM-DD in view_zone
  std::vector<Slot> slots;
};

/* Free slots grouped by date in the viewer's zone (days without slots
 * omitted, dates ascending, slot end = start + duration or length). An empty
 * view_zone means UTC. Errors: 400 invalid_time_zone (schedule or view zone
 * unknown), 400 invalid_window (end before start, or longer than 62 days),
 * 400 invalid_event (length <= 0, length or duration over 31 days, or a
 * negative duration, interval, buffer, notice, offset, limit or window), 400 invalid_schedule (a Rule or Override
 * out of range: minutes outside 0-1440, end before start, a bad date). */
Result<std::vector<Day>> compute(const Schedule& schedule, const EventRules& event, const std::vector<Busy>& busy,
                                 const std::vector<Hold>& holds, const Query& q);

/* Booking-time check (what POST /v2/bookings does): [start, start+duration)
 * must lie inside one available range after busy time and notice are applied.
 * 400 not_available / too_soon / outside_window otherwise. Checked in that
 * order: too_soon when start < now + max(notice, 1) minutes (as compute()
 * never offers such a start), outside_window past the booking window, then
 * not_available (outside the ranges, overlapping buffered busy time, or in a
 * period whose booking limit is reached). Holds are not consulted (§5.2);
 * start need not be a generated slot start. duration_min 0 = event length. */
Status check_bookable(const Schedule& schedule, const EventRules& event, const std::vector<Busy>& busy,
                      Instant start, int duration_min, Instant now, const std::string& reschedule_uid = "");

/* Cal.com JSON <-> Schedule. Parses {"timeZone", "availability":[{"days":["Monday"],"startTime":"09:00",
 * "endTime":"17:00"}], "overrides":[{"date","startTime","endTime"}]} and validates: unknown zone, bad
 * day names, times not HH:MM, end before start, overlapping ranges on one day, bad or duplicate-overlapping
 * override dates. 400 invalid_schedule with a message naming the field, e.g.
 * "availability[0].days[1]: unknown day \"Funday\" ...". Details: day names and times are exact
 * ("Monday", zero-padded "09:00", 00:00-23:59); a rule needs end > start, an override end >= start
 * (equal: the day off); "23:59" as an end is read as 1440; touching ranges are not overlaps; a
 * zero-length override next to other overrides of its date is ignored (Cal.com drops empty ranges);
 * other members (name, isDefault, id ...) are ignored; "availability" absent or null means Cal.com's
 * default Mon-Fri 09:00-17:00, "overrides" absent or null means none. */
Result<Schedule> schedule_from_calcom_json(const Json::Value& v);
/* {"timeZone":...,"availability":[...],"overrides":[...]}, times "HH:MM" with 1440 written "23:59";
 * parses back with schedule_from_calcom_json. */
Json::Value availability_to_calcom_json(const Schedule& s);

/* Time helpers. */
bool is_valid_zone(const std::string& zone);
/* "2026-03-10T09:00:00.000+01:00" in zone ("...Z" when zone is "UTC" or empty;
 * other zero-offset zones give "+00:00"; an unknown zone formats as UTC). */
std::string format_iso(Instant t, const std::string& zone);
/* Accepts "2026-03-10T08:00:00Z", "...000Z", "+01:00" offsets; 400 invalid_time.
 * Also "+0100", seconds omitted ("2026-03-10T08:00Z"); fractions are truncated.
 * An offset is required (a date alone or a local time is rejected). */
Result<Instant> parse_iso(const std::string& s);
/* Local wall-clock date+minutes in zone -> UTC, with the DST rule above
 * (gap: offset before the gap; repeated hour: first occurrence). minutes 0-1440
 * (1440 = next midnight). 400 invalid_time_zone / invalid_date / invalid_time. */
Result<Instant> local_to_utc(const std::string& date_ymd, int minutes, const std::string& zone);
std::string local_date(Instant t, const std::string& zone);   // YYYY-MM-DD (UTC date if zone unknown)

}  // namespace coach::slots
