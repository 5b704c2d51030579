/* meetings.cpp: Zoom meetings per booking chain, the account token, the Zoom
 * webhook inbox and test meetings (see meetings.hpp for the rules). */
#include "meetings.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "booking_hooks.hpp"
#include "cal_integration.hpp"
#include "crypto.hpp"
#include "http.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "sessions.hpp"
#include "zoom_sig.hpp"

namespace coach::meetings {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* kTokenAad = "zoom_token:1";
std::string start_url_aad(int64_t zoom_id) { return "zoom_meetings:start_url:" + std::to_string(zoom_id); }

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> "YYYY-MM-DD HH:MM:SS"; "" when malformed. */
std::string iso_to_db(const std::string& iso) {
  if (iso.size() < 20 || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T' || iso[13] != ':' || iso[16] != ':')
    return "";
  if (iso.back() != 'Z') return "";
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (iso[i] < '0' || iso[i] > '9') return "";
  std::string s = iso.substr(0, 19);
  s[10] = ' ';
  return s;
}

std::string ms_to_db(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string cut(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

const char* kMeetingSelect =
    "SELECT id, purpose, provider, state, chain_root_uid, booking_uid, coach_user_id, created_by_user_id, "
    "zoom_meeting_id, zoom_uuid, topic, DATE_FORMAT(start_utc, '%Y-%m-%dT%H:%i:%sZ') AS start_iso, duration_min, "
    "time_zone, agenda, settings_json, join_url, start_url_enc, zoom_status, "
    "DATE_FORMAT(started_at, '%Y-%m-%dT%H:%i:%sZ') AS started_iso, DATE_FORMAT(ended_at, '%Y-%m-%dT%H:%i:%sZ') AS ended_iso, "
    "n_attempts, last_error, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_iso, "
    "DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_iso FROM zoom_meetings ";

MeetingRow from_row(const Config& cfg, const db::Row& r) {
  MeetingRow m;
  m.id = r.i64("id");
  m.purpose = r.str("purpose");
  m.provider = r.str("provider");
  m.state = r.str("state");
  m.chain_root_uid = r.str("chain_root_uid");
  m.booking_uid = r.str("booking_uid");
  m.coach_user_id = r.i64("coach_user_id");
  m.created_by_user_id = r.i64("created_by_user_id");
  m.zoom_meeting_id = r.i64("zoom_meeting_id");
  m.zoom_uuid = r.str("zoom_uuid");
  m.topic = r.str("topic");
  m.start_utc = r.str("start_iso");
  m.duration_min = static_cast<int>(r.i64("duration_min"));
  m.time_zone = r.str("time_zone");
  m.agenda = r.str("agenda");
  auto s = json::parse(r.str("settings_json"));
  m.settings = s && s->isObject() ? *s : Json::Value(Json::objectValue);
  m.join_url = r.str("join_url");
  if (!r.is_null("start_url_enc") && m.zoom_meeting_id) {
    auto o = crypto::open(cfg.token_encryption_key, r.str("start_url_enc"), start_url_aad(m.zoom_meeting_id));
    if (o) m.start_url = *o;
  }
  m.zoom_status = r.str("zoom_status");
  m.started_at = r.str("started_iso");
  m.ended_at = r.str("ended_iso");
  m.n_attempts = static_cast<int>(r.i64("n_attempts"));
  m.last_error = r.str("last_error");
  m.created_at = r.str("created_iso");
  m.updated_at = r.str("updated_iso");
  return m;
}

Json::Value settings_json(const zoom::MeetingSpec& s) {
  Json::Value v(Json::objectValue);
  v["waitingRoom"] = s.waiting_room;
  v["joinBeforeHost"] = s.join_before_host;
  v["autoRecording"] = s.auto_recording;
  return v;
}

/* Stores what Zoom answered about a meeting into row id. */
void store_meeting(const Config& cfg, db::Db& db, int64_t row_id, const zoom::Meeting& zm, const zoom::MeetingSpec& spec,
                   const std::string& state) {
  db.exec("UPDATE zoom_meetings SET state = ?, zoom_meeting_id = ?, zoom_uuid = ?, host_id = ?, topic = ?, "
          "start_utc = ?, duration_min = ?, time_zone = ?, agenda = ?, settings_json = ?, join_url = ?, "
          "start_url_enc = ?, zoom_status = COALESCE(NULLIF(?, ''), zoom_status), last_error = NULL WHERE id = ?",
          {state, zm.id, cut(zm.uuid, 64), cut(zm.host_id, 64), cut(spec.topic, 200), iso_to_db(spec.start_time_utc),
           int64_t(spec.duration_min), cut(spec.timezone, 64), cut(spec.agenda, 2000),
           json::write(settings_json(spec)), cut(zm.join_url, 1000),
           zm.start_url.empty() ? db::null() : db::Param(crypto::seal(cfg.token_encryption_key, zm.start_url,
                                                                      start_url_aad(zm.id))),
           cut(zm.status, 32), row_id});
}

void record_failure(db::Db& db, int64_t row_id, const Error& e, bool mark_failed, bool count = true) {
  db.exec(std::string("UPDATE zoom_meetings SET ") + (count ? "n_attempts = n_attempts + 1, " : "") + "last_error = ?" +
              (mark_failed ? ", state = IF(state IN ('pending','failed'), 'failed', state)" : "") + " WHERE id = ?",
          {cut(e.code + ": " + e.message, 500), row_id});
}

/* ---- the rule ------------------------------------------------------------ */

/* True when the session type's locations leave the video to us. */
bool locations_use_our_zoom(const std::string& locations_json) {
  auto p = json::parse(locations_json);
  if (!p || !p->isArray() || p->empty()) return true;
  for (const auto& loc : *p) {
    if (!loc.isObject()) return false;
    if (json::str(loc, "type") != "integration") return false;
    const std::string app = json::str(loc, "integration");
    if (app != "zoom" && app != "cal-video") return false;
  }
  return true;
}

/* A booking location that is a place or phone number (not a video link). */
bool is_place(const std::string& location) {
  if (location.empty()) return false;
  if (location.rfind("integrations:", 0) == 0) return false;
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return false;
  return true;
}

std::string state_key(const std::string& root, const db::Row& head) {
  const std::string s = root + "|" + head.str("cal_uid") + "|" + head.str("status") + "|" + head.str("start_utc") +
                        "|" + head.str("end_utc");
  return "zoom:" + crypto::hex_encode(crypto::sha256(s));
}

const char* kBookingSelect =
    "SELECT cal_uid, status, coach_user_id, agent_user_id, cal_event_type_id, title, location, join_url, "
    "start_utc, end_utc, DATE_FORMAT(start_utc, '%Y-%m-%dT%H:%i:%sZ') AS start_iso, "
    "TIMESTAMPDIFF(MINUTE, start_utc, end_utc) AS duration_min, rescheduled_to_uid, attendee_name "
    "FROM CalBooking WHERE cal_uid = ?";

}  // namespace

/* ---- hook ------------------------------------------------------------------ */

bool uses_our_zoom(const std::string& locations_json, const std::string& booking_location) {
  return locations_use_our_zoom(locations_json) && !is_place(booking_location);
}

void on_booking_changed(db::Db& tx, const std::string& uid) {
  auto b = tx.query_one(kBookingSelect, {uid});
  if (!b) return;
  const std::string root = booking_hooks::chain_root(tx, uid);
  auto m = tx.query_one("SELECT id, provider, state, join_url FROM zoom_meetings WHERE chain_root_uid = ? FOR UPDATE",
                        {root});
  const bool ours_created = m && m->str("provider") == "ours" && m->str("state") == "created";
  // Cal.com made the meeting (the coach connected Zoom in Cal.com): record its URL.
  std::string cal_zoom;
  if (zoom::is_zoom_url(b->str("join_url"))) cal_zoom = b->str("join_url");
  else if (zoom::is_zoom_url(b->str("location"))) cal_zoom = b->str("location");
  if (!cal_zoom.empty() && !ours_created && !(m && m->str("join_url") == cal_zoom && m->str("provider") == "ours")) {
    if (m && m->str("provider") == "ours" && m->str("state") != "deleted" && m->str("state") != "skipped") {
      // A job of ours may be in flight; it re-checks and stops (provider now calcom).
      log::info("zoom: Cal.com supplied the meeting; ours not needed", {{"root", root}});
    }
    if (m) {
      tx.exec("UPDATE zoom_meetings SET provider = 'calcom', state = 'external', join_url = ?, booking_uid = ?, "
              "last_error = NULL WHERE id = ?",
              {cut(cal_zoom, 1000), uid, m->i64("id")});
    } else {
      tx.exec("INSERT INTO zoom_meetings (purpose, chain_root_uid, booking_uid, provider, state, coach_user_id, join_url) "
              "VALUES ('booking', ?, ?, 'calcom', 'external', ?, ?)",
              {root, uid, b->is_null("coach_user_id") ? db::null() : db::Param(b->i64("coach_user_id")),
               cut(cal_zoom, 1000)});
    }
    return;
  }
  if (m && m->str("provider") == "calcom") {
    tx.exec("UPDATE zoom_meetings SET booking_uid = ? WHERE id = ?", {booking_hooks::chain_head(tx, root), m->i64("id")});
    return;
  }
  if (!m) {
    // New chain: does it use our Zoom?
    if (b->str("status") != "accepted") return;
    std::string locations;
    if (auto et = tx.query_one("SELECT locations_json FROM EventType WHERE cal_event_type_id = ?",
                               {b->i64("cal_event_type_id")}))
      locations = et->str("locations_json");
    if (!uses_our_zoom(locations, b->str("location"))) return;
    tx.exec("INSERT IGNORE INTO zoom_meetings (purpose, chain_root_uid, booking_uid, provider, state, coach_user_id) "
            "VALUES ('booking', ?, ?, 'ours', 'pending', ?)",
            {root, uid, b->is_null("coach_user_id") ? db::null() : db::Param(b->i64("coach_user_id"))});
  } else if (ours_created && !m->str("join_url").empty() && b->str("join_url") != m->str("join_url") &&
             b->str("status") == "accepted" && b->is_null("rescheduled_to_uid")) {
    // A late Cal.com event carried its old location (e.g. Cal Video): ours stays.
    tx.exec("UPDATE CalBooking SET join_url = ? WHERE cal_uid = ?", {m->str("join_url"), uid});
  }
  const std::string head = booking_hooks::chain_head(tx, root);
  auto h = head == uid ? b : tx.query_one(kBookingSelect, {head});
  if (!h) return;  // the newest booking is not stored yet; its own change queues the job
  Json::Value p;
  p["root"] = root;
  jobs::enqueue(tx, kJobKind, state_key(root, *h), p, 0, 10);
}

/* ---- token ------------------------------------------------------------------- */

TokenStatus token_status(const Config& cfg, db::Db& db) {
  TokenStatus t;
  t.configured = zoom::configured(zoom::settings_from(cfg));
  auto r = db.query_one(
      "SELECT access_token_enc, expires_at_ms, n_fetches, scope, DATE_FORMAT(last_fetched_at, '%Y-%m-%dT%H:%i:%sZ') AS f, "
      "last_error, DATE_FORMAT(last_error_at, '%Y-%m-%dT%H:%i:%sZ') AS e FROM zoom_token WHERE id = 1");
  if (!r) return t;
  t.expires_at_ms = r->i64("expires_at_ms");
  t.n_fetches = r->i64("n_fetches");
  t.scope = r->str("scope");
  t.last_fetched_at = r->str("f");
  t.last_error = r->str("last_error");
  t.last_error_at = r->str("e");
  if (!r->is_null("access_token_enc")) {
    auto o = crypto::open(cfg.token_encryption_key, r->str("access_token_enc"), kTokenAad);
    t.has_token = o.ok() && t.expires_at_ms > now_ms();
    t.token_masked = o ? log::mask(*o) : "(cannot decrypt)";
  }
  return t;
}

Json::Value to_json(const TokenStatus& t) {
  Json::Value v;
  v["configured"] = t.configured;
  v["tokenCached"] = t.has_token;
  v["tokenExpiresAt"] = t.expires_at_ms ? Json::Value(Json::Int64(t.expires_at_ms)) : Json::Value();
  v["tokenExpiresInS"] = t.has_token ? Json::Value(Json::Int64((t.expires_at_ms - now_ms()) / 1000)) : Json::Value();
  v["token"] = t.token_masked.empty() ? Json::Value() : Json::Value(t.token_masked);
  v["scope"] = t.scope;
  v["tokenFetches"] = Json::Int64(t.n_fetches);
  v["lastFetchedAt"] = t.last_fetched_at.empty() ? Json::Value() : Json::Value(t.last_fetched_at);
  v["lastError"] = t.last_error.empty() ? Json::Value() : Json::Value(t.last_error);
  v["lastErrorAt"] = t.last_error_at.empty() ? Json::Value() : Json::Value(t.last_error_at);
  return v;
}

Result<std::string> access_token(const Config& cfg, db::Db& db, zoom::Client& z, bool force, const std::string& stale) {
  if (!zoom::configured(z.settings())) return make_error(503, "zoom_not_configured", "Zoom is not configured (zoom-* keys)");
  auto usable = [&](const db::Row& r, std::string& out) {
    if (r.is_null("access_token_enc") || r.i64("expires_at_ms") - now_ms() <= kTokenMarginS * 1000) return false;
    auto o = crypto::open(cfg.token_encryption_key, r.str("access_token_enc"), kTokenAad);
    if (!o) return false;
    out = *o;
    return true;
  };
  std::string tok;
  if (!force) {
    auto r = db.query_one("SELECT access_token_enc, expires_at_ms FROM zoom_token WHERE id = 1");
    if (r && usable(*r, tok) && tok != stale) return tok;
  }
  std::optional<Error> failure;
  std::optional<zoom::Token> fetched;  // kept across a retried transaction: fetch once
  db.transaction([&](db::Db& tx) {
    failure.reset();
    tx.exec("INSERT IGNORE INTO zoom_token (id) VALUES (1)");
    auto r = tx.query_one("SELECT access_token_enc, expires_at_ms FROM zoom_token WHERE id = 1 FOR UPDATE");
    // Another process may have refreshed while we waited for the lock.
    if (!force && !fetched && r && usable(*r, tok) && tok != stale) return;
    if (!fetched) {
      auto t = z.fetch_token();
      if (!t) {
        failure = t.error();
        tx.exec("UPDATE zoom_token SET last_error = ?, last_error_at = CURRENT_TIMESTAMP(3) WHERE id = 1",
                {cut(t.error().code + ": " + t.error().message, 500)});
        return;
      }
      fetched = *t;
    }
    tok = fetched->access_token;
    tx.exec("UPDATE zoom_token SET access_token_enc = ?, expires_at_ms = ?, scope = ?, api_url = ?, "
            "n_fetches = n_fetches + 1, last_fetched_at = CURRENT_TIMESTAMP(3), last_error = NULL WHERE id = 1",
            {crypto::seal(cfg.token_encryption_key, tok, kTokenAad), now_ms() + fetched->expires_in_s * 1000,
             cut(fetched->scope, 2000), cut(fetched->api_url, 255)});
  });
  if (failure) {
    log::warn("zoom token fetch failed", {{"code", failure->code}, {"error", failure->message}});
    return *failure;
  }
  if (fetched) log::info("zoom token fetched", {{"expires_in_s", std::to_string(fetched->expires_in_s)}});
  return tok;
}

Result<Json::Value> zoom_call(const Config& cfg, db::Db& db, zoom::Client& z, const std::string& method,
                              const std::string& path, const Json::Value* body) {
  auto tok = access_token(cfg, db, z);
  if (!tok) return tok.error();
  auto r = z.call(method, path, body, *tok);
  if (r || r.error().code != "zoom_token_invalid") return r;
  log::info("zoom token refused; refreshing once", {{"path", path}});
  auto tok2 = access_token(cfg, db, z, false, *tok);
  if (!tok2) return tok2.error();
  return z.call(method, path, body, *tok2);
}

/* ---- meetings ------------------------------------------------------------- */

Json::Value to_json(const MeetingRow& m, bool include_start_url) {
  auto s_or_null = [](const std::string& s) { return s.empty() ? Json::Value() : Json::Value(s); };
  Json::Value v;
  v["id"] = Json::Int64(m.id);
  v["purpose"] = m.purpose;
  v["provider"] = m.provider;
  v["state"] = m.state;
  v["zoomMeetingId"] = m.zoom_meeting_id ? Json::Value(Json::Int64(m.zoom_meeting_id)) : Json::Value();
  v["uuid"] = s_or_null(m.zoom_uuid);
  v["bookingUid"] = s_or_null(m.booking_uid);
  v["chainRootUid"] = s_or_null(m.chain_root_uid);
  v["coachUserId"] = m.coach_user_id ? Json::Value(Json::Int64(m.coach_user_id)) : Json::Value();
  v["topic"] = s_or_null(m.topic);
  v["startUtc"] = s_or_null(m.start_utc);
  v["durationMin"] = m.duration_min ? Json::Value(m.duration_min) : Json::Value();
  v["timeZone"] = s_or_null(m.time_zone);
  v["agenda"] = s_or_null(m.agenda);
  v["settings"] = m.settings;
  v["joinUrl"] = s_or_null(m.join_url);
  if (include_start_url) v["startUrl"] = s_or_null(m.start_url);
  v["zoomStatus"] = s_or_null(m.zoom_status);
  v["startedAt"] = s_or_null(m.started_at);
  v["endedAt"] = s_or_null(m.ended_at);
  v["attempts"] = m.n_attempts;
  v["lastError"] = s_or_null(m.last_error);
  v["createdAt"] = m.created_at;
  v["updatedAt"] = m.updated_at;
  return v;
}

std::optional<MeetingRow> for_booking(const Config& cfg, db::Db& db, const std::string& uid) {
  const std::string root = booking_hooks::chain_root(db, uid);
  auto r = db.query_one(std::string(kMeetingSelect) + "WHERE chain_root_uid = ?", {root});
  if (!r) return std::nullopt;
  return from_row(cfg, *r);
}

std::optional<MeetingRow> find(const Config& cfg, db::Db& db, int64_t zoom_meeting_id) {
  auto r = db.query_one(std::string(kMeetingSelect) + "WHERE zoom_meeting_id = ? ORDER BY id DESC LIMIT 1",
                        {zoom_meeting_id});
  if (!r) return std::nullopt;
  return from_row(cfg, *r);
}

std::optional<MeetingRow> by_id(const Config& cfg, db::Db& db, int64_t id) {
  auto r = db.query_one(std::string(kMeetingSelect) + "WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return from_row(cfg, *r);
}

MailLink mail_link(const Config& cfg, db::Db& db, const std::string& booking_uid) {
  MailLink out;
  const std::string root = booking_hooks::chain_root(db, booking_uid);
  auto r = db.query_one("SELECT provider, state, join_url FROM zoom_meetings WHERE chain_root_uid = ?", {root});
  if (!r) return out;
  const std::string state = r->str("state");
  if ((state == "created" || state == "external") && !r->str("join_url").empty()) out.join_url = r->str("join_url");
  else if (r->str("provider") == "ours" && (state == "pending" || state == "failed") &&
           zoom::configured(zoom::settings_from(cfg)))
    out.pending = true;
  return out;
}

namespace {

/* Cal.com: the booking's location becomes our join URL (as the coach). */
Status tell_calcom(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t coach_user_id, const std::string& uid,
                   const std::string& join_url) {
  if (!coach_user_id) return ok_status();
  Json::Value body;
  body["location"]["type"] = "link";
  body["location"]["link"] = join_url;
  auto r = integration::call_as_coach(cfg, db, cal, coach_user_id, "PATCH", "/v2/bookings/" + uid + "/location", &body,
                                      "2024-08-13");
  if (!r) {
    if (r.error().code == "not_connected") return ok_status();  // no Cal.com account to tell
    return r.error();
  }
  return ok_status();
}

/* The marker in a booking meeting's agenda that names its chain, so a meeting
 * created by an attempt that died before storing it can be found again. */
std::string chain_marker(const std::string& root) { return "(ref " + root + ")"; }

/* The Zoom userId that hosts a coach's meetings: the coach's e-mail (an S2S
 * app addresses hosts explicitly, so the coach can start the meeting from their
 * own Zoom), or "me" (the account owner) when we have no e-mail. */
std::string host_of(db::Db& db, int64_t coach_user_id) {
  if (!coach_user_id) return "me";
  auto r = db.query_one("SELECT email FROM users WHERE id = ?", {coach_user_id});
  return r && !r->str("email").empty() ? r->str("email") : "me";
}

std::string meetings_path(const std::string& host) {
  return "/users/" + (host == "me" ? host : url_encode(host)) + "/meetings";
}

/* POST a meeting for host; a coach who is not a user of the Zoom account
 * (404, code 1001) gets one hosted by the account owner instead. */
Result<Json::Value> create_for_host(const Config& cfg, db::Db& db, zoom::Client& z, const std::string& host,
                                    const Json::Value& body) {
  auto r = zoom_call(cfg, db, z, "POST", meetings_path(host), &body);
  if (r || host == "me" || r.error().code != "zoom_not_found") return r;
  log::info("zoom: the coach is not a user of the Zoom account; the account owner hosts the meeting", {});
  return zoom_call(cfg, db, z, "POST", meetings_path("me"), &body);
}

/* An upcoming meeting of host (or the account owner) whose agenda carries the
 * chain's marker. */
Result<std::optional<zoom::Meeting>> find_by_marker(const Config& cfg, db::Db& db, zoom::Client& z,
                                                     const std::string& root, const std::string& host = "me") {
  Json::Value all(Json::arrayValue);
  for (const std::string& who : host == "me" ? std::vector<std::string>{"me"} : std::vector<std::string>{host, "me"}) {
    auto r = zoom_call(cfg, db, z, "GET", meetings_path(who) + "?type=upcoming&page_size=300", nullptr);
    if (!r && r.error().code == "zoom_not_found" && who != "me") continue;  // not a Zoom user
    if (!r) return r.error();
    for (const auto& it : (*r)["meetings"]) all.append(it);
  }
  const std::string marker = chain_marker(root);
  for (const auto& it : all) {
    if (json::str(it, "agenda").find(marker) == std::string::npos) continue;
    const int64_t id = zoom::meeting_id_of(it["id"]);
    if (!id) continue;
    auto full = zoom_call(cfg, db, z, "GET", "/meetings/" + std::to_string(id), nullptr);
    if (!full) return full.error();
    auto m = zoom::parse_meeting(*full);
    if (!m) return m.error();
    return std::optional<zoom::Meeting>(*m);
  }
  return std::optional<zoom::Meeting>();
}

zoom::MeetingSpec spec_for_booking(db::Db& db, const db::Row& h, const std::string& root) {
  zoom::MeetingSpec s;
  std::string title = h.str("title");
  if (auto et = db.query_one("SELECT title FROM EventType WHERE cal_event_type_id = ?", {h.i64("cal_event_type_id")}))
    if (!et->str("title").empty()) title = et->str("title");
  if (title.empty()) title = "Coaching session";
  std::string coach_name, coach_tz;
  if (auto c = db.query_one("SELECT name, time_zone FROM users WHERE id = ?", {h.i64("coach_user_id")})) {
    coach_name = c->str("name");
    coach_tz = c->str("time_zone");
  }
  const std::string agent = h.str("attendee_name");
  s.topic = cut(title + (agent.empty() ? "" : " — " + agent), 200);
  s.start_time_utc = h.str("start_iso");
  s.duration_min = static_cast<int>(std::max<int64_t>(1, h.i64("duration_min")));
  s.timezone = coach_tz.empty() ? "UTC" : coach_tz;
  s.agenda = cut("Coaching session" + (coach_name.empty() ? "" : " with " + coach_name) +
                     (agent.empty() ? "" : " and " + agent) + ". Booking " + h.str("cal_uid") + ". " + chain_marker(root),
                 2000);
  s.waiting_room = true;
  s.join_before_host = false;
  s.auto_recording = "none";
  return s;
}

}  // namespace

namespace {

/* A named lock per chain (GET_LOCK, on this connection) so two jobs of the
 * same chain never talk to Zoom at once (no double create). Released on scope exit. */
class ChainLock {
 public:
  ChainLock(db::Db& db, const std::string& root)
      : db_(db), name_("zm:" + crypto::hex_encode(crypto::sha256(root)).substr(0, 40)) {
    auto r = db_.query_one("SELECT GET_LOCK(?, 20) AS got", {name_});
    held_ = r && r->i64("got") == 1;
  }
  ~ChainLock() {
    if (!held_) return;
    try {
      db_.query("SELECT RELEASE_LOCK(?)", {name_});
    } catch (...) {
      // The lock dies with the connection anyway.
    }
  }
  bool held() const { return held_; }

 private:
  db::Db& db_;
  std::string name_;
  bool held_ = false;
};

}  // namespace

Status perform_job(const Config& cfg, db::Db& db, zoom::Client& z, calcom::Client& cal, const Json::Value& payload) {
  const std::string root = json::str(payload, "root");
  if (root.empty()) return make_error(400, "bad_payload", "zoom_meeting job without root");
  ChainLock lock(db, root);
  if (!lock.held()) return make_error(503, "busy", "another worker is handling this meeting");
  auto mr = db.query_one(std::string(kMeetingSelect) + "WHERE chain_root_uid = ?", {root});
  if (!mr) return ok_status();
  MeetingRow m = from_row(cfg, *mr);
  if (m.provider != "ours") return ok_status();
  if (!zoom::configured(z.settings())) {
    db.exec("UPDATE zoom_meetings SET state = IF(state = 'pending', 'skipped', state), "
            "last_error = 'zoom_not_configured: Zoom is not configured' WHERE id = ?",
            {m.id});
    log::warn("zoom meeting skipped: Zoom is not configured", {{"root", root}});
    return ok_status();
  }
  const std::string head = booking_hooks::chain_head(db, root);
  auto h = db.query_one(kBookingSelect, {head});
  if (!h) return ok_status();
  const std::string status = h->str("status");
  const bool gone = (status == "cancelled" || status == "rejected") && h->is_null("rescheduled_to_uid");
  const Json::Value* nobody = nullptr;

  if (gone) {
    if (m.state == "created" && m.zoom_meeting_id) {
      auto r = zoom_call(cfg, db, z, "DELETE", "/meetings/" + std::to_string(m.zoom_meeting_id), nobody);
      if (!r && r.error().code != "zoom_not_found") {
        record_failure(db, m.id, r.error(), false);
        log::warn("zoom meeting delete failed", {{"root", root}, {"code", r.error().code}, {"error", r.error().message}});
        return r.error();
      }
      log::info("zoom meeting deleted", {{"root", root}, {"zoom_meeting_id", std::to_string(m.zoom_meeting_id)}});
    }
    if (m.state != "deleted")
      db.exec("UPDATE zoom_meetings SET state = 'deleted', booking_uid = ?, last_error = NULL WHERE id = ?", {head, m.id});
    return ok_status();
  }
  if (status != "accepted" || h->is_null("start_utc") || h->is_null("end_utc")) return ok_status();

  const zoom::MeetingSpec spec = spec_for_booking(db, *h, root);
  if (m.state != "created" || !m.zoom_meeting_id) {
    // Zoom has no idempotency key: when an earlier attempt started (it may
    // have created the meeting and died before storing it), look for it first.
    std::optional<zoom::Meeting> earlier;
    if (m.n_attempts > 0) {
      auto f = find_by_marker(cfg, db, z, root, host_of(db, m.coach_user_id));
      if (!f) {
        record_failure(db, m.id, f.error(), true);
        log::warn("zoom meeting lookup failed; will retry", {{"root", root}, {"code", f.error().code}, {"error", f.error().message}});
        return f.error();
      }
      earlier = *f;
      if (earlier) log::info("zoom meeting of an earlier attempt found; adopting it", {{"root", root}, {"zoom_meeting_id", std::to_string(earlier->id)}});
    }
    db.exec("UPDATE zoom_meetings SET n_attempts = n_attempts + 1 WHERE id = ?", {m.id});  // attempt started
    Result<zoom::Meeting> zm = make_error(500, "internal_error", "no attempt");
    if (earlier) {
      zm = *earlier;
    } else {
      const Json::Value body = zoom::create_body(spec);
      auto r = create_for_host(cfg, db, z, host_of(db, m.coach_user_id), body);
      zm = r ? zoom::parse_meeting(*r) : Result<zoom::Meeting>(r.error());
    }
    if (!zm) {
      record_failure(db, m.id, zm.error(), true, false);
      log::warn("zoom meeting create failed; will retry",
                {{"root", root}, {"booking_uid", head}, {"code", zm.error().code}, {"error", zm.error().message}});
      return zm.error();
    }
    bool stop = false;
    db.transaction([&](db::Db& tx) {
      // Cal.com may have supplied a meeting meanwhile: then ours is not needed.
      auto cur = tx.query_one("SELECT provider FROM zoom_meetings WHERE id = ? FOR UPDATE", {m.id});
      stop = !cur || cur->str("provider") != "ours";
      if (stop) return;
      store_meeting(cfg, tx, m.id, *zm, spec, "created");
      tx.exec("UPDATE zoom_meetings SET booking_uid = ? WHERE id = ?", {head, m.id});
      tx.exec("UPDATE CalBooking SET join_url = ? WHERE cal_uid = ?", {cut(zm->join_url, 1000), head});
    });
    if (stop) {
      zoom_call(cfg, db, z, "DELETE", "/meetings/" + std::to_string(zm->id), nobody);
      return ok_status();
    }
    log::info("zoom meeting created", {{"root", root}, {"booking_uid", head}, {"zoom_meeting_id", std::to_string(zm->id)}});
    m.state = "created";
    m.zoom_meeting_id = zm->id;
    m.join_url = zm->join_url;
    m.start_utc = spec.start_time_utc;
    m.duration_min = spec.duration_min;
  } else if (m.start_utc != spec.start_time_utc || m.duration_min != spec.duration_min) {
    Json::Value patch;
    patch["start_time"] = spec.start_time_utc;
    patch["duration"] = spec.duration_min;
    patch["timezone"] = spec.timezone;
    patch["agenda"] = spec.agenda;
    auto r = zoom_call(cfg, db, z, "PATCH", "/meetings/" + std::to_string(m.zoom_meeting_id), &patch);
    if (!r) {
      if (r.error().code == "zoom_not_found") {
        // Deleted at Zoom behind our back: make a new one on the next run.
        db.exec("UPDATE zoom_meetings SET state = 'pending', zoom_meeting_id = NULL, start_url_enc = NULL, "
                "cal_location_uid = NULL, last_error = 'zoom_not_found: deleted in Zoom; recreating' WHERE id = ?",
                {m.id});
        log::warn("zoom meeting vanished; recreating", {{"root", root}});
      } else {
        record_failure(db, m.id, r.error(), false);
        log::warn("zoom meeting update failed; will retry", {{"root", root}, {"code", r.error().code}, {"error", r.error().message}});
      }
      return r.error();
    }
    db.exec("UPDATE zoom_meetings SET start_utc = ?, duration_min = ?, time_zone = ?, agenda = ?, booking_uid = ?, "
            "last_error = NULL WHERE id = ?",
            {iso_to_db(spec.start_time_utc), int64_t(spec.duration_min), cut(spec.timezone, 64), cut(spec.agenda, 2000),
             head, m.id});
    db.exec("UPDATE CalBooking SET join_url = ? WHERE cal_uid = ? AND (join_url IS NULL OR join_url <> ?)",
            {m.join_url, head, m.join_url});
    log::info("zoom meeting moved", {{"root", root}, {"booking_uid", head}, {"start", spec.start_time_utc}});
  } else {
    db.exec("UPDATE CalBooking SET join_url = ? WHERE cal_uid = ? AND (join_url IS NULL OR join_url <> ?)",
            {m.join_url, head, m.join_url});
  }
  // The join URL reaches Cal.com's booking (once per booking of the chain).
  auto loc = db.query_one("SELECT cal_location_uid FROM zoom_meetings WHERE id = ?", {m.id});
  if (loc && loc->str("cal_location_uid") != head && !m.join_url.empty()) {
    auto t = tell_calcom(cfg, db, cal, h->i64("coach_user_id"), head, m.join_url);
    if (!t) {
      db.exec("UPDATE zoom_meetings SET last_error = ? WHERE id = ?",
              {cut("cal_location: " + t.error().code + ": " + t.error().message, 500), m.id});
      log::warn("zoom: could not set the Cal.com booking location; will retry",
                {{"booking_uid", head}, {"code", t.error().code}, {"error", t.error().message}});
      return t.error();
    }
    db.exec("UPDATE zoom_meetings SET cal_location_uid = ?, last_error = NULL WHERE id = ?", {head, m.id});
  }
  return ok_status();
}

int requeue_stuck(db::Db& db) {
  int n = 0;
  for (const auto& r : db.query("SELECT chain_root_uid, FLOOR(UNIX_TIMESTAMP() / 3600) AS bucket FROM zoom_meetings "
                                "WHERE purpose = 'booking' AND provider = 'ours' AND state IN ('pending', 'failed') "
                                "AND updated_at < CURRENT_TIMESTAMP(3) - INTERVAL 10 MINUTE LIMIT 200")) {
    Json::Value p;
    p["root"] = r.str("chain_root_uid");
    if (jobs::enqueue(db, kJobKind, "zoom:sweep:" + crypto::hex_encode(crypto::sha256(r.str("chain_root_uid"))).substr(0, 40) +
                                        ":" + r.str("bucket"),
                      p, 0, 10)) {
      ++n;
      log::warn("zoom meeting still missing; queued another attempt", {{"root", r.str("chain_root_uid")}});
    }
  }
  return n;
}

/* ---- test meetings -------------------------------------------------------- */

zoom::MeetingSpec spec_of(const MeetingRow& m) {
  zoom::MeetingSpec s;
  s.topic = m.topic;
  s.start_time_utc = m.start_utc;
  s.duration_min = m.duration_min;
  s.timezone = m.time_zone;
  s.agenda = m.agenda;
  s.waiting_room = m.settings.get("waitingRoom", true).asBool();
  s.join_before_host = m.settings.get("joinBeforeHost", false).asBool();
  s.auto_recording = m.settings.get("autoRecording", "none").asString();
  return s;
}

Result<zoom::MeetingSpec> parse_spec(const Json::Value& body, const zoom::MeetingSpec& base, bool is_create) {
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  zoom::MeetingSpec s = base;
  auto bad = [](const std::string& f, const std::string& why) { return make_error(400, "invalid_field", f + " " + why); };
  if (body.isMember("topic")) {
    if (!body["topic"].isString()) return bad("topic", "must be a string");
    s.topic = body["topic"].asString();
    while (!s.topic.empty() && std::isspace(static_cast<unsigned char>(s.topic.back()))) s.topic.pop_back();
    while (!s.topic.empty() && std::isspace(static_cast<unsigned char>(s.topic.front()))) s.topic.erase(0, 1);
  } else if (is_create && s.topic.empty()) {
    s.topic = "Test meeting";
  }
  if (body.isMember("start")) {
    if (!body["start"].isString() || iso_to_db(body["start"].asString()).empty())
      return bad("start", "must be an ISO instant in UTC like 2026-03-10T15:00:00Z");
    s.start_time_utc = body["start"].asString().substr(0, 19) + "Z";
  } else if (is_create && s.start_time_utc.empty()) {
    s.start_time_utc = ms_to_db((now_ms() / 3600000 + 2) * 3600000);
    s.start_time_utc[10] = 'T';
    s.start_time_utc += "Z";
  }
  if (body.isMember("duration")) {
    if (!body["duration"].isInt()) return bad("duration", "must be a whole number of minutes");
    const int64_t d = body["duration"].asInt64();
    if (d < 1 || d > 1440) return bad("duration", "must be 1-1440 minutes");
    s.duration_min = static_cast<int>(d);
  }
  if (body.isMember("timeZone")) {
    if (!body["timeZone"].isString() || body["timeZone"].asString().size() > 64) return bad("timeZone", "must be an IANA zone name");
    s.timezone = body["timeZone"].asString();
  }
  if (body.isMember("agenda")) {
    if (!body["agenda"].isString()) return bad("agenda", "must be a string");
    s.agenda = body["agenda"].asString();
  }
  for (const char* f : {"waitingRoom", "joinBeforeHost"}) {
    if (!body.isMember(f)) continue;
    if (!body[f].isBool()) return bad(f, "must be true or false");
    (std::string(f) == "waitingRoom" ? s.waiting_room : s.join_before_host) = body[f].asBool();
  }
  if (body.isMember("autoRecording")) {
    if (!body["autoRecording"].isString()) return bad("autoRecording", "must be none, local or cloud");
    s.auto_recording = body["autoRecording"].asString();
    if (s.auto_recording != "none" && s.auto_recording != "local" && s.auto_recording != "cloud")
      return bad("autoRecording", "must be none, local or cloud");
  }
  if (auto v = zoom::validate(s); !v) return v.error();
  return s;
}

Result<MeetingRow> create_test_meeting(const Config& cfg, db::Db& db, zoom::Client& z, int64_t user_id,
                                       const zoom::MeetingSpec& spec) {
  if (auto v = zoom::validate(spec); !v) return v.error();
  const Json::Value body = zoom::create_body(spec);
  auto r = zoom_call(cfg, db, z, "POST", "/users/me/meetings", &body);
  if (!r) return r.error();
  auto zm = zoom::parse_meeting(*r);
  if (!zm) return zm.error();
  int64_t id = 0;
  db.transaction([&](db::Db& tx) {
    tx.exec("INSERT INTO zoom_meetings (purpose, provider, state, coach_user_id, created_by_user_id) "
            "VALUES ('test', 'ours', 'created', ?, ?)",
            {user_id, user_id});
    id = static_cast<int64_t>(tx.last_insert_id());
    store_meeting(cfg, tx, id, *zm, spec, "created");
  });
  log::info("zoom test meeting created", {{"user_id", std::to_string(user_id)}, {"zoom_meeting_id", std::to_string(zm->id)}});
  return from_row(cfg, *db.query_one(std::string(kMeetingSelect) + "WHERE id = ?", {id}));
}

Result<std::pair<MeetingRow, Json::Value>> get_live(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m) {
  if (!m.zoom_meeting_id) return make_error(404, "not_found", "This meeting has no Zoom meeting (state " + m.state + ")");
  auto r = zoom_call(cfg, db, z, "GET", "/meetings/" + std::to_string(m.zoom_meeting_id), nullptr);
  if (!r) {
    if (r.error().code == "zoom_not_found" && m.state == "created")
      db.exec("UPDATE zoom_meetings SET state = 'deleted', last_error = 'zoom_not_found: deleted in Zoom' WHERE id = ?", {m.id});
    return r.error();
  }
  auto zm = zoom::parse_meeting(*r);
  if (!zm) return zm.error();
  if (!zm->status.empty()) db.exec("UPDATE zoom_meetings SET zoom_status = ? WHERE id = ?", {cut(zm->status, 32), m.id});
  // A fresh start_url (its ZAK expires): keep it sealed.
  if (!zm->start_url.empty())
    db.exec("UPDATE zoom_meetings SET start_url_enc = ? WHERE id = ?",
            {crypto::seal(cfg.token_encryption_key, zm->start_url, start_url_aad(zm->id)), m.id});
  Json::Value live = *r;
  live.removeMember("start_url");  // the caller adds it back for those who may see it
  return std::make_pair(from_row(cfg, *db.query_one(std::string(kMeetingSelect) + "WHERE id = ?", {m.id})), live);
}

Result<MeetingRow> update_meeting(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m,
                                  const zoom::MeetingSpec& spec) {
  if (!m.zoom_meeting_id || m.state != "created") return make_error(409, "not_live", "Only a created meeting can be updated");
  if (auto v = zoom::validate(spec); !v) return v.error();
  Json::Value patch;
  patch["topic"] = spec.topic;
  patch["start_time"] = spec.start_time_utc;
  patch["duration"] = spec.duration_min;
  if (!spec.timezone.empty()) patch["timezone"] = spec.timezone;
  patch["agenda"] = spec.agenda;
  patch["settings"]["waiting_room"] = spec.waiting_room;
  patch["settings"]["join_before_host"] = spec.join_before_host;
  patch["settings"]["auto_recording"] = spec.auto_recording;
  auto r = zoom_call(cfg, db, z, "PATCH", "/meetings/" + std::to_string(m.zoom_meeting_id), &patch);
  if (!r) return r.error();
  db.exec("UPDATE zoom_meetings SET topic = ?, start_utc = ?, duration_min = ?, time_zone = ?, agenda = ?, "
          "settings_json = ?, last_error = NULL WHERE id = ?",
          {cut(spec.topic, 200), iso_to_db(spec.start_time_utc), int64_t(spec.duration_min), cut(spec.timezone, 64),
           cut(spec.agenda, 2000), json::write(settings_json(spec)), m.id});
  log::info("zoom meeting updated", {{"zoom_meeting_id", std::to_string(m.zoom_meeting_id)}});
  return from_row(cfg, *db.query_one(std::string(kMeetingSelect) + "WHERE id = ?", {m.id}));
}

Status delete_meeting(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m) {
  if (!m.zoom_meeting_id || m.state != "created") return make_error(409, "not_live", "Only a created meeting can be deleted");
  auto r = zoom_call(cfg, db, z, "DELETE", "/meetings/" + std::to_string(m.zoom_meeting_id), nullptr);
  if (!r && r.error().code != "zoom_not_found") return r.error();
  db.exec("UPDATE zoom_meetings SET state = 'deleted', last_error = NULL WHERE id = ?", {m.id});
  log::info("zoom meeting deleted", {{"zoom_meeting_id", std::to_string(m.zoom_meeting_id)}});
  return ok_status();
}

std::vector<MeetingRow> list_meetings(const Config& cfg, db::Db& db, int64_t user_id, bool is_admin,
                                      const std::string& purpose, int limit) {
  std::vector<MeetingRow> out;
  for (const auto& r : db.query(std::string(kMeetingSelect) +
                                    "WHERE (? = '' OR purpose = ?) AND (? = 1 OR coach_user_id = ? OR created_by_user_id = ?) "
                                    "ORDER BY id DESC LIMIT ?",
                                {purpose, purpose, int64_t(is_admin ? 1 : 0), user_id, user_id, int64_t(limit)}))
    out.push_back(from_row(cfg, r));
  return out;
}

bool may_manage(const MeetingRow& m, int64_t user_id, bool is_admin) {
  return is_admin || (user_id != 0 && (m.coach_user_id == user_id || m.created_by_user_id == user_id));
}

/* ---- webhooks ---------------------------------------------------------------- */

namespace {

const char* kEvidenceEvents[] = {"meeting.started", "meeting.ended", "meeting.participant_joined",
                                 "meeting.participant_left"};

bool is_evidence(const std::string& e) {
  for (const char* x : kEvidenceEvents)
    if (e == x) return true;
  return false;
}

/* The time an event is about, as "YYYY-MM-DD HH:MM:SS" UTC. */
std::string event_time(const std::string& event, const Json::Value& obj, int64_t event_ts) {
  std::string iso;
  const Json::Value& p = obj["participant"];
  if (event == "meeting.started") iso = json::str(obj, "start_time");
  else if (event == "meeting.ended") iso = json::str(obj, "end_time");
  else if (event == "meeting.participant_joined") iso = json::str(p, "join_time");
  else if (event == "meeting.participant_left") iso = json::str(p, "leave_time");
  std::string db_time = iso_to_db(iso);
  if (db_time.empty() && event_ts > 0) db_time = ms_to_db(event_ts);
  return db_time;
}

}  // namespace

Received receive_webhook(const Config& cfg, db::Db& db, const std::string& body, const std::string& signature,
                         const std::string& timestamp, int64_t now_s) {
  Received out;
  auto fail = [&](int st, const std::string& code, const std::string& msg) {
    out.http_status = st;
    out.error_code = code;
    out.error_message = msg;
    return out;
  };
  if (cfg.zoom_webhook_secret.empty())
    return fail(503, "zoom_not_configured", "Zoom webhooks are not configured (zoom-webhook-secret-file)");
  if (body.size() > kMaxWebhookBody) return fail(413, "body_too_large", "Webhook body is too large");
  const auto verdict = zoom_sig::verify(cfg.zoom_webhook_secret, signature, timestamp, body, now_s);
  if (verdict != zoom_sig::Verdict::ok) {
    log::warn("zoom webhook rejected", {{"reason", zoom_sig::to_string(verdict)}, {"bytes", std::to_string(body.size())}});
    return fail(401, "invalid_signature",
                std::string("The x-zm-signature / x-zm-request-timestamp check failed (") + zoom_sig::to_string(verdict) + ")");
  }
  auto p = json::parse(body);
  if (!p || !p->isObject()) return fail(400, "bad_json", "The body is not a JSON object");
  const std::string event = json::str(*p, "event");
  if (event.empty() || event.size() > 64) return fail(400, "invalid_field", "event is missing");
  const Json::Value& payload = (*p)["payload"];
  if (event == "endpoint.url_validation") {
    const std::string plain = json::str(payload, "plainToken");
    if (plain.empty() || plain.size() > 256) return fail(400, "invalid_field", "payload.plainToken is missing");
    out.reply = zoom_sig::url_validation_response(cfg.zoom_webhook_secret, plain);
    log::info("zoom url validation answered");
    return out;
  }
  const Json::Value& obj = payload["object"];
  const Json::Value& part = obj["participant"];
  const int64_t event_ts = (*p)["event_ts"].isNumeric() ? (*p)["event_ts"].asInt64() : 0;
  const int64_t zid = zoom::meeting_id_of(obj["id"]);
  const std::string uuid = json::str(obj, "uuid");
  std::string participant = json::str(part, "participant_uuid");
  if (participant.empty()) participant = json::str(part, "user_id") + "/" + json::str(part, "id");
  const std::string key = crypto::hex_encode(crypto::sha256(event + "\n" + (uuid.empty() ? std::to_string(zid) : uuid) +
                                                            "\n" + participant + "\n" + std::to_string(event_ts)));
  db.transaction([&](db::Db& tx) {
    out.duplicate = tx.exec("INSERT IGNORE INTO zoom_webhook_events (dedupe_key, event, event_ts, zoom_meeting_id, "
                            "meeting_uuid, participant_name, participant_email, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            {key, event, event_ts, zid ? db::Param(zid) : db::null(), cut(uuid, 64),
                             cut(json::str(part, "user_name"), 200), cut(json::str(part, "email"), 254), body}) == 0;
    auto row = tx.query_one("SELECT id FROM zoom_webhook_events WHERE dedupe_key = ?", {key});
    out.event_id = row ? row->i64("id") : 0;
    if (!out.duplicate) {
      Json::Value jp;
      jp["eventId"] = Json::Int64(out.event_id);
      // The retry path: normally the inline apply below wins and the job finds it done.
      jobs::enqueue(tx, kWebhookJobKind, "zoomwh:" + std::to_string(out.event_id), jp, 20, 8);
    }
  });
  if (!out.duplicate) {
    try {
      if (auto a = apply_event(db, out.event_id); !a)
        log::warn("zoom webhook apply failed; the worker retries", {{"event_id", std::to_string(out.event_id)}, {"error", a.error().message}});
    } catch (const std::exception& e) {
      log::warn("zoom webhook apply failed; the worker retries", {{"event_id", std::to_string(out.event_id)}, {"error", e.what()}});
    }
  }
  out.reply["received"] = true;
  out.reply["duplicate"] = out.duplicate;
  return out;
}

Status apply_event(db::Db& db, int64_t event_id) {
  std::optional<Error> failure;
  try {
  db.transaction([&](db::Db& tx) {
    failure.reset();
    auto ev = tx.query_one("SELECT id, event, event_ts, zoom_meeting_id, status, body, dedupe_key FROM zoom_webhook_events "
                           "WHERE id = ? FOR UPDATE",
                           {event_id});
    if (!ev || ev->str("status") == "applied" || ev->str("status") == "ignored") return;
    const std::string event = ev->str("event");
    auto p = json::parse(ev->str("body"));
    const Json::Value obj = p ? (*p)["payload"]["object"] : Json::Value();
    const std::string at = event_time(event, obj, ev->i64("event_ts"));
    auto m = tx.query_one("SELECT id, purpose, chain_root_uid, state FROM zoom_meetings WHERE zoom_meeting_id = ? "
                          "ORDER BY id DESC LIMIT 1 FOR UPDATE",
                          {ev->i64("zoom_meeting_id")});
    if (!m) {
      tx.exec("UPDATE zoom_webhook_events SET status = 'ignored', n_attempts = n_attempts + 1, "
              "last_error = 'unknown meeting', applied_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
              {event_id});
      return;
    }
    if (event == "meeting.started")
      tx.exec("UPDATE zoom_meetings SET zoom_status = 'started', started_at = COALESCE(started_at, ?) WHERE id = ?",
              {at.empty() ? db::null() : db::Param(at), m->i64("id")});
    else if (event == "meeting.ended")
      tx.exec("UPDATE zoom_meetings SET zoom_status = 'ended', ended_at = COALESCE(?, ended_at) WHERE id = ?",
              {at.empty() ? db::null() : db::Param(at), m->i64("id")});
    else if (event == "meeting.deleted" && m->str("state") == "created" && m->str("purpose") == "booking") {
      // Deleted in Zoom behind our back: the chain needs a meeting again (its
      // job finds the booking cancelled when the deletion was ours, and stops).
      tx.exec("UPDATE zoom_meetings SET state = 'failed', zoom_meeting_id = NULL, start_url_enc = NULL, "
              "cal_location_uid = NULL, last_error = 'zoom_deleted: deleted in Zoom; making a new one' WHERE id = ?",
              {m->i64("id")});
      Json::Value jp;
      jp["root"] = m->str("chain_root_uid");
      jobs::enqueue(tx, kJobKind, "zoom:recreate:" + std::to_string(event_id), jp, 0, 10);
      log::warn("zoom meeting deleted in Zoom; queued a new one", {{"root", m->str("chain_root_uid")}});
    } else if (event == "meeting.deleted" && m->str("state") == "created")
      tx.exec("UPDATE zoom_meetings SET state = 'deleted', last_error = 'deleted in Zoom (webhook)' WHERE id = ?",
              {m->i64("id")});
    std::string booking_uid;
    if (m->str("purpose") == "booking" && !m->str("chain_root_uid").empty()) {
      booking_uid = booking_hooks::chain_head(tx, m->str("chain_root_uid"));
      if (is_evidence(event)) {
        sessions::EvidenceIn e;
        e.booking_uid = booking_uid;
        e.kind = event == "meeting.started"              ? sessions::Evidence::meeting_started
                 : event == "meeting.ended"              ? sessions::Evidence::meeting_ended
                 : event == "meeting.participant_joined" ? sessions::Evidence::participant_joined
                                                         : sessions::Evidence::participant_left;
        e.at_utc = at;
        e.participant_email = json::str(obj["participant"], "email");
        e.participant_name = json::str(obj["participant"], "user_name");
        e.source = "zoom";
        e.source_event_id = "zoom:" + ev->str("dedupe_key");
        auto r = sessions::record_evidence(tx, e);
        if (!r) {
          failure = r.error();
          throw std::runtime_error("record_evidence: " + r.error().message);
        }
      }
    }
    tx.exec("UPDATE zoom_webhook_events SET status = 'applied', booking_uid = ?, n_attempts = n_attempts + 1, "
            "last_error = NULL, applied_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
            {booking_uid.empty() ? db::null() : db::Param(booking_uid), event_id});
  });
  } catch (const db::DbError&) {
    throw;
  } catch (const std::exception& e) {
    if (!failure) failure = make_error(500, "apply_failed", e.what());
  }
  if (failure) {
    // Rolled back: record the attempt so the worker's retry and the pages show it.
    db.exec("UPDATE zoom_webhook_events SET status = 'failed', n_attempts = n_attempts + 1, last_error = ? WHERE id = ?",
            {cut(failure->code + ": " + failure->message, 500), event_id});
    return *failure;
  }
  return ok_status();
}

Json::Value recent_events(db::Db& db, int64_t user_id, bool is_admin, int limit) {
  Json::Value arr(Json::arrayValue);
  for (const auto& r : db.query(
           "SELECT e.id, e.event, e.zoom_meeting_id, e.participant_name, e.participant_email, e.booking_uid, e.status, "
           "e.n_attempts, e.last_error, DATE_FORMAT(e.received_at, '%Y-%m-%dT%H:%i:%sZ') AS received_at "
           "FROM zoom_webhook_events e LEFT JOIN zoom_meetings m ON m.zoom_meeting_id = e.zoom_meeting_id "
           "WHERE ? = 1 OR m.coach_user_id = ? OR m.created_by_user_id = ? ORDER BY e.id DESC LIMIT ?",
           {int64_t(is_admin ? 1 : 0), user_id, user_id, int64_t(limit)})) {
    Json::Value v;
    v["id"] = Json::Int64(r.i64("id"));
    v["event"] = r.str("event");
    v["zoomMeetingId"] = r.is_null("zoom_meeting_id") ? Json::Value() : Json::Value(Json::Int64(r.i64("zoom_meeting_id")));
    v["participantName"] = r.str("participant_name");
    v["participantEmail"] = r.str("participant_email");
    v["bookingUid"] = r.is_null("booking_uid") ? Json::Value() : Json::Value(r.str("booking_uid"));
    v["status"] = r.str("status");
    v["attempts"] = Json::Int64(r.i64("n_attempts"));
    v["lastError"] = r.is_null("last_error") ? Json::Value() : Json::Value(r.str("last_error"));
    v["receivedAt"] = r.str("received_at");
    arr.append(v);
  }
  return arr;
}

}  // namespace coach::meetings
