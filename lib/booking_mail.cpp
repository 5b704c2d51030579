/* booking_mail.cpp: booking e-mails with iCalendar invites, queued in the
 * jobs outbox and sent by the worker (reference payments-zoom-auth-email.md
 * §4). One job per recipient and change; the job's payload carries every fact
 * needed to render it, so sending never reads booking tables.
 *
 * Delivery guarantee: at least once. perform_job looks up mail_deliveries by
 * job id before sending and records the delivery right after the SMTP server
 * accepted the DATA, so a job re-run after a worker crash, a failed
 * jobs::complete or an expired lease does not send twice. What remains: a
 * crash (or lost database) after the server said 250 and before the
 * INSERT commits, or a second worker taking the job over after the 60 s lease
 * while the first is still inside the SMTP session, sends the mail again.
 * Such a duplicate is harmless for calendars (same UID and SEQUENCE: clients
 * update the one event) and carries the same Message-ID (derived from the job,
 * not random), which lets mailbox providers that dedupe by Message-ID drop it. */
#include "booking_mail.hpp"

#include <algorithm>
#include <cctype>

#include "crypto.hpp"
#include "html.hpp"
#include "ical.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "meetings.hpp"
#include "smtp.hpp"

namespace coach::booking_mail {
namespace {

constexpr const char* k_kind = "send_email";
constexpr size_t k_max_key = 191;           // jobs.idempotency_key VARCHAR(191)
constexpr size_t k_max_title = 200;         // bytes, cut at a UTF-8 boundary
constexpr size_t k_max_description = 4000;  // keeps the payload (TEXT) and the .ics small

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/* s cut to at most n bytes without splitting a UTF-8 sequence. */
std::string cut_utf8(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

bool is_http_url(const std::string& s) { return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0; }

Json::Value party_json(const Party& p) {
  Json::Value v;
  v["name"] = p.name;
  v["email"] = p.email;
  v["timeZone"] = p.time_zone;
  return v;
}

Party party_from(const Json::Value& v) {
  return Party{json::str(v, "name"), json::str(v, "email"), json::str(v, "timeZone")};
}

Result<Change> change_from(const std::string& s) {
  if (s == "created") return Change::created;
  if (s == "rescheduled") return Change::rescheduled;
  if (s == "cancelled") return Change::cancelled;
  return make_error(400, "bad_payload", "unknown change '" + s + "'");
}

std::string idempotency_key(const Facts& f, Change change, const std::string& email) {
  std::string key = "mail:" + f.ics_uid + ":" + std::to_string(f.sequence) + ":" + to_string(change) + ":" +
                    lower(email);
  // An over-long key would be truncated or rejected by the column: hash it
  // (deterministic, so the dedupe still holds).
  if (key.size() > k_max_key) key = "mail:sha256:" + crypto::hex_encode(crypto::sha256(key));
  return key;
}

Json::Value payload_of(const Facts& f, Change change, const std::string& role) {
  Json::Value p;
  p["v"] = 1;
  p["change"] = to_string(change);
  p["recipient"] = role;  // "coach" | "agent"
  p["bookingUid"] = f.booking_uid;
  p["icsUid"] = f.ics_uid;
  p["sequence"] = f.sequence;
  p["title"] = cut_utf8(f.title, k_max_title);
  p["description"] = cut_utf8(f.description, k_max_description);
  p["location"] = cut_utf8(f.location, 2000);
  p["start"] = Json::Int64(f.start.time_since_epoch().count());
  p["end"] = Json::Int64(f.end.time_since_epoch().count());
  p["coach"] = party_json(f.coach);
  p["agent"] = party_json(f.agent);
  p["cancelReason"] = cut_utf8(f.cancel_reason, 1000);
  p["manageUrl"] = cut_utf8(f.manage_url, 2000);
  return p;
}

struct Job {
  Facts facts;
  Change change = Change::created;
  bool to_coach = false;
  const Party& recipient() const { return to_coach ? facts.coach : facts.agent; }
  const Party& other() const { return to_coach ? facts.agent : facts.coach; }
};

Result<Job> parse_payload(const std::string& payload_json) {
  auto p = json::parse(payload_json);
  if (!p || !p->isObject()) return make_error(400, "bad_payload", "send_email payload is not a JSON object");
  const Json::Value& v = *p;
  Job j;
  auto ch = change_from(json::str(v, "change"));
  if (!ch) return ch.error();
  j.change = *ch;
  const std::string role = json::str(v, "recipient");
  if (role != "coach" && role != "agent") return make_error(400, "bad_payload", "recipient must be coach or agent");
  j.to_coach = role == "coach";
  Facts& f = j.facts;
  f.booking_uid = json::str(v, "bookingUid");
  f.ics_uid = json::str(v, "icsUid");
  f.sequence = static_cast<int>(json::num(v, "sequence"));
  f.title = json::str(v, "title");
  f.description = json::str(v, "description");
  f.location = json::str(v, "location");
  f.start = ical::Instant{std::chrono::seconds{json::num(v, "start")}};
  f.end = ical::Instant{std::chrono::seconds{json::num(v, "end")}};
  f.coach = party_from(v["coach"]);
  f.agent = party_from(v["agent"]);
  f.cancel_reason = json::str(v, "cancelReason");
  f.manage_url = json::str(v, "manageUrl");
  if (f.ics_uid.empty()) return make_error(400, "bad_payload", "icsUid is empty");
  if (f.end <= f.start) return make_error(400, "bad_payload", "end is not after start");
  if (!smtp::is_valid_address(f.coach.email) || !smtp::is_valid_address(f.agent.email))
    return make_error(400, "bad_payload", "invalid e-mail address");
  return j;
}

/* ---- rendering ------------------------------------------------------------ */

struct Parts {
  std::string subject, text, html, ics, message_id;
};

const char* subject_prefix(Change c) {
  switch (c) {
    case Change::created: return "Booking confirmed";
    case Change::rescheduled: return "Booking rescheduled";
    case Change::cancelled: return "Booking cancelled";
  }
  return "Booking";
}

std::string absolute_url(const Config& cfg, const std::string& u) {
  if (u.empty() || is_http_url(u)) return u;
  std::string base = cfg.public_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + (u[0] == '/' ? "" : "/") + u;
}

std::string domain_of(const std::string& addr) {
  const size_t at = addr.rfind('@');
  return at == std::string::npos ? "localhost" : addr.substr(at + 1);
}

/* Builds subject, bodies, invite and Message-ID for one job. */
Parts render(const Config& cfg, const Job& j, int64_t job_id, ical::Instant now) {
  const Facts& f = j.facts;
  const Party& me = j.recipient();
  const Party& other = j.other();
  const bool cancel = j.change == Change::cancelled;
  const std::string manage_url = absolute_url(cfg, f.manage_url);
  const std::string join_url = is_http_url(f.location) ? f.location : "";
  const std::string title = f.title.empty() ? "Coaching session" : f.title;

  ical::Invite inv;
  inv.uid = f.ics_uid;
  inv.sequence = f.sequence;
  inv.stamp = now;
  inv.start = f.start;
  inv.end = f.end;
  inv.summary = title;
  std::string desc = f.description;
  auto add_para = [&desc](const std::string& s) { desc += (desc.empty() ? "" : "\n\n") + s; };
  if (cancel) add_para("Cancelled" + (f.cancel_reason.empty() ? std::string(".") : ": " + f.cancel_reason));
  if (!join_url.empty() && !cancel) add_para("Join: " + join_url);
  if (!manage_url.empty() && !cancel) add_para("Reschedule or cancel: " + manage_url);
  inv.description = desc;
  inv.location = f.location;
  inv.url = join_url;
  inv.organizer = ical::Person{f.coach.name, f.coach.email};
  inv.attendee = ical::Person{f.agent.name, f.agent.email};

  Parts out;
  out.ics = ical::build_invite(inv, cancel ? ical::Method::cancel : ical::Method::request);

  const std::string when = ical::format_when(f.start, me.time_zone);
  const std::string until = ical::format_when(f.end, me.time_zone, true);
  const std::string other_when = ical::format_when(f.start, other.time_zone);
  const int64_t duration_min = (f.end - f.start).count() / 60;
  out.subject = std::string(subject_prefix(j.change)) + ": " + title + " on " + when;

  // The same invite for a repeated job: calendar clients and mailbox
  // providers treat a re-sent message as the same one.
  const std::string key = f.ics_uid + ":" + std::to_string(f.sequence) + ":" + to_string(j.change) + ":" + me.email;
  out.message_id = "<booking-mail." + std::to_string(job_id) + "." +
                   crypto::hex_encode(crypto::sha256(key)).substr(0, 16) + "@" +
                   domain_of(smtp::address_of(cfg.mail_from)) + ">";

  const std::string other_role = j.to_coach ? "agent" : "coach";
  std::string google, outlook;
  if (!cancel) {
    google = ical::google_calendar_link(inv);
    outlook = ical::outlook_link(inv);
  }

  Json::Value ctx;
  ctx["subject"] = out.subject;
  ctx["recipient_name"] = me.name;
  ctx["other_name"] = other.name;
  ctx["other_role"] = other_role;
  ctx["title"] = title;
  ctx["description"] = f.description;
  ctx["when"] = when;
  ctx["until"] = until;
  ctx["duration_min"] = Json::Int64(duration_min);
  ctx["other_when"] = other.time_zone == me.time_zone ? "" : other_when;
  ctx["location"] = join_url.empty() ? f.location : "";
  ctx["join_url"] = cancel ? "" : join_url;
  ctx["manage_url"] = cancel ? "" : manage_url;
  ctx["google_url"] = google;
  ctx["outlook_url"] = outlook;
  ctx["cancel_reason"] = f.cancel_reason;
  out.html = html::render(std::string("email_") + to_string(j.change), ctx);

  std::string t;
  t += "Hello " + (me.name.empty() ? std::string("there") : me.name) + ",\n\n";
  switch (j.change) {
    case Change::created: t += "Your coaching session with " + other.name + " is confirmed.\n\n"; break;
    case Change::rescheduled: t += "Your coaching session with " + other.name + " has moved to a new time.\n\n"; break;
    case Change::cancelled: t += "Your coaching session with " + other.name + " has been cancelled.\n\n"; break;
  }
  t += "What:  " + title + "\n";
  t += "When:  " + when + (cancel ? "" : " to " + until) + " (" + std::to_string(duration_min) + " min)\n";
  if (other.time_zone != me.time_zone) t += "       for the " + other_role + ": " + other_when + "\n";
  if (!cancel && !join_url.empty()) t += "Join:  " + join_url + "\n";
  else if (!cancel && !f.location.empty()) t += "Where: " + f.location + "\n";
  if (cancel && !f.cancel_reason.empty()) t += "Reason: " + f.cancel_reason + "\n";
  if (!f.description.empty() && !cancel) t += "\n" + f.description + "\n";
  if (!cancel) {
    if (!manage_url.empty()) t += "\nReschedule or cancel: " + manage_url + "\n";
    t += "\nAdd to Google Calendar: " + google + "\n";
    t += "Add to Outlook: " + outlook + "\n";
    t += "\nThe invite is attached (invite.ics).\n";
  } else {
    t += "\nThe attached update (invite.ics) removes the event from your calendar.\n";
  }
  out.text = t;
  return out;
}

/* The RFC 5322 message: multipart/mixed [ multipart/alternative [ text/plain,
 * text/html, text/calendar; method=... ], application/ics invite.ics ]
 * (reference §4.3). */
std::string build_message(const Config& cfg, const Job& j, const Parts& p, ical::Instant now) {
  const std::string method = j.change == Change::cancelled ? "CANCEL" : "REQUEST";
  const std::string mix = smtp::random_boundary("mix");
  const std::string alt = smtp::random_boundary("alt");
  const std::string from_addr = smtp::address_of(cfg.mail_from);
  std::string from_name = cfg.mail_from.substr(0, std::min(cfg.mail_from.size(), cfg.mail_from.rfind('<')));
  from_name.erase(std::remove(from_name.begin(), from_name.end(), '"'), from_name.end());
  while (!from_name.empty() && from_name.back() == ' ') from_name.pop_back();
  const Party& me = j.recipient();

  std::string m;
  m += "From: " + smtp::format_mailbox(from_name, from_addr) + "\r\n";
  m += "To: " + smtp::format_mailbox(me.name, me.email) + "\r\n";
  m += "Subject: " + smtp::encode_header(p.subject) + "\r\n";
  m += "Date: " + smtp::rfc5322_date(now) + "\r\n";
  m += "Message-ID: " + p.message_id + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/mixed; boundary=\"" + mix + "\"\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n";
  m += "--" + mix + "\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n";
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(p.text);
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(p.html);
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/calendar; charset=UTF-8; method=" + method + "\r\n";
  m += "Content-Transfer-Encoding: base64\r\n\r\n";
  m += smtp::base64_lines(p.ics);
  m += "--" + alt + "--\r\n";
  m += "--" + mix + "\r\n";
  m += "Content-Type: application/ics; name=\"invite.ics\"\r\n";
  m += "Content-Disposition: attachment; filename=\"invite.ics\"\r\n";
  m += "Content-Transfer-Encoding: base64\r\n\r\n";
  m += smtp::base64_lines(p.ics);
  m += "--" + mix + "--\r\n";
  return m;
}

}  // namespace

const char* to_string(Change c) {
  switch (c) {
    case Change::created: return "created";
    case Change::rescheduled: return "rescheduled";
    case Change::cancelled: return "cancelled";
  }
  return "created";
}

int enqueue(db::Db& tx, const Facts& f, Change change) {
  if (f.ics_uid.empty() || f.end <= f.start) {
    // A caller bug; failing the caller's transaction would lose the booking
    // for the sake of an e-mail, so it is logged and skipped.
    log::error("booking mail not queued: bad facts", {{"booking_uid", f.booking_uid}, {"ics_uid", f.ics_uid}});
    return 0;
  }
  int n = 0;
  for (const auto& [role, party] : {std::pair<const char*, const Party*>{"coach", &f.coach}, {"agent", &f.agent}}) {
    if (!smtp::is_valid_address(party->email)) {
      log::warn("booking mail not queued: invalid address", {{"booking_uid", f.booking_uid}, {"recipient", role}});
      continue;
    }
    if (jobs::enqueue(tx, k_kind, idempotency_key(f, change, party->email), payload_of(f, change, role))) ++n;
  }
  return n;
}

Status perform_job(const Config& cfg, db::Db& db, int64_t job_id, const std::string& payload_json) {
  auto job = parse_payload(payload_json);
  if (!job) return job.error();
  // The video link as known now: our Zoom meeting is made after the mail was queued.
  if (const auto ml = meetings::mail_link(cfg, db, job->facts.booking_uid); !ml.join_url.empty())
    job->facts.location = ml.join_url;
  else if (ml.pending)
    job->facts.location = "Zoom (the link will follow and is on your sessions page)";
  const Job& j = *job;
  if (auto prev = db.query_one("SELECT message_id FROM mail_deliveries WHERE job_id = ?", {job_id})) {
    log::info("booking mail already sent", {{"job_id", std::to_string(job_id)}, {"message_id", prev->str("message_id")}});
    return ok_status();
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Parts parts = render(cfg, j, job_id, now);
  const std::string message = build_message(cfg, j, parts, now);

  smtp::Settings s;
  s.url = cfg.smtp_url;
  if (auto sent = smtp::send(s, smtp::address_of(cfg.mail_from), {j.recipient().email}, message); !sent)
    return sent.error();

  // Sent: from here on a failure must not make the job run again if it can
  // be helped, so the insert is retried and a final failure is only logged.
  for (int attempt = 1;; ++attempt) {
    try {
      db.exec("INSERT IGNORE INTO mail_deliveries (job_id, recipient, subject, change_kind, ics_uid, ics_sequence, "
              "sent_at, message_id) VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3), ?)",
              {job_id, j.recipient().email, cut_utf8(parts.subject, 900), std::string(to_string(j.change)),
               j.facts.ics_uid, int64_t(j.facts.sequence), parts.message_id});
      break;
    } catch (const db::DbError& e) {
      if (attempt >= 3) {
        log::error("booking mail sent but not recorded (a re-run would send it again)",
                   {{"job_id", std::to_string(job_id)}, {"message_id", parts.message_id}, {"what", e.what()}});
        break;
      }
    }
  }
  log::info("booking mail sent", {{"job_id", std::to_string(job_id)}, {"change", to_string(j.change)},
                                  {"ics_uid", j.facts.ics_uid}, {"sequence", std::to_string(j.facts.sequence)},
                                  {"message_id", parts.message_id}});
  return ok_status();
}

}  // namespace coach::booking_mail
