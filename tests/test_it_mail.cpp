/* test_it_mail.cpp: booking e-mails end to end against the running stack
 * (COACH_CONFIG; COACH_SMTP_DIR = the SMTP sink's Maildir): enqueue in a
 * transaction, the stack's worker sends, the sink receives exactly one mail per
 * recipient with the invite (parsed with Python's email package and
 * python3-icalendar), repeated enqueues are no-ops, reschedule keeps the UID
 * and bumps SEQUENCE, cancel sends METHOD:CANCEL, and an SMTP outage is an
 * Error that records nothing. The first suite needs no stack: MIME encoders. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE it_mail
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <dirent.h>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>

#include "booking_mail.hpp"
#include "slot_engine.hpp"
#include "smtp.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;
using booking_mail::Change;

namespace {

std::string run_python(const std::string& script, const std::string& arg) {
  char script_path[] = "/tmp/coach-mail-py-XXXXXX";
  int fd = mkstemp(script_path);
  if (fd < 0 || write(fd, script.data(), script.size()) != static_cast<ssize_t>(script.size()))
    throw std::runtime_error("cannot write the python script");
  close(fd);
  std::string out;
  if (FILE* p = popen(("/usr/bin/python3 " + std::string(script_path) + " '" + arg + "' 2>&1").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  unlink(script_path);
  return out;
}

/* One received message, as Python's email parser and python3-icalendar see it. */
Json::Value parse_mail(const std::string& path) {
  static const std::string script = R"PY(
import email, json, sys, icalendar
from email import policy
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=policy.default)
parts, plain, html, cal, att, cal_method = [], None, None, None, None, None
for p in msg.walk():
    parts.append(p.get_content_type())
    if p.is_multipart():
        continue
    ct = p.get_content_type()
    if ct == 'text/plain': plain = p.get_content()
    elif ct == 'text/html': html = p.get_content()
    elif ct == 'text/calendar':
        cal = p.get_payload(decode=True); cal_method = p.get_param('method')
    elif p.get_filename() == 'invite.ics': att = p.get_payload(decode=True)
c = icalendar.Calendar.from_ical(cal)
ev = c.walk('VEVENT')[0]
print(json.dumps({
  'from': str(msg['From']), 'to': str(msg['To']), 'subject': str(msg['Subject']),
  'message_id': str(msg['Message-ID']), 'date': str(msg['Date']), 'top': msg.get_content_type(),
  'parts': parts, 'plain': plain, 'html': html, 'cal_part_method': cal_method,
  'attachment_same': att == cal, 'cal_crlf': b'\n' not in cal.replace(b'\r\n', b''),
  'ical': {'method': str(c['METHOD']), 'uid': str(ev['UID']), 'sequence': int(ev['SEQUENCE']),
           'status': str(ev['STATUS']), 'dtstart': ev.decoded('DTSTART').isoformat(),
           'dtend': ev.decoded('DTEND').isoformat(), 'summary': str(ev['SUMMARY']),
           'location': str(ev.get('LOCATION')), 'organizer': str(ev['ORGANIZER']),
           'attendee': str(ev['ATTENDEE'])},
}))
)PY";
  const std::string out = run_python(script, path);
  auto v = json::parse(out);
  if (!v) throw std::runtime_error("mail parser failed on " + path + ": " + out);
  return *v;
}

std::string smtp_dir() { return env_or("COACH_SMTP_DIR", env_or("COACH_RUN_DIR", "run/local") + "/mail"); }

/* Paths of the received messages whose To header names addr. */
std::vector<std::string> mails_to(const std::string& addr) {
  std::vector<std::string> out;
  for (const char* sub : {"/new", "/cur"}) {
    const std::string dir = smtp_dir() + sub;
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string path = dir + "/" + e->d_name;
      std::ifstream in(path, std::ios::binary);
      std::string line;
      while (std::getline(in, line) && !line.empty() && line != "\r") {
        if (line.rfind("To:", 0) == 0 && line.find("<" + addr + ">") != std::string::npos) {
          out.push_back(path);
          break;
        }
      }
    }
    closedir(d);
  }
  return out;
}

