/* test_ical.cpp: iCalendar invites: escaping, 75-octet folding that never
 * splits UTF-8, CRLF, REQUEST vs CANCEL, SEQUENCE, UTC times across DST,
 * URL-encoded calendar links; and the text parsed back by a real iCalendar
 * parser (python3-icalendar, a Debian package) with the same fields. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE ical
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "ical.hpp"
#include "json_util.hpp"
#include "slot_engine.hpp"

using namespace coach;
using ical::Instant;

namespace {

Instant at(const std::string& iso) { return *slots::parse_iso(iso); }

ical::Invite sample() {
  ical::Invite inv;
  inv.uid = "booking-42@coach-marketplace";
  inv.sequence = 0;
  inv.stamp = at("2025-03-01T12:00:00Z");
  inv.start = at("2025-03-10T15:00:00Z");
  inv.end = at("2025-03-10T16:00:00Z");
  inv.summary = "Coaching: Alice & Bob";
  inv.description = "Join Zoom: https://zoom.us/j/85746065432?pwd=abc";
  inv.location = "https://zoom.us/j/85746065432?pwd=abc";
  inv.url = inv.location;
  inv.organizer = {"Bob Coach", "bob@example.net"};
  inv.attendee = {"Alice Müller", "alice@example.org"};
  return inv;
}

std::vector<std::string> physical_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find("\r\n", pos);
    if (e == std::string::npos) {
      out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, e - pos));
    pos = e + 2;
  }
  return out;
}

std::string unfold(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\r\n ") == 0 || text.compare(i, 3, "\r\n\t") == 0) {
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

void check_folding(const std::string& folded, bool one_content_line = true) {
  BOOST_TEST_REQUIRE(folded.size() >= 2);
  BOOST_TEST(folded.substr(folded.size() - 2) == "\r\n");
  const auto lines = physical_lines(folded);
  for (size_t i = 0; i < lines.size(); ++i) {
    BOOST_TEST(lines[i].size() <= 75u, "line " << i << " has " << lines[i].size() << " octets");
    BOOST_TEST(valid_utf8(lines[i]), "line " << i << " splits a UTF-8 sequence");
    if (i > 0 && one_content_line) BOOST_TEST(lines[i].rfind(" ", 0) == 0u);
  }
}

/* Parses the invite with python3-icalendar; returns what it read as JSON. */
Json::Value parse_with_python(const std::string& ics) {
  char path[] = "/tmp/coach-ical-XXXXXX";
  int fd = mkstemp(path);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(write(fd, ics.data(), ics.size()) == static_cast<ssize_t>(ics.size()));
  close(fd);
  const std::string script = R"PY(
import icalendar, json, sys
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
ev = cal.walk('VEVENT')[0]
def s(k): return str(ev[k]) if k in ev else None
out = {
  'method': str(cal['METHOD']), 'version': str(cal['VERSION']), 'prodid': str(cal['PRODID']),
  'n_events': len(cal.walk('VEVENT')),
  'uid': s('UID'), 'sequence': int(ev['SEQUENCE']), 'status': s('STATUS'),
  'summary': s('SUMMARY'), 'description': s('DESCRIPTION'), 'location': s('LOCATION'), 'url': s('URL'),
  'dtstart': ev.decoded('DTSTART').isoformat(), 'dtend': ev.decoded('DTEND').isoformat(),
  'dtstamp': ev.decoded('DTSTAMP').isoformat(),
  'organizer': str(ev['ORGANIZER']), 'organizer_cn': str(ev['ORGANIZER'].params.get('CN')),
  'attendee': str(ev['ATTENDEE']), 'attendee_cn': str(ev['ATTENDEE'].params.get('CN')),
  'attendee_params': {k: str(v) for k, v in ev['ATTENDEE'].params.items()},
  'n_alarms': len(ev.walk('VALARM')),
}
print(json.dumps(out))
)PY";
  char script_path[] = "/tmp/coach-ical-py-XXXXXX";
  int sfd = mkstemp(script_path);
  BOOST_TEST_REQUIRE(sfd >= 0);
  BOOST_TEST_REQUIRE(write(sfd, script.data(), script.size()) == static_cast<ssize_t>(script.size()));
  close(sfd);
  const std::string cmd = std::string("/usr/bin/python3 ") + script_path + " " + path + " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  unlink(path);
  unlink(script_path);
  auto v = json::parse(out);
  BOOST_TEST_REQUIRE(v.ok(), "python3-icalendar output: " << out);
  return *v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(text_values_escape_backslash_semicolon_comma_and_newlines) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain text: a & b", "plain text: a & b"},  // : and & stay
      {"a,b", "a\\,b"},
      {"a;b", "a\\;b"},
      {"a\\b", "a\\\\b"},
      {"line1\nline2", "line1\\nline2"},
      {"line1\r\nline2", "line1\\nline2"},      // CR dropped, LF escaped
      {"bell\x07here", "bellhere"},             // other controls dropped
      {"tab\there", "tab\there"},
      {"\\;,\n", "\\\\\\;\\,\\n"},
      {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},  // invalid UTF-8 -> U+FFFD
  };
  for (const auto& c : cases) BOOST_TEST(ical::escape_text(c.in) == c.out, "input: " << c.in);
}

