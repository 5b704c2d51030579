/* ical.cpp: RFC 5545 invite text, calendar links and human-readable times. */
#include "ical.hpp"

#include <cstdio>
#include <exception>

#include <date/date.h>
#include <date/tz.h>

namespace coach::ical {
namespace {

constexpr size_t k_max_line_octets = 75;  // RFC 5545 §3.1, not counting the CRLF
constexpr const char* k_prodid = "-//Coach Marketplace//Booking Mail 1.0//EN";

constexpr const char* k_day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
constexpr const char* k_month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                           "July",    "August",   "September", "October", "November", "December"};

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Length of the valid UTF-8 sequence at s[i], or 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t utf8_seq_len(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1Fu; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0Fu; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07u; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if (!is_continuation(cc)) return 0;
    cp = (cp << 6) | (cc & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* Valid UTF-8 without control characters (TAB and LF kept when asked);
 * invalid bytes become U+FFFD, CR and other controls are dropped. */
std::string clean(const std::string& s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_seq_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 1 && (c < 0x20 || c == 0x7F)) {
      if (c == '\t' || (c == '\n' && keep_newlines)) out += static_cast<char>(c);
      ++i;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

std::string two(unsigned v) {
  char b[4];
  std::snprintf(b, sizeof b, "%02u", v % 100);
  return b;
}

struct Civil {
  int year;
  unsigned month, day, hour, minute, second, weekday;
};

Civil civil(date::local_seconds lt) {
  const auto d = date::floor<date::days>(lt);
  const date::year_month_day ymd{d};
  const auto sod = (lt - d).count();
  return Civil{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
               static_cast<unsigned>(sod / 3600), static_cast<unsigned>(sod / 60 % 60),
               static_cast<unsigned>(sod % 60), date::weekday{d}.c_encoding()};
}

Civil civil_utc(Instant t) { return civil(date::local_seconds{t.time_since_epoch()}); }

std::string iso_utc(Instant t) {  // 2025-03-10T15:00:00Z
  const Civil c = civil_utc(t);
  return std::to_string(c.year) + "-" + two(c.month) + "-" + two(c.day) + "T" + two(c.hour) + ":" + two(c.minute) +
         ":" + two(c.second) + "Z";
}

bool is_http_url(const std::string& s) { return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0; }

/* The text of a link's "details"/"body": the description plus the join URL. */
std::string link_details(const Invite& inv) {
  std::string d = inv.description;
  if (is_http_url(inv.location) && d.find(inv.location) == std::string::npos)
    d += (d.empty() ? "" : "\n\n") + std::string("Join: ") + inv.location;
  return d;
}

}  // namespace

const char* to_string(Method m) { return m == Method::cancel ? "CANCEL" : "REQUEST"; }

std::string escape_text(const std::string& s) {
  const std::string c = clean(s, true);
  std::string out;
  out.reserve(c.size() + 8);
  for (char ch : c) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case ';': out += "\\;"; break;
      case ',': out += "\\,"; break;
      case '\n': out += "\\n"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string param_value(const std::string& s) {
  std::string v;
  for (char ch : clean(s, false))
    if (ch != '"') v += ch;
  if (v.find_first_of(":;,") != std::string::npos) return "\"" + v + "\"";
  return v;
}

std::string fold_line(const std::string& line) {
  std::string out;
  out.reserve(line.size() + line.size() / 70 * 3 + 2);
  size_t pos = 0;
  size_t limit = k_max_line_octets;
  while (line.size() - pos > limit) {
    size_t cut = pos + limit;
    // Back off to the start of a UTF-8 sequence (at most 3 bytes); invalid
    // input with longer continuation runs is cut where it is.
    size_t back = cut;
    while (back > pos && cut - back < 4 && is_continuation(static_cast<unsigned char>(line[back]))) --back;
    if (back > pos && !is_continuation(static_cast<unsigned char>(line[back]))) cut = back;
    out.append(line, pos, cut - pos);
    out += "\r\n ";
    pos = cut;
    limit = k_max_line_octets - 1;  // the leading space counts
  }
  out.append(line, pos, std::string::npos);
  out += "\r\n";
  return out;
}

std::string format_utc(Instant t) {
  const Civil c = civil_utc(t);
  char b[32];
  std::snprintf(b, sizeof b, "%04d%02u%02uT%02u%02u%02uZ", c.year, c.month, c.day, c.hour, c.minute, c.second);
  return b;
}

std::string build_invite(const Invite& inv, Method m) {
  const bool cancel = m == Method::cancel;
  std::string out;
  auto put = [&out](const std::string& line) { out += fold_line(line); };
  put("BEGIN:VCALENDAR");
  put(std::string("PRODID:") + k_prodid);
  put("VERSION:2.0");
  put("CALSCALE:GREGORIAN");
  put(std::string("METHOD:") + to_string(m));
  put("BEGIN:VEVENT");
  put("UID:" + clean(inv.uid, false));
  put("SEQUENCE:" + std::to_string(inv.sequence < 0 ? 0 : inv.sequence));
  put("DTSTAMP:" + format_utc(inv.stamp));
  put("DTSTART:" + format_utc(inv.start));
  put("DTEND:" + format_utc(inv.end));
  put("SUMMARY:" + escape_text(inv.summary));
  if (!inv.description.empty()) put("DESCRIPTION:" + escape_text(inv.description));
  if (!inv.location.empty()) put("LOCATION:" + escape_text(inv.location));
  // URL is a URI value (no TEXT escaping); only well-formed http(s) URLs go in.
  if (is_http_url(inv.url) && inv.url.find_first_of(" \t\r\n\"<>") == std::string::npos) put("URL:" + inv.url);
  put("ORGANIZER;CN=" + param_value(inv.organizer.name) + ":mailto:" + clean(inv.organizer.email, false));
  put("ATTENDEE;CN=" + param_value(inv.attendee.name) +
      ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:" + clean(inv.attendee.email, false));
  put(cancel ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
  put("TRANSP:OPAQUE");
  if (!cancel) {
    put("BEGIN:VALARM");
    put("ACTION:DISPLAY");
    put("DESCRIPTION:Reminder");
    put("TRIGGER:-PT15M");
    put("END:VALARM");
  }
  put("END:VEVENT");
  put("END:VCALENDAR");
  return out;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string google_calendar_link(const Invite& inv) {
  std::string u = "https://calendar.google.com/calendar/render?action=TEMPLATE";
  u += "&text=" + url_encode(clean(inv.summary, false));
  u += "&dates=" + url_encode(format_utc(inv.start) + "/" + format_utc(inv.end));
  const std::string details = clean(link_details(inv), true);
  if (!details.empty()) u += "&details=" + url_encode(details);
  if (!inv.location.empty()) u += "&location=" + url_encode(clean(inv.location, false));
  return u;
}

std::string outlook_link(const Invite& inv) {
  std::string u =
      "https://outlook.live.com/calendar/0/action/compose?path=/calendar/action/compose&rru=addevent";
  u += "&startdt=" + url_encode(iso_utc(inv.start));
  u += "&enddt=" + url_encode(iso_utc(inv.end));
  u += "&subject=" + url_encode(clean(inv.summary, false));
  const std::string details = clean(link_details(inv), true);
  if (!details.empty()) u += "&body=" + url_encode(details);
  if (!inv.location.empty()) u += "&location=" + url_encode(clean(inv.location, false));
  u += "&allday=false";
  return u;
}

std::string format_when(Instant t, const std::string& zone, bool hh_mm_only) {
  const date::time_zone* z = nullptr;
  if (!zone.empty() && zone.size() <= 100 && zone != "UTC") {
    try {
      z = date::locate_zone(zone);
    } catch (const std::exception&) {
      z = nullptr;  // unknown zone: show UTC and say so
    }
  }
  const std::chrono::seconds off = z ? z->get_info(t).offset : std::chrono::seconds{0};
  const Civil c = civil(date::local_seconds{(t + off).time_since_epoch()});
  const std::string hm = two(c.hour) + ":" + two(c.minute);
  if (hh_mm_only) return hm;
  return std::string(k_day_names[c.weekday % 7]) + ", " + std::to_string(c.day) + " " +
         k_month_names[(c.month + 11) % 12] + " " + std::to_string(c.year) + ", " + hm + " (" +
         (z ? zone : std::string("UTC")) + ")";
}

}  // namespace coach::ical