/* Waits up to timeout for at least n messages to addr; returns them parsed. */
std::vector<Json::Value> wait_mails(const std::string& addr, size_t n, int timeout_s = 10) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::vector<std::string> paths = mails_to(addr);
  while (paths.size() < n && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    paths = mails_to(addr);
  }
  std::vector<Json::Value> out;
  for (const auto& p : paths) out.push_back(parse_mail(p));
  return out;
}

const Json::Value* with_sequence(const std::vector<Json::Value>& mails, int seq) {
  for (const auto& m : mails)
    if (m["ical"]["sequence"].asInt() == seq) return &m;
  return nullptr;
}

int closed_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);  // nothing listens there now
  return ntohs(a.sin_port);
}

struct Fx {
  db::Db db{db::settings_from(cfg())};
  std::string tag = crypto::random_hex(5);
  booking_mail::Facts f;
  Fx() {
    f.booking_uid = "bk_" + tag;
    f.ics_uid = "bk_" + tag + "@coach-marketplace";
    f.sequence = 0;
    f.title = "Listing strategy, 60 min";
    f.description = "Bring your last three listings; we will price them together.";
    f.location = "https://zoom.example/j/8574606" + tag.substr(0, 4) + "?pwd=abc";
    f.start = *slots::parse_iso("2026-03-10T15:00:00Z");
    f.end = f.start + std::chrono::hours(1);
    f.coach = {"María López", "coach-" + tag + "@coach.test", "Europe/Madrid"};
    f.agent = {"Sam Taylor", "agent-" + tag + "@agent.test", "America/Los_Angeles"};
    f.manage_url = "/bookings/bk_" + tag;
  }
  ~Fx() {
    try {
      db.exec("DELETE FROM mail_deliveries WHERE ics_uid = ?", {f.ics_uid});
      db.exec("DELETE FROM jobs WHERE idempotency_key LIKE ?", {"mail:bk_" + tag + "%"});
    } catch (...) {
    }
  }
  int enqueue(const booking_mail::Facts& facts, Change c) {
    int n = -1;
    db.transaction([&](db::Db& tx) { n = booking_mail::enqueue(tx, facts, c); });
    return n;
  }
  int64_t n_jobs() {
    return db.query_one("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key LIKE ?", {"mail:bk_" + tag + "%"})
        ->i64("n");
  }
  int64_t n_deliveries() {
    return db.query_one("SELECT COUNT(*) AS n FROM mail_deliveries WHERE ics_uid = ?", {f.ics_uid})->i64("n");
  }
};

void check_invite_mail(const Json::Value& m, const std::string& method) {
  BOOST_TEST(m["top"].asString() == "multipart/mixed");
  std::vector<std::string> parts;
  for (const auto& p : m["parts"]) parts.push_back(p.asString());
  const std::vector<std::string> want = {"multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                                         "text/calendar", "application/ics"};
  BOOST_TEST(parts == want, boost::test_tools::per_element());
  BOOST_TEST(m["cal_part_method"].asString() == method);
  BOOST_TEST(m["ical"]["method"].asString() == method);
  BOOST_TEST(m["attachment_same"].asBool());
  BOOST_TEST(m["cal_crlf"].asBool());
  BOOST_TEST(m["from"].asString().find(smtp::address_of(cfg().mail_from)) != std::string::npos);
  BOOST_TEST(m["message_id"].asString().find('@') != std::string::npos);
  BOOST_TEST(!m["date"].asString().empty());
}

}  // namespace

/* ---- no stack needed ------------------------------------------------------ */

BOOST_AUTO_TEST_SUITE(mime)

