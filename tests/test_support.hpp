/* test_support.hpp: helpers for integration tests that talk to the running
 * stack (make test starts it and exports COACH_CONFIG, COACH_BASE_URL ...). */
#pragma once
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "config.hpp"
#include "crypto.hpp"
#include "db.hpp"
#include "http_client.hpp"
#include "json_util.hpp"

namespace coach::testing {

inline const Config& cfg() {
  static Config c = [] {
    auto r = load_config();
    if (!r) throw std::runtime_error("integration tests need the stack (run `make test`): " + r.error().message);
    return *r;
  }();
  return c;
}

inline std::string env_or(const char* k, const std::string& d) {
  const char* v = std::getenv(k);
  return v && *v ? v : d;
}

inline std::string base_url() { return env_or("COACH_BASE_URL", cfg().public_base_url); }

struct Http {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  Json::Value json() const {
    auto p = json::parse(body);
    return p ? *p : Json::Value();
  }
};

inline Http http(const std::string& method, const std::string& url,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = "") {
  http_client::HttpRequest r;
  r.method = method;
  r.url = url;
  r.headers = headers;
  r.body = body;
  r.timeout_ms = 20000;
  auto resp = http_client::perform(r);
  if (!resp) throw std::runtime_error(method + " " + url + ": " + resp.error().message);
  return Http{resp->status, resp->body, resp->headers};
}

inline Json::Value emu_state() { return http("GET", cfg().cal_api_base_url + "/_emulator/state").json(); }
inline int64_t emu_counter(const std::string& name) { return emu_state()["counters"][name].asInt64(); }
inline Http emu_post(const std::string& path, const std::string& json_body) {
  return http("POST", cfg().cal_api_base_url + path, {{"Content-Type", "application/json"}}, json_body);
}

/* A fresh user with a unique e-mail, so tests never collide. */
inline int64_t create_user(db::Db& db, const std::string& role, const std::string& tz = "Europe/London") {
  static std::atomic<int> n{0};
  std::string tag = std::to_string(getpid()) + "-" + std::to_string(++n) + "-" + crypto::random_hex(3);
  db.exec("INSERT INTO users (clerk_user_id, email, name, role, time_zone) VALUES (?, ?, ?, ?, ?)",
          {"user_test_" + tag, "t" + tag + "@example.test", "Test " + role + " " + tag, role, tz});
  return static_cast<int64_t>(db.last_insert_id());
}

inline std::string clerk_id_of(db::Db& db, int64_t user_id) {
  return db.query_one("SELECT clerk_user_id FROM users WHERE id = ?", {user_id})->str("clerk_user_id");
}

/* A session token from the Clerk emulator; extra is merged into the request. */
inline std::string clerk_token(const std::string& sub, Json::Value extra = Json::Value(Json::objectValue)) {
  extra["sub"] = sub;
  auto r = http("POST", cfg().clerk_issuer + "/_emulator/token", {{"Content-Type", "application/json"}},
                json::write(extra));
  if (r.status != 200) throw std::runtime_error("clerk emulator token: " + std::to_string(r.status) + " " + r.body);
  return r.json()["token"].asString();
}

/* YYYY-MM-DD (UTC) of the first given weekday (0 = Sunday) at least min_days ahead. */
inline std::string future_weekday(int weekday, int min_days) {
  std::time_t t = std::time(nullptr) + int64_t(min_days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  t += int64_t((weekday - tm.tm_wday + 7) % 7) * 86400;
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

/* YYYY-MM-DD plus n days. */
inline std::string add_days(const std::string& ymd, int n) {
  std::tm tm{};
  strptime(ymd.c_str(), "%Y-%m-%d", &tm);
  std::time_t t = timegm(&tm) + int64_t(n) * 86400;
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

/* A signed-in user: auth carries a Clerk session token, json adds the JSON
 * content type for requests with a body. */
struct Person {
  int64_t id = 0;
  Headers auth, json;
};

/* A fresh user of role with a session token. */
inline Person signed_in(db::Db& db, const std::string& role, const std::string& tz = "Europe/London") {
  Person p;
  p.id = create_user(db, role, tz);
  p.auth = {{"Authorization", "Bearer " + clerk_token(clerk_id_of(db, p.id))}};
  p.json = p.auth;
  p.json.emplace_back("Content-Type", "application/json");
  return p;
}

/* A fresh coach, onboarded as a Cal.com managed user (throws if that fails). */
inline Person onboarded_coach(db::Db& db, const std::string& tz = "Europe/Madrid") {
  Person c = signed_in(db, "coach", tz);
  auto r = http("POST", base_url() + "/api/cal/coaches/onboard", c.json, "{}");
  if (r.status != 200) throw std::runtime_error("onboarding: " + std::to_string(r.status) + " " + r.body);
  return c;
}

/* An ISO instant without its fraction: slot lists may write milliseconds. */
inline std::string norm_iso(const std::string& iso) {
  auto dot = iso.find('.');
  return dot == std::string::npos ? iso : iso.substr(0, dot) + "Z";
}

/* The free slot starts of one UTC day (YYYY-MM-DD) of a coach's session
 * type, as the availability API writes them (throws unless 200). */
inline std::vector<std::string> day_slot_starts(int64_t coach_id, int64_t event_type_id, const std::string& day) {
  auto r = http("GET", base_url() + "/api/cal/availability?coachId=" + std::to_string(coach_id) +
                           "&eventTypeId=" + std::to_string(event_type_id) + "&start=" + day + "&end=" + day +
                           "&timeZone=UTC");
  if (r.status != 200) throw std::runtime_error("availability: " + std::to_string(r.status) + " " + r.body);
  std::vector<std::string> out;
  const Json::Value j = r.json();  // kept alive: the loops refer into it
  for (const auto& d : j["data"]["days"])
    for (const auto& slot : d["slots"]) out.push_back(slot["start"].asString());
  return out;
}

/* The same as instants without a fraction ("...T09:00:00Z"), as the booking
 * API takes them and tests compare them. */
inline std::vector<std::string> day_slot_instants(int64_t coach_id, int64_t event_type_id, const std::string& day) {
  std::vector<std::string> out;
  for (const auto& s : day_slot_starts(coach_id, event_type_id, day)) out.push_back(norm_iso(s));
  return out;
}

/* Polls f every 250 ms until it holds or timeout_s passed; f's last answer. */
inline bool eventually(const std::function<bool()>& f, int timeout_s = 25) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return f();
}

}  // namespace coach::testing