BOOST_AUTO_TEST_CASE(parameter_values_are_quoted_when_they_contain_separators) {
  BOOST_TEST(ical::param_value("Alice Müller") == "Alice Müller");
  BOOST_TEST(ical::param_value("Müller, Alice") == "\"Müller, Alice\"");
  BOOST_TEST(ical::param_value("a:b") == "\"a:b\"");
  BOOST_TEST(ical::param_value("a;b") == "\"a;b\"");
  BOOST_TEST(ical::param_value("say \"hi\"") == "say hi");  // a parameter value cannot hold a quote
  BOOST_TEST(ical::param_value("x\r\ny") == "xy");
}

BOOST_AUTO_TEST_CASE(short_lines_are_not_folded) {
  BOOST_TEST(ical::fold_line("SUMMARY:short") == "SUMMARY:short\r\n");
  const std::string exactly75(75, 'x');
  BOOST_TEST(ical::fold_line(exactly75) == exactly75 + "\r\n");
  BOOST_TEST(ical::fold_line(exactly75 + "y") == exactly75 + "\r\n y\r\n");
}

BOOST_AUTO_TEST_CASE(long_lines_fold_at_75_octets_and_unfold_to_the_original) {
  std::string line = "DESCRIPTION:";
  for (int i = 0; i < 40; ++i) line += "word" + std::to_string(i) + " ";
  const std::string folded = ical::fold_line(line);
  check_folding(folded);
  const auto lines = physical_lines(folded);
  BOOST_TEST(lines[0].size() == 75u);
  BOOST_TEST(lines[1].size() == 75u);  // " " + 74 content bytes
  BOOST_TEST(unfold(folded) == line + "\r\n");
}