BOOST_AUTO_TEST_CASE(quoted_printable_encodes_equals_non_ascii_and_keeps_lines_short) {
  BOOST_TEST(smtp::quoted_printable("a=b\n") == "a=3Db\r\n");
  BOOST_TEST(smtp::quoted_printable("Müller\n") == "M=C3=BCller\r\n");
  BOOST_TEST(smtp::quoted_printable("trailing \nx") == "trailing=20\r\nx\r\n");
  const std::string qp = smtp::quoted_printable(std::string(200, 'x') + "\n" + std::string(100, 'y'));
  std::istringstream in(qp);
  std::string line;
  while (std::getline(in, line)) BOOST_TEST(line.size() <= 77u);  // 76 + the CR
}

BOOST_AUTO_TEST_CASE(headers_with_non_ascii_become_encoded_words) {
  BOOST_TEST(smtp::encode_header("Plain subject") == "Plain subject");
  BOOST_TEST(smtp::encode_header("evil\r\nBcc: x@y") == "evilBcc: x@y");  // no header injection
  const std::string long_ascii = smtp::encode_header("Booking confirmed: " + std::string(50, 'a') + " on Tuesday, 10 March");
  BOOST_TEST(long_ascii == "Booking confirmed: " + std::string(50, 'a') + "\r\n on Tuesday, 10 March");
  const std::string e = smtp::encode_header("Booking confirmed: Café " + std::string(80, 'x'));
  BOOST_TEST(e.rfind("=?UTF-8?B?", 0) == 0u);
  std::istringstream in(e);
  std::string line;
  while (std::getline(in, line)) BOOST_TEST(line.size() <= 77u);
  BOOST_TEST(smtp::format_mailbox("María López", "m@x.test").find("=?UTF-8?B?") == 0u);
  BOOST_TEST(smtp::format_mailbox("Sam \"T\"", "s@x.test") == "\"Sam \\\"T\\\"\" <s@x.test>");
  BOOST_TEST(smtp::address_of("Coaching Marketplace <no-reply@coach.test>") == "no-reply@coach.test");
  BOOST_TEST(smtp::rfc5322_date(*slots::parse_iso("2025-03-01T12:00:00Z")) == "Sat, 01 Mar 2025 12:00:00 +0000");
}

BOOST_AUTO_TEST_CASE(addresses_are_checked_and_bad_messages_never_reach_the_network) {
  BOOST_TEST(smtp::is_valid_address("a.b+c@example.org"));
  for (const char* bad : {"", "no-at", "@x.test", "a@", "a b@x.test", "a@x.test>", "a@x\r\n.test", "a@b@c"})
    BOOST_TEST(!smtp::is_valid_address(bad), "accepted '" << bad << "'");
  smtp::Settings s;
  s.url = "smtp://127.0.0.1:1";
  auto r = smtp::send(s, "a@x.test", {"b@x.test"}, "Subject: x\n\nbare LF\n");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "bad_message");
  r = smtp::send(s, "a@x.test", {"b@x.test\r\nRCPT TO:<c@x.test>"}, "Subject: x\r\n\r\nok\r\n");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "bad_message");
}

BOOST_AUTO_TEST_SUITE_END()

/* ---- against the running stack --------------------------------------------- */

