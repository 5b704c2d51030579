/* session_reminders.cpp: the 24 h / 1 h reminder e-mails of coaching sessions
 * (see session_reminders.hpp for the scheduling and sending rules). */
#include "session_reminders.hpp"

#include <algorithm>
#include <chrono>

#include "booking_hooks.hpp"
#include "crypto.hpp"
#include "html.hpp"
#include "ical.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "smtp.hpp"

namespace coach::session_reminders {
namespace {

struct Kind {
  const char* name;
  int64_t before_s;
  const char* words;
};
constexpr Kind kKinds[] = {{"24h", 86400, "in 24 hours"}, {"1h", 3600, "in 1 hour"}};

bool is_http_url(const std::string& s) { return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0; }

std::string domain_of(const std::string& addr) {
  const size_t at = addr.rfind('@');
  return at == std::string::npos ? "localhost" : addr.substr(at + 1);
}

std::string or_utc(const std::string& z) { return z.empty() ? "UTC" : z; }

}  // namespace

int sync(db::Db& tx, int64_t session_id) {
  auto s = tx.query_one(
      "SELECT s.root_uid, s.current_uid, s.status, b.status AS b_status, "
      "DATE_FORMAT(s.start_utc, '%Y%m%dT%H%i%sZ') AS start_key, DATE_FORMAT(s.start_utc, '%Y-%m-%dT%H:%i:%sZ') AS start_iso, "
      "UNIX_TIMESTAMP(s.start_utc) AS start_s, UNIX_TIMESTAMP() AS now_s "
      "FROM CoachingSession s LEFT JOIN CalBooking b ON b.cal_uid = s.current_uid WHERE s.id = ?",
      {session_id});
  if (!s) return 0;
  const std::string prefix = "reminder:" + s->str("root_uid") + ":";
  std::vector<std::string> wanted;
  int n_new = 0;
  const int64_t now = s->i64("now_s"), start = s->i64("start_s");
  if (s->str("status") == "scheduled" && s->str("b_status") == "accepted" && !s->is_null("start_s") && start > now) {
    for (const Kind& k : kKinds) {
      const int64_t due = start - k.before_s;
      if (due <= now) continue;  // its time has passed: never sent late
      for (const char* role : {"coach", "agent"}) {
        const std::string key = prefix + s->str("start_key") + ":" + k.name + ":" + role;
        wanted.push_back(key);
        Json::Value p;
        p["key"] = key;
        p["rootUid"] = s->str("root_uid");
        p["bookingUid"] = s->str("current_uid");
        p["startUtc"] = s->str("start_iso");
        p["kind"] = k.name;
        p["role"] = role;
        if (jobs::enqueue(tx, kJobKind, key, p, static_cast<int>(due - now), 5)) ++n_new;
      }
    }
  }
  // A prefix LIKE (escaped) is a range on uq_jobs_key: LEFT() would scan and
  // lock every job row, serializing every booking change behind it.
  std::string like;
  for (char ch : prefix) {
    if (ch == '\\' || ch == '%' || ch == '_') like += '\\';
    like += ch;
  }
  std::string sql = "DELETE FROM jobs WHERE idempotency_key LIKE ? AND kind = ? AND status = 'pending'";
  std::vector<db::Param> params{like + "%", std::string(kJobKind)};
  if (!wanted.empty()) {
    sql += " AND idempotency_key NOT IN (";
    for (size_t i = 0; i < wanted.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.emplace_back(wanted[i]);
    }
    sql += ")";
  }
  const uint64_t n_del = tx.exec(sql, params);
  if (n_new || n_del)
    log::info("session reminders", {{"session_id", std::to_string(session_id)}, {"queued", std::to_string(n_new)},
                                    {"deleted", std::to_string(n_del)}});
  return n_new;
}

Status perform_job(const Config& cfg, db::Db& db, int64_t job_id, const Json::Value& payload, bool* sent) {
  if (sent) *sent = false;
  const std::string key = json::str(payload, "key"), root = json::str(payload, "rootUid"),
                    uid = json::str(payload, "bookingUid"), start_iso = json::str(payload, "startUtc"),
                    kind = json::str(payload, "kind"), role = json::str(payload, "role");
  const Kind* k = nullptr;
  for (const Kind& x : kKinds)
    if (kind == x.name) k = &x;
  if (key.empty() || root.empty() || uid.empty() || start_iso.empty() || !k || (role != "coach" && role != "agent")) {
    log::error("session reminder with a bad payload dropped", {{"job_id", std::to_string(job_id)}});
    return ok_status();
  }
  if (db.query_one("SELECT 1 AS x FROM session_reminder_deliveries WHERE reminder_key = ?", {key})) {
    log::info("session reminder already sent", {{"job_id", std::to_string(job_id)}});
    return ok_status();
  }
  auto r = db.query_one(
      "SELECT s.current_uid, s.status, b.status AS b_status, b.title, b.join_url, b.location, "
      "DATE_FORMAT(s.start_utc, '%Y-%m-%dT%H:%i:%sZ') AS start_iso, UNIX_TIMESTAMP(s.start_utc) AS start_s, "
      "UNIX_TIMESTAMP(s.end_utc) AS end_s, UNIX_TIMESTAMP() AS now_s, "
      "cu.name AS coach_name, cu.email AS coach_email, cu.time_zone AS coach_tz, b.organizer_email, "
      "au.name AS agent_name, au.email AS agent_email, au.time_zone AS agent_tz, b.attendee_name, b.attendee_email, "
      "m.attendee_time_zone AS m_tz, b.attendee_time_zone AS b_tz, et.title AS et_title "
      "FROM CoachingSession s JOIN CalBooking b ON b.cal_uid = s.current_uid "
      "LEFT JOIN booking_meta m ON m.cal_uid = b.cal_uid LEFT JOIN users cu ON cu.id = s.coach_user_id "
      "LEFT JOIN users au ON au.id = s.agent_user_id LEFT JOIN EventType et ON et.cal_event_type_id = b.cal_event_type_id "
      "WHERE s.root_uid = ?",
      {root});
  // Still the session it was made for? (head, active, same start, still ahead)
  std::string why;
  if (!r) why = "no session";
  else if (r->str("current_uid") != uid || booking_hooks::chain_head(db, root) != uid) why = "moved";
  else if (r->str("b_status") != "accepted" || r->str("status") != "scheduled") why = "not active (" + r->str("status") + ")";
  else if (r->str("start_iso") != start_iso) why = "start changed";
  else if (r->i64("now_s") >= r->i64("start_s")) why = "session already started";
  if (!why.empty()) {
    log::info("session reminder dropped", {{"job_id", std::to_string(job_id)}, {"reason", why}});
    return ok_status();
  }

  const bool to_coach = role == "coach";
  std::string me_name = to_coach ? r->str("coach_name") : r->str("agent_name");
  std::string me_email = to_coach ? r->str("coach_email") : r->str("agent_email");
  std::string me_tz = to_coach ? r->str("coach_tz") : r->str("m_tz");
  if (!to_coach) {
    if (me_name.empty()) me_name = r->str("attendee_name");
    if (me_email.empty()) me_email = r->str("attendee_email");
    if (me_tz.empty()) me_tz = r->str("b_tz");
    if (me_tz.empty()) me_tz = r->str("agent_tz");
  } else if (me_email.empty()) {
    me_email = r->str("organizer_email");
  }
  const std::string other = to_coach ? (r->str("agent_name").empty() ? r->str("attendee_name") : r->str("agent_name"))
                                     : r->str("coach_name");
  if (!smtp::is_valid_address(me_email)) {
    log::warn("session reminder not sent: no valid address", {{"job_id", std::to_string(job_id)}, {"role", role}});
    return ok_status();
  }
  using Secs = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;
  const Secs start{std::chrono::seconds(r->i64("start_s"))}, end{std::chrono::seconds(r->i64("end_s"))};
  const std::string title = !r->str("et_title").empty() ? r->str("et_title") : r->str("title").empty() ? "Coaching session" : r->str("title");
  const std::string join = is_http_url(r->str("join_url")) ? r->str("join_url") : is_http_url(r->str("location")) ? r->str("location") : "";
  std::string base = cfg.public_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string manage = base + "/my/sessions/" + uid;
  const std::string when = ical::format_when(start, or_utc(me_tz));
  const std::string until = ical::format_when(end, or_utc(me_tz), true);
  const std::string subject = "Reminder: " + title + " with " + other + " " + k->words + " (" + when + ")";

  std::string t = "Hello " + (me_name.empty() ? std::string("there") : me_name) + ",\n\n";
  t += "Your coaching session with " + other + " starts " + k->words + ".\n\n";
  t += "What:  " + title + "\n";
  t += "When:  " + when + " to " + until + "\n";
  t += join.empty() ? "Join:  the meeting link will be on your session page\n" : "Join:  " + join + "\n";
  t += "\nYour session page (notes, reschedule or cancel): " + manage + "\n";
  Json::Value ctx;
  ctx["subject"] = subject;
  ctx["recipient_name"] = me_name;
  ctx["other_name"] = other;
  ctx["title"] = title;
  ctx["when"] = when;
  ctx["until"] = until;
  ctx["in_words"] = k->words;
  ctx["join_url"] = join;
  ctx["manage_url"] = manage;
  const std::string html_body = html::render("email_reminder", ctx);

  const std::string from_addr = smtp::address_of(cfg.mail_from);
  std::string from_name = cfg.mail_from.substr(0, std::min(cfg.mail_from.size(), cfg.mail_from.rfind('<')));
  from_name.erase(std::remove(from_name.begin(), from_name.end(), '"'), from_name.end());
  while (!from_name.empty() && from_name.back() == ' ') from_name.pop_back();
  const std::string message_id = "<session-reminder." + std::to_string(job_id) + "." +
                                 crypto::hex_encode(crypto::sha256(key)).substr(0, 16) + "@" + domain_of(from_addr) + ">";
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::string alt = smtp::random_boundary("alt");
  std::string m;
  m += "From: " + smtp::format_mailbox(from_name, from_addr) + "\r\n";
  m += "To: " + smtp::format_mailbox(me_name, me_email) + "\r\n";
  m += "Subject: " + smtp::encode_header(subject) + "\r\n";
  m += "Date: " + smtp::rfc5322_date(now) + "\r\n";
  m += "Message-ID: " + message_id + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n";
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(t);
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(html_body);
  m += "--" + alt + "--\r\n";

  smtp::Settings st;
  st.url = cfg.smtp_url;
  if (auto ok = smtp::send(st, from_addr, {me_email}, m); !ok) return ok.error();
  for (int attempt = 1;; ++attempt) {
    try {
      db.exec("INSERT IGNORE INTO session_reminder_deliveries (reminder_key, job_id, recipient, message_id) VALUES (?, ?, ?, ?)",
              {key, job_id, me_email, message_id});
      break;
    } catch (const db::DbError& e) {
      if (attempt >= 3) {
        log::error("session reminder sent but not recorded", {{"job_id", std::to_string(job_id)}, {"what", e.what()}});
        break;
      }
    }
  }
  if (sent) *sent = true;
  log::info("session reminder sent", {{"job_id", std::to_string(job_id)}, {"kind", kind}, {"role", role},
                                      {"message_id", message_id}});
  return ok_status();
}

}  // namespace coach::session_reminders