BOOST_AUTO_TEST_CASE(folding_never_splits_a_multibyte_utf8_sequence) {
  // Every alignment of 2-, 3- and 4-byte characters against the fold points.
  for (const std::string ch : {"é", "€", "😀"}) {
    for (int prefix = 0; prefix < 4; ++prefix) {
      std::string line = "SUMMARY:" + std::string(prefix, 'a');
      for (int i = 0; i < 80; ++i) line += ch;
      const std::string folded = ical::fold_line(line);
      check_folding(folded);
      BOOST_TEST(unfold(folded) == line + "\r\n");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_line_ends_in_crlf_and_none_exceeds_75_octets) {
  auto inv = sample();
  inv.description = std::string(300, 'd') + "\nÜnïcödé " + std::string(100, 'e');
  const std::string ics = ical::build_invite(inv, ical::Method::request);
  BOOST_TEST(ics.substr(ics.size() - 2) == "\r\n");
  for (size_t i = 0; i < ics.size(); ++i)
    if (ics[i] == '\n') BOOST_TEST_REQUIRE((i > 0 && ics[i - 1] == '\r'), "bare LF at " << i);
  check_folding(ics, false);
  BOOST_TEST(ics.rfind("BEGIN:VCALENDAR\r\n", 0) == 0u);
  BOOST_TEST(ics.find("END:VCALENDAR\r\n") == ics.size() - 15);
}

BOOST_AUTO_TEST_CASE(request_has_the_required_properties) {
  const std::string ics = unfold(ical::build_invite(sample(), ical::Method::request));
  for (const char* want :
       {"\r\nVERSION:2.0\r\n", "\r\nPRODID:-//Coach Marketplace//Booking Mail 1.0//EN\r\n", "\r\nMETHOD:REQUEST\r\n",
        "\r\nUID:booking-42@coach-marketplace\r\n", "\r\nSEQUENCE:0\r\n", "\r\nDTSTAMP:20250301T120000Z\r\n",
        "\r\nDTSTART:20250310T150000Z\r\n", "\r\nDTEND:20250310T160000Z\r\n",
        "\r\nSUMMARY:Coaching: Alice & Bob\r\n", "\r\nSTATUS:CONFIRMED\r\n",
        "\r\nLOCATION:https://zoom.us/j/85746065432?pwd=abc\r\n", "\r\nURL:https://zoom.us/j/85746065432?pwd=abc\r\n",
        "\r\nORGANIZER;CN=Bob Coach:mailto:bob@example.net\r\n",
        "\r\nATTENDEE;CN=Alice Müller;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.org\r\n",
        "\r\nBEGIN:VALARM\r\n"})
    BOOST_TEST(ics.find(want) != std::string::npos, "missing " << want);
}

BOOST_AUTO_TEST_CASE(cancel_keeps_uid_and_times_and_says_cancelled) {
  auto inv = sample();
  inv.sequence = 2;
  const std::string req = unfold(ical::build_invite(sample(), ical::Method::request));
  const std::string ics = unfold(ical::build_invite(inv, ical::Method::cancel));
  BOOST_TEST(ics.find("\r\nMETHOD:CANCEL\r\n") != std::string::npos);
  BOOST_TEST(ics.find("\r\nSTATUS:CANCELLED\r\n") != std::string::npos);
  BOOST_TEST(ics.find("\r\nSEQUENCE:2\r\n") != std::string::npos);
  BOOST_TEST(ics.find("\r\nUID:booking-42@coach-marketplace\r\n") != std::string::npos);
  BOOST_TEST(ics.find("\r\nDTSTART:20250310T150000Z\r\n") != std::string::npos);
  BOOST_TEST(ics.find("ATTENDEE;") != std::string::npos);
  BOOST_TEST(ics.find("METHOD:REQUEST") == std::string::npos);
  BOOST_TEST(ics.find("STATUS:CONFIRMED") == std::string::npos);
  BOOST_TEST(ics.find("VALARM") == std::string::npos);
  BOOST_TEST(req.find("\r\nSEQUENCE:0\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(times_are_utc_with_z_on_both_sides_of_a_dst_change) {
  // 16:00 in Madrid is 15:00Z in winter (CET) and 14:00Z after 29 March 2026 (CEST).
  auto inv = sample();
  inv.start = *slots::local_to_utc("2026-03-10", 16 * 60, "Europe/Madrid");
  inv.end = inv.start + std::chrono::hours(1);
  BOOST_TEST(unfold(ical::build_invite(inv, ical::Method::request)).find("\r\nDTSTART:20260310T150000Z\r\n") !=
             std::string::npos);
  inv.start = *slots::local_to_utc("2026-03-30", 16 * 60, "Europe/Madrid");
  inv.end = inv.start + std::chrono::hours(1);
  const std::string ics = unfold(ical::build_invite(inv, ical::Method::request));
  BOOST_TEST(ics.find("\r\nDTSTART:20260330T140000Z\r\n") != std::string::npos);
  BOOST_TEST(ics.find("\r\nDTEND:20260330T150000Z\r\n") != std::string::npos);
  BOOST_TEST(ics.find("VTIMEZONE") == std::string::npos);
  BOOST_TEST(ical::format_utc(at("2024-02-29T23:59:59Z")) == "20240229T235959Z");
}

BOOST_AUTO_TEST_CASE(human_times_use_each_recipients_zone_and_dst) {
  const Instant t = at("2026-03-10T15:00:00Z");
  BOOST_TEST(ical::format_when(t, "Europe/Madrid") == "Tuesday, 10 March 2026, 16:00 (Europe/Madrid)");
  // Los Angeles is already on PDT (from 8 March 2026): UTC-7.
  BOOST_TEST(ical::format_when(t, "America/Los_Angeles") == "Tuesday, 10 March 2026, 08:00 (America/Los_Angeles)");
  BOOST_TEST(ical::format_when(at("2026-03-05T15:00:00Z"), "America/Los_Angeles") ==
             "Thursday, 5 March 2026, 07:00 (America/Los_Angeles)");
  BOOST_TEST(ical::format_when(t, "Asia/Kolkata") == "Tuesday, 10 March 2026, 20:30 (Asia/Kolkata)");
  BOOST_TEST(ical::format_when(at("2026-03-10T14:30:00Z"), "Australia/Sydney") ==
             "Wednesday, 11 March 2026, 01:30 (Australia/Sydney)");
  BOOST_TEST(ical::format_when(t, "Mars/Olympus") == "Tuesday, 10 March 2026, 15:00 (UTC)");
  BOOST_TEST(ical::format_when(t, "") == "Tuesday, 10 March 2026, 15:00 (UTC)");
  BOOST_TEST(ical::format_when(t, "Europe/Madrid", true) == "16:00");
}

BOOST_AUTO_TEST_CASE(google_link_is_the_render_template_url_with_encoded_values) {
  const std::string u = ical::google_calendar_link(sample());
  BOOST_TEST(u.rfind("https://calendar.google.com/calendar/render?action=TEMPLATE&", 0) == 0u);
  BOOST_TEST(u.find("&text=Coaching%3A%20Alice%20%26%20Bob") != std::string::npos);
  BOOST_TEST(u.find("&dates=20250310T150000Z%2F20250310T160000Z") != std::string::npos);
  BOOST_TEST(u.find("&details=Join%20Zoom%3A%20https%3A%2F%2Fzoom.us%2Fj%2F85746065432%3Fpwd%3Dabc") !=
             std::string::npos);
  BOOST_TEST(u.find("&location=https%3A%2F%2Fzoom.us%2Fj%2F85746065432%3Fpwd%3Dabc") != std::string::npos);
  BOOST_TEST(u.find(' ') == std::string::npos);
  // Exactly the five parameters: no '&' leaked from a value.
  BOOST_TEST(std::count(u.begin(), u.end(), '&') == 4);
}

BOOST_AUTO_TEST_CASE(outlook_link_is_the_compose_deeplink_with_encoded_values) {
  auto inv = sample();
  inv.summary = "Session: Müller & Co";
  const std::string u = ical::outlook_link(inv);
  BOOST_TEST(u.rfind("https://outlook.live.com/calendar/0/action/compose?path=/calendar/action/compose&rru=addevent&", 0) ==
             0u);
  BOOST_TEST(u.find("&startdt=2025-03-10T15%3A00%3A00Z") != std::string::npos);
  BOOST_TEST(u.find("&enddt=2025-03-10T16%3A00%3A00Z") != std::string::npos);
  BOOST_TEST(u.find("&subject=Session%3A%20M%C3%BCller%20%26%20Co") != std::string::npos);
  BOOST_TEST(u.find("&location=https%3A%2F%2Fzoom.us") != std::string::npos);
  BOOST_TEST(u.find("&allday=false") != std::string::npos);
  BOOST_TEST(u.find(' ') == std::string::npos);
  BOOST_TEST(std::count(u.begin(), u.end(), '&') == 7);  // 8 parameters
}

BOOST_AUTO_TEST_CASE(url_encoding_keeps_only_unreserved_characters) {
  BOOST_TEST(ical::url_encode("aZ09-_.~") == "aZ09-_.~");
  BOOST_TEST(ical::url_encode("a b/c?d=e&f+g#h%") == "a%20b%2Fc%3Fd%3De%26f%2Bg%23h%25");
  BOOST_TEST(ical::url_encode("é\n") == "%C3%A9%0A");
}

BOOST_AUTO_TEST_CASE(a_real_icalendar_parser_reads_back_the_same_request) {
  auto inv = sample();
  inv.summary = "Coaching: Müller, Alice; back\\slash & more";
  inv.description = "Line one, with comma; and semicolon\nLine two: " + std::string(120, 'x') + " ünïcödé €😀 " +
                    std::string(80, 'y');
  inv.attendee = {"Müller, Alice", "alice@example.org"};
  const Json::Value v = parse_with_python(ical::build_invite(inv, ical::Method::request));
  BOOST_TEST(v["method"].asString() == "REQUEST");
  BOOST_TEST(v["version"].asString() == "2.0");
  BOOST_TEST(v["n_events"].asInt() == 1);
  BOOST_TEST(v["uid"].asString() == inv.uid);
  BOOST_TEST(v["sequence"].asInt() == 0);
  BOOST_TEST(v["status"].asString() == "CONFIRMED");
  BOOST_TEST(v["summary"].asString() == inv.summary);
  BOOST_TEST(v["description"].asString() == inv.description);
  BOOST_TEST(v["location"].asString() == inv.location);
  BOOST_TEST(v["url"].asString() == inv.url);
  BOOST_TEST(v["dtstart"].asString() == "2025-03-10T15:00:00+00:00");
  BOOST_TEST(v["dtend"].asString() == "2025-03-10T16:00:00+00:00");
  BOOST_TEST(v["dtstamp"].asString() == "2025-03-01T12:00:00+00:00");
  BOOST_TEST(v["organizer"].asString() == "mailto:bob@example.net");
  BOOST_TEST(v["organizer_cn"].asString() == "Bob Coach");
  BOOST_TEST(v["attendee"].asString() == "mailto:alice@example.org");
  BOOST_TEST(v["attendee_cn"].asString() == "Müller, Alice");
  BOOST_TEST(v["attendee_params"]["ROLE"].asString() == "REQ-PARTICIPANT");
  BOOST_TEST(v["attendee_params"]["PARTSTAT"].asString() == "NEEDS-ACTION");
  BOOST_TEST(v["attendee_params"]["RSVP"].asString() == "TRUE");
  BOOST_TEST(v["n_alarms"].asInt() == 1);
}

BOOST_AUTO_TEST_CASE(a_real_icalendar_parser_reads_back_the_cancel) {
  auto inv = sample();
  inv.sequence = 3;
  const Json::Value v = parse_with_python(ical::build_invite(inv, ical::Method::cancel));
  BOOST_TEST(v["method"].asString() == "CANCEL");
  BOOST_TEST(v["status"].asString() == "CANCELLED");
  BOOST_TEST(v["sequence"].asInt() == 3);
  BOOST_TEST(v["uid"].asString() == inv.uid);
  BOOST_TEST(v["dtstart"].asString() == "2025-03-10T15:00:00+00:00");
  BOOST_TEST(v["attendee"].asString() == "mailto:alice@example.org");
  BOOST_TEST(v["n_alarms"].asInt() == 0);
}