BOOST_FIXTURE_TEST_CASE(created_sends_one_invite_per_recipient_in_their_own_zone, Fx) {
  BOOST_TEST(enqueue(f, Change::created) == 2);
  auto coach_mails = wait_mails(f.coach.email, 1);
  auto agent_mails = wait_mails(f.agent.email, 1);
  BOOST_TEST_REQUIRE(coach_mails.size() == 1u);
  BOOST_TEST_REQUIRE(agent_mails.size() == 1u);
  for (const auto* m : {&coach_mails[0], &agent_mails[0]}) {
    check_invite_mail(*m, "REQUEST");
    const auto& ic = (*m)["ical"];
    BOOST_TEST(ic["uid"].asString() == f.ics_uid);
    BOOST_TEST(ic["sequence"].asInt() == 0);
    BOOST_TEST(ic["status"].asString() == "CONFIRMED");
    BOOST_TEST(ic["dtstart"].asString() == "2026-03-10T15:00:00+00:00");
    BOOST_TEST(ic["dtend"].asString() == "2026-03-10T16:00:00+00:00");
    BOOST_TEST(ic["summary"].asString() == f.title);
    BOOST_TEST(ic["location"].asString() == f.location);
    BOOST_TEST(ic["organizer"].asString() == "mailto:" + f.coach.email);
    BOOST_TEST(ic["attendee"].asString() == "mailto:" + f.agent.email);
    const std::string html = (*m)["html"].asString();
    BOOST_TEST(html.find("https://calendar.google.com/calendar/render?action=TEMPLATE&amp;") != std::string::npos);
    BOOST_TEST(html.find("https://outlook.live.com/calendar/0/action/compose?") != std::string::npos);
    BOOST_TEST(html.find(cfg().public_base_url + "/bookings/bk_" + tag) != std::string::npos);  // manage link
    BOOST_TEST(html.find("href=\"" + f.location + "\"") != std::string::npos);                 // join link
  }
  // Each recipient sees the time in their own zone (Los Angeles is on PDT by 10 March 2026).
  const std::string coach_text = coach_mails[0]["plain"].asString();
  const std::string agent_text = agent_mails[0]["plain"].asString();
  BOOST_TEST(coach_text.find("Tuesday, 10 March 2026, 16:00 (Europe/Madrid)") != std::string::npos, coach_text);
  BOOST_TEST(agent_text.find("Tuesday, 10 March 2026, 08:00 (America/Los_Angeles)") != std::string::npos, agent_text);
  BOOST_TEST(coach_text.find(f.location) != std::string::npos);
  BOOST_TEST(coach_mails[0]["to"].asString().find("María López") != std::string::npos);
  BOOST_TEST(coach_mails[0]["subject"].asString() ==
             "Booking confirmed: " + f.title + " on Tuesday, 10 March 2026, 16:00 (Europe/Madrid)");
  BOOST_TEST(agent_mails[0]["subject"].asString().find("(America/Los_Angeles)") != std::string::npos);

  // The same change again (our API and the Cal.com webhook both report it): nothing new.
  BOOST_TEST(enqueue(f, Change::created) == 0);
  BOOST_TEST(n_jobs() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  BOOST_TEST(mails_to(f.coach.email).size() == 1u);
  BOOST_TEST(mails_to(f.agent.email).size() == 1u);
  BOOST_TEST(n_deliveries() == 2);
}

BOOST_FIXTURE_TEST_CASE(reschedule_keeps_the_uid_with_sequence_1_and_cancel_sends_method_cancel, Fx) {
  BOOST_TEST(enqueue(f, Change::created) == 2);
  BOOST_TEST_REQUIRE(wait_mails(f.agent.email, 1).size() == 1u);

  auto moved = f;
  moved.booking_uid = "bk_" + tag + "_2";
  moved.sequence = 1;
  moved.start = *slots::parse_iso("2026-03-31T15:00:00Z");  // Madrid is on CEST by then: 17:00
  moved.end = moved.start + std::chrono::minutes(45);
  BOOST_TEST(enqueue(moved, Change::rescheduled) == 2);
  auto agent_mails = wait_mails(f.agent.email, 2);
  auto coach_mails = wait_mails(f.coach.email, 2);
  const Json::Value* a1 = with_sequence(agent_mails, 1);
  const Json::Value* c1 = with_sequence(coach_mails, 1);
  BOOST_TEST_REQUIRE(a1);
  BOOST_TEST_REQUIRE(c1);
  check_invite_mail(*a1, "REQUEST");
  BOOST_TEST((*a1)["ical"]["uid"].asString() == f.ics_uid);
  BOOST_TEST((*a1)["ical"]["dtstart"].asString() == "2026-03-31T15:00:00+00:00");
  BOOST_TEST((*a1)["ical"]["dtend"].asString() == "2026-03-31T15:45:00+00:00");
  BOOST_TEST((*a1)["subject"].asString().find("Booking rescheduled:") == 0u);
  BOOST_TEST((*c1)["plain"].asString().find("Tuesday, 31 March 2026, 17:00 (Europe/Madrid)") != std::string::npos);

  auto cancelled = moved;
  cancelled.sequence = 2;
  cancelled.cancel_reason = "Agent is ill; will rebook";
  BOOST_TEST(enqueue(cancelled, Change::cancelled) == 2);
  agent_mails = wait_mails(f.agent.email, 3);
  const Json::Value* a2 = with_sequence(agent_mails, 2);
  BOOST_TEST_REQUIRE(a2);
  check_invite_mail(*a2, "CANCEL");
  BOOST_TEST((*a2)["ical"]["uid"].asString() == f.ics_uid);
  BOOST_TEST((*a2)["ical"]["status"].asString() == "CANCELLED");
  BOOST_TEST((*a2)["ical"]["dtstart"].asString() == "2026-03-31T15:00:00+00:00");  // the times it cancels
  BOOST_TEST((*a2)["plain"].asString().find(cancelled.cancel_reason) != std::string::npos);
  BOOST_TEST((*a2)["html"].asString().find("calendar.google.com") == std::string::npos);
  BOOST_TEST(wait_mails(f.coach.email, 3).size() == 3u);
  BOOST_TEST(n_deliveries() == 6);
}

BOOST_FIXTURE_TEST_CASE(smtp_outage_is_an_error_and_records_nothing_then_the_mail_goes_once, Fx) {
  // Queue the change, but move the jobs to a kind the stack's worker does not
  // claim (same transaction, so it never sees them), and perform one by hand.
  const std::string kind = "test_mail_" + tag;
  db.transaction([&](db::Db& tx) {
    BOOST_TEST(booking_mail::enqueue(tx, f, Change::created) == 2);
    tx.exec("UPDATE jobs SET kind = ? WHERE idempotency_key LIKE ?", {kind, "mail:bk_" + tag + "%"});
  });
  auto row = db.query_one("SELECT id, payload FROM jobs WHERE kind = ? AND idempotency_key LIKE ?",
                          {kind, "%:" + f.agent.email});
  BOOST_TEST_REQUIRE(row.has_value());
  const int64_t job_id = row->i64("id");
  const std::string payload = row->str("payload");

  Config down = cfg();
  down.smtp_url = "smtp://127.0.0.1:" + std::to_string(closed_port());
  auto r = booking_mail::perform_job(down, db, job_id, payload);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "smtp_failed");
  BOOST_TEST(n_deliveries() == 0);
  BOOST_TEST(mails_to(f.agent.email).empty());

  BOOST_TEST(booking_mail::perform_job(cfg(), db, job_id, payload).ok());
  BOOST_TEST(wait_mails(f.agent.email, 1).size() == 1u);
  auto rec = db.query_one("SELECT recipient, change_kind, ics_sequence, message_id FROM mail_deliveries WHERE job_id = ?",
                          {job_id});
  BOOST_TEST_REQUIRE(rec.has_value());
  BOOST_TEST(rec->str("recipient") == f.agent.email);
  BOOST_TEST(rec->str("change_kind") == "created");
  BOOST_TEST(rec->i64("ics_sequence") == 0);

  // A re-run (worker crashed before jobs::complete) finds the record: no second mail.
  BOOST_TEST(booking_mail::perform_job(cfg(), db, job_id, payload).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  BOOST_TEST(mails_to(f.agent.email).size() == 1u);
  BOOST_TEST(mails_to(f.coach.email).empty());  // its job was never performed
  BOOST_TEST(n_deliveries() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_bad_payload_is_an_error_and_sends_nothing, Fx) {
  auto r = booking_mail::perform_job(cfg(), db, 0, "not json");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "bad_payload");
  Json::Value p;
  p["change"] = "created";
  p["recipient"] = "agent";
  p["icsUid"] = f.ics_uid;
  p["start"] = 100;
  p["end"] = 50;
  r = booking_mail::perform_job(cfg(), db, 0, json::write(p));
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "bad_payload");
  // A recipient with an unusable address is skipped at enqueue time.
  auto g = f;
  g.agent.email = "not an address";
  BOOST_TEST(enqueue(g, Change::created) == 1);
}
