/* ical.hpp: iCalendar invites (RFC 5545 text, iTIP methods of RFC 5546) and
 * "Add to calendar" links, as described in reference
 * payments-zoom-auth-email.md §4.1, §4.2 and §4.4. Pure: no I/O, no clock.
 *
 * Output rules (pinned by tests/test_ical.cpp):
 *  - every line ends in CRLF, including the last; content lines are folded so
 *    no physical line exceeds 75 octets (continuations start with one space
 *    and carry at most 74 content bytes); a multi-byte UTF-8 sequence is
 *    never split;
 *  - TEXT values escape \ ; , and newlines (\n); CR and other control
 *    characters except TAB are dropped; parameter values (CN) are quoted when
 *    they contain : ; or , and lose any " (a parameter value cannot hold one);
 *  - times are UTC with the Z suffix, so no VTIMEZONE is needed;
 *  - REQUEST carries STATUS:CONFIRMED and a 15-minute display alarm; CANCEL
 *    carries STATUS:CANCELLED and keeps the times it cancels. */
#pragma once
#include <chrono>
#include <string>

namespace coach::ical {

using Instant = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;  // UTC

enum class Method { request, cancel };
const char* to_string(Method m);  // "REQUEST" / "CANCEL"

struct Person {
  std::string name, email;
};

struct Invite {
  std::string uid;           // stable across the reschedule chain
  int sequence = 0;
  Instant stamp;             // DTSTAMP: when this message was generated
  Instant start, end;
  std::string summary, description;
  std::string location;      // the join URL when known, else a short text
  std::string url;           // URL property; empty = none (must be an http(s) URL)
  Person organizer;          // the coach
  Person attendee;           // the agent (ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE)
};

/* The whole VCALENDAR object for method m. Never fails: bad characters are
 * escaped or dropped as described above. Preconditions (checked by callers):
 * uid non-empty, e-mail addresses free of control characters. */
std::string build_invite(const Invite& inv, Method m);

/* Building blocks, exposed for tests. */
std::string escape_text(const std::string& s);        // TEXT value escaping
std::string param_value(const std::string& s);        // CN=... value, quoted if needed
std::string fold_line(const std::string& line);       // one content line -> folded, CRLF-terminated
std::string format_utc(Instant t);                    // 20250310T150000Z

/* RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ becomes
 * %XX (upper-case hex); a space is %20. */
std::string url_encode(const std::string& s);

/* https://calendar.google.com/calendar/render?action=TEMPLATE&text=...&dates=START%2FEND&details=...&location=...
 * with START/END in UTC (YYYYMMDDTHHMMSSZ). */
std::string google_calendar_link(const Invite& inv);

/* https://outlook.live.com/calendar/0/action/compose?path=/calendar/action/compose&rru=addevent
 * &startdt=...&enddt=...&subject=...&body=...&location=...&allday=false, times as
 * ISO 8601 UTC with an explicit Z (2025-03-10T15:00:00Z; the reference marks the
 * Z form as common practice but not checked against the live service). */
std::string outlook_link(const Invite& inv);

/* "Tuesday, 10 March 2026, 16:00 (Europe/Madrid)": t as wall-clock time in
 * zone (tz database, so DST applies); an unknown or empty zone formats as
 * "... (UTC)". hh_mm_only gives just "16:00". */
std::string format_when(Instant t, const std::string& zone, bool hh_mm_only = false);

}  // namespace coach::ical
