/* test_calcom_emulator.cpp: the Cal.com emulator itself, over real HTTP. Starts
 * its own emulator (CALCOM_EMULATOR_BIN, default
 * build/release/emulators/calcom_emulator) on a free port with a 2 s access
 * TTL, resets it before each case, and checks managed-user creation, the list
 * filter, refresh rotation, 498 on expiry, the error envelope and faults; then
 * schedules, event types, slots (worked examples of reference §5.4),
 * reservations and bookings, with the emulator clock frozen in March 2026;
 * then webhooks: management and validation, deliveries to a subscriber run in
 * this process (signatures over the raw body, shapes against the signed
 * samples in shared/reference/calcom-webhook-samples), fault modes,
 * redelivery and the MEETING_* jobs driven by the emulator clock. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE calcom_emulator
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "webhook_samples.hpp"
#include "crypto.hpp"

namespace {

const std::string k_client_id = "clz8kq2vd0001mh08abcd1234";
const std::string k_secret = "emu-test-secret";

/* The emulator process, started once for the whole module. */
class Emulator {
 public:
  Emulator() {
    const char* env = std::getenv("CALCOM_EMULATOR_BIN");
    std::string bin = env && *env ? env : "build/release/emulators/calcom_emulator";
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a crashed test
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::string log = "/tmp/calcom_emulator_test_" + std::to_string(getpid()) + ".log";
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      execl(bin.c_str(), bin.c_str(), "--port", "0", "--client-id", k_client_id.c_str(),
            "--client-secret", k_secret.c_str(), "--redirect-uri", "http://127.0.0.1:8080/cb",
            "--access-ttl-s", "2", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    close(out[1]);
    // First stdout line: "calcom_emulator listening on http://127.0.0.1:PORT".
    std::string line;
    char ch = 0;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line.push_back(ch);
    close(out[0]);
    size_t pos = line.rfind(':');
    if (line.find("listening") == std::string::npos || pos == std::string::npos) {
      stop();
      throw std::runtime_error("emulator did not start (" + bin + "): '" + line + "'");
    }
    base_ = "http://127.0.0.1:" + line.substr(pos + 1);
  }
  ~Emulator() { stop(); }
  const std::string& base() const { return base_; }

 private:
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid_ = -1;
  std::string base_;
};

Emulator& emulator() {
  static Emulator e;
  return e;
}

struct Resp {
  long status = 0;
  std::string body;
  std::string request_id;
  Json::Value json() const {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    r->parse(body.data(), body.data() + body.size(), &v, &errs);
    return v;
  }
};

size_t on_body(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* user) {
  std::string h(p, size * n);
  const std::string key = "x-request-id:";
  if (h.size() > key.size() && strncasecmp(h.c_str(), key.c_str(), key.size()) == 0) {
    std::string v = h.substr(key.size());
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    *static_cast<std::string*>(user) = v;
  }
  return size * n;
}

Resp call(const std::string& method, const std::string& path, const std::string& body = "",
          std::vector<std::string> headers = {}) {
  CURL* h = curl_easy_init();
  Resp r;
  std::string url = emulator().base() + path;
  curl_slist* list = nullptr;
  headers.push_back("Content-Type: application/json");
  for (const auto& x : headers) list = curl_slist_append(list, x.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.request_id);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) throw std::runtime_error(method + " " + path + ": " + curl_easy_strerror(rc));
  return r;
}

const std::string k_secret_header = "x-cal-secret-key: " + k_secret;
const std::string k_users = "/v2/oauth-clients/" + k_client_id + "/users";

Resp create_user(const std::string& email, const std::string& extra = "") {
  return call("POST", k_users, "{\"email\":\"" + email + "\",\"name\":\"Test Coach\"" + extra + "}",
              {k_secret_header});
}

int64_t counter(const std::string& name) {
  return call("GET", "/_emulator/state").json()["counters"][name].asInt64();
}

struct Fx {
  Fx() { BOOST_TEST_REQUIRE(call("POST", "/_emulator/reset").status == 200); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(create_rewrites_email_and_returns_tokens, Fx) {
  auto r = create_user("Maria.Lopez@coachmarket.example", ",\"timeZone\":\"europe/madrid\"");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(r.json()["status"].asString() == "success");
  BOOST_TEST(d["user"]["email"].asString() == "maria.lopez+" + k_client_id + "@coachmarket.example");
  BOOST_TEST(d["user"]["username"].asString() == "maria-lopez-" + k_client_id + "-coachmarket");
  BOOST_TEST(d["user"]["timeZone"].asString() == "Europe/Madrid");
  BOOST_TEST(d["user"]["defaultScheduleId"].isInt64());
  BOOST_TEST(d["accessToken"].asString().rfind("eyJ", 0) == 0u);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST(d["accessTokenExpiresAt"].asInt64() > now_ms);
  BOOST_TEST(d["refreshTokenExpiresAt"].asInt64() > now_ms + 300LL * 24 * 3600 * 1000);

  auto no_tz = create_user("sam@coach.example");
  BOOST_TEST_REQUIRE(no_tz.status == 201);
  BOOST_TEST(no_tz.json()["data"]["user"]["defaultScheduleId"].isNull());
}

BOOST_FIXTURE_TEST_CASE(duplicate_email_is_409_and_bad_input_400, Fx) {
  BOOST_TEST_REQUIRE(create_user("dup@coach.example").status == 201);
  auto again = create_user("DUP@coach.example");
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.json()["error"]["code"].asString() == "ConflictException");
  BOOST_TEST(again.json()["error"]["message"].asString().find("Existing user ID=") != std::string::npos);
  auto bad = create_user("x@coach.example", ",\"timeZone\":\"Mars/Olympus\"");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.json()["error"]["details"]["errors"][0]["property"].asString() == "timeZone");
  BOOST_TEST(call("POST", k_users, "{\"email\":", {k_secret_header}).status == 400);
}

BOOST_FIXTURE_TEST_CASE(list_filters_by_plain_email, Fx) {
  BOOST_TEST_REQUIRE(create_user("a@coach.example").status == 201);
  BOOST_TEST_REQUIRE(create_user("b@coach.example").status == 201);
  auto all = call("GET", k_users, "", {k_secret_header});
  BOOST_TEST(all.json()["data"].size() == 2u);
  auto one = call("GET", k_users + "?emails=b@coach.example", "", {k_secret_header});
  BOOST_TEST_REQUIRE(one.json()["data"].size() == 1u);
  BOOST_TEST(one.json()["data"][0]["email"].asString() == "b+" + k_client_id + "@coach.example");
  BOOST_TEST(call("GET", k_users + "?limit=0", "", {k_secret_header}).status == 400);
}

BOOST_FIXTURE_TEST_CASE(refresh_rotates_and_a_used_token_is_400, Fx) {
  auto created = create_user("rot@coach.example").json()["data"];
  const std::string refresh = created["refreshToken"].asString();
  const std::string path = "/v2/oauth/" + k_client_id + "/refresh";
  auto r = call("POST", path, "{\"refreshToken\":\"" + refresh + "\"}", {k_secret_header});
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["data"]["refreshToken"].asString() != refresh);
  auto reuse = call("POST", path, "{\"refreshToken\":\"" + refresh + "\"}", {k_secret_header});
  BOOST_TEST(reuse.status == 400);
  BOOST_TEST(reuse.json()["error"]["message"].asString() == "Invalid OAuthClient credentials.");
  BOOST_TEST(counter("refreshSuccesses") == 1);
  BOOST_TEST(counter("refreshReuseRejections") == 1);
  // A wrong secret is 400 too, not 401.
  auto next = r.json()["data"]["refreshToken"].asString();
  BOOST_TEST(call("POST", path, "{\"refreshToken\":\"" + next + "\"}", {"x-cal-secret-key: nope"}).status == 400);
}

BOOST_FIXTURE_TEST_CASE(expired_access_token_is_498_and_unknown_is_401, Fx) {
  auto created = create_user("exp@coach.example").json()["data"];
  const std::string bearer = "Authorization: Bearer " + created["accessToken"].asString();
  BOOST_TEST(call("GET", "/v2/me", "", {bearer}).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // --access-ttl-s 2, not rounded
  auto expired = call("GET", "/v2/me", "", {bearer});
  BOOST_TEST(expired.status == 498);
  BOOST_TEST(expired.json()["error"]["code"].asString() == "TokenExpiredException");
  BOOST_TEST(call("GET", "/v2/me", "", {"Authorization: Bearer nonsense"}).status == 401);
  // The control endpoint expires a fresh token at once.
  auto fresh = call("POST", "/v2/oauth-clients/" + k_client_id + "/users/" +
                                created["user"]["id"].asString() + "/force-refresh",
                    "", {k_secret_header});
  BOOST_TEST_REQUIRE(fresh.status == 200);
  const std::string bearer2 = "Authorization: Bearer " + fresh.json()["data"]["accessToken"].asString();
  BOOST_TEST(call("GET", "/v2/me", "", {bearer2}).status == 200);
  BOOST_TEST(call("POST", "/_emulator/expire-access-tokens", "{}").status == 200);
  BOOST_TEST(call("GET", "/v2/me", "", {bearer2}).status == 498);
}

BOOST_FIXTURE_TEST_CASE(errors_use_the_envelope_and_echo_the_request_id, Fx) {
  auto r = call("GET", k_users, "", {"x-cal-secret-key: wrong", "X-Request-Id: req-42"});
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.request_id == "req-42");
  auto j = r.json();
  BOOST_TEST(j["status"].asString() == "error");
  BOOST_TEST(j["error"]["code"].asString() == "UnauthorizedException");
  BOOST_TEST(j["path"].asString() == k_users);
  BOOST_TEST(!j["timestamp"].asString().empty());
  auto other = call("GET", "/v2/oauth-clients/someoneelse/users", "", {k_secret_header});
  BOOST_TEST(other.status == 401);
  auto missing = call("GET", "/v2/no-such-route");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.json()["error"]["code"].asString() == "NotFoundException");
  BOOST_TEST(!missing.request_id.empty());
}

BOOST_FIXTURE_TEST_CASE(faults_fail_the_next_matching_requests, Fx) {
  auto f = call("POST", "/_emulator/faults",
                "{\"path_prefix\":\"/v2/oauth-clients/\",\"method\":\"GET\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200);
  BOOST_TEST(create_user("f@coach.example").status == 201);  // POST: not matched
  auto failed = call("GET", k_users, "", {k_secret_header});
  BOOST_TEST(failed.status == 503);
  BOOST_TEST(failed.json()["error"]["code"].asString() == "ServiceUnavailableException");
  BOOST_TEST(call("GET", k_users, "", {k_secret_header}).status == 200);
  BOOST_TEST(counter("faultsFired") == 1);
}

/* ------------------------------------------- schedules, event types, slots, bookings */

namespace {

const std::string k_v_schedules = "cal-api-version: 2024-06-11";
const std::string k_v_event_types = "cal-api-version: 2024-06-14";
const std::string k_v_slots = "cal-api-version: 2024-09-04";
const std::string k_v_bookings = "cal-api-version: 2024-08-13";
constexpr int64_t k_march_1_2026_ms = 1772323200000;  // 2026-03-01T00:00:00Z

struct Coach {
  int64_t id = 0;
  std::string username;
  std::string bearer;  // "Authorization: Bearer ..."
};

/* A managed user (with a default schedule when tz is given). */
Coach make_coach(const std::string& email, const std::string& tz = "Europe/Madrid") {
  auto r = create_user(email, tz.empty() ? "" : ",\"timeZone\":\"" + tz + "\"");
  if (r.status != 201) throw std::runtime_error("create_user: " + r.body);
  auto d = r.json()["data"];
  return Coach{d["user"]["id"].asInt64(), d["user"]["username"].asString(),
               "Authorization: Bearer " + d["accessToken"].asString()};
}

/* Freezes the emulator clock (so the 2 s access tokens never expire). */
void set_clock(int64_t now_ms) {
  auto r = call("POST", "/_emulator/clock", "{\"nowMs\":" + std::to_string(now_ms) + ",\"frozen\":true}");
  if (r.status != 200) throw std::runtime_error("clock: " + r.body);
}

/* A new access token for the coach (force-refresh), e.g. after moving the
 * clock past the 2 s TTL. */
void refresh_coach(Coach& coach) {
  auto r = call("POST", k_users + "/" + std::to_string(coach.id) + "/force-refresh", "", {k_secret_header});
  if (r.status != 200) throw std::runtime_error("force-refresh: " + r.body);
  coach.bearer = "Authorization: Bearer " + r.json()["data"]["accessToken"].asString();
}

int64_t make_event_type(const Coach& coach, const std::string& fields) {
  auto r = call("POST", "/v2/event-types", "{" + fields + "}", {coach.bearer, k_v_event_types});
  if (r.status != 201) throw std::runtime_error("event type: " + r.body);
  return r.json()["data"]["id"].asInt64();
}

Resp book(int64_t event_type_id, const std::string& start_utc, const std::string& email = "sam@client.example") {
  return call("POST", "/v2/bookings",
              "{\"start\":\"" + start_utc + "\",\"eventTypeId\":" + std::to_string(event_type_id) +
                  ",\"attendee\":{\"name\":\"Sam Carter\",\"email\":\"" + email +
                  "\",\"timeZone\":\"America/New_York\",\"language\":\"en\"}}",
              {k_v_bookings});
}

/* The slot starts of one date from GET /v2/slots. */
std::vector<std::string> slot_starts(int64_t event_type_id, const std::string& date, const std::string& tz = "",
                                     const std::string& extra = "") {
  std::string path = "/v2/slots?eventTypeId=" + std::to_string(event_type_id) + "&start=" + date + "&end=" + date +
                     (tz.empty() ? "" : "&timeZone=" + tz) + extra;
  auto r = call("GET", path, "", {k_v_slots});
  if (r.status != 200) throw std::runtime_error("slots: " + r.body);
  const Json::Value body = r.json();
  std::vector<std::string> out;
  for (const auto& s : body["data"][date]) out.push_back(s["start"].asString());
  return out;
}

std::vector<std::string> madrid(const std::string& date, std::initializer_list<const char*> hhmm) {
  std::vector<std::string> out;
  for (const char* t : hhmm) out.push_back(date + "T" + t + ":00.000+01:00");
  return out;
}

/* Reset, then the clock at 2026-03-01T00:00:00Z, frozen. */
struct CalFx : Fx {
  CalFx() { set_clock(k_march_1_2026_ms); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(default_schedule_and_schedule_round_trip, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  auto def = call("GET", "/v2/schedules/default", "", {maria.bearer, k_v_schedules});
  BOOST_TEST_REQUIRE(def.status == 200, def.body);
  auto d = def.json()["data"];
  BOOST_TEST(d["name"].asString() == "Default schedule");
  BOOST_TEST(d["timeZone"].asString() == "Europe/Madrid");
  BOOST_TEST(d["isDefault"].asBool());
  BOOST_TEST(d["ownerId"].asInt64() == maria.id);
  BOOST_TEST_REQUIRE(d["availability"].size() == 1u);
  BOOST_TEST(d["availability"][0]["days"].size() == 5u);
  BOOST_TEST(d["availability"][0]["startTime"].asString() == "09:00");
  BOOST_TEST(d["availability"][0]["endTime"].asString() == "17:00");
  BOOST_TEST(d["overrides"].size() == 0u);
  const int64_t default_id = d["id"].asInt64();

  // A user created without a timeZone has no default: data null.
  Coach sam = make_coach("sam@coach.example", "");
  auto none = call("GET", "/v2/schedules/default", "", {sam.bearer, k_v_schedules});
  BOOST_TEST(none.status == 200);
  BOOST_TEST(none.json()["data"].isNull());

  const std::string body =
      R"({"name":"Coaching hours","timeZone":"europe/madrid","isDefault":true,
          "availability":[{"days":["Monday","Tuesday"],"startTime":"09:00","endTime":"12:00"},
                          {"days":["Monday"],"startTime":"14:00","endTime":"18:00"}],
          "overrides":[{"date":"2026-03-11","startTime":"14:00","endTime":"18:00"},
                       {"date":"2026-04-03","startTime":"00:00","endTime":"00:00"}]})";
  auto created = call("POST", "/v2/schedules", body, {maria.bearer, k_v_schedules});
  BOOST_TEST_REQUIRE(created.status == 201, created.body);
  auto s = created.json()["data"];
  BOOST_TEST(s["timeZone"].asString() == "Europe/Madrid");
  BOOST_TEST(s["availability"].size() == 2u);  // never merged
  BOOST_TEST(s["overrides"].size() == 2u);
  BOOST_TEST(s["isDefault"].asBool());
  const std::string path = "/v2/schedules/" + s["id"].asString();

  auto got = call("GET", path, "", {maria.bearer, "cal-api-version: 2024-06-14"});
  BOOST_TEST_REQUIRE(got.status == 200, got.body);
  BOOST_TEST(got.json()["data"] == s);
  auto list = call("GET", "/v2/schedules", "", {maria.bearer, k_v_schedules}).json()["data"];
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(!list[0]["isDefault"].asBool());  // the old default lost the flag
  BOOST_TEST(list[0]["id"].asInt64() == default_id);
  auto me = call("GET", "/v2/me", "", {maria.bearer}).json()["data"];
  BOOST_TEST(me["defaultScheduleId"].asInt64() == s["id"].asInt64());

  // DTO errors use the validation envelope; the slot engine's checks are 400s too.
  auto bad = call("POST", "/v2/schedules", R"({"name":"x","timeZone":"Mars/Base","isDefault":false})",
                  {maria.bearer, k_v_schedules});
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.json()["error"]["details"]["errors"][0]["property"].asString() == "timeZone");
  auto backwards = call("POST", "/v2/schedules",
                        R"({"name":"x","timeZone":"UTC","isDefault":false,
                            "availability":[{"days":["Monday"],"startTime":"17:00","endTime":"09:00"}]})",
                        {maria.bearer, k_v_schedules});
  BOOST_TEST(backwards.status == 400, backwards.body);

  auto del = call("DELETE", path, "", {maria.bearer, k_v_schedules});
  BOOST_TEST(del.status == 200);
  BOOST_TEST(del.body == "{\"status\":\"success\"}");
  BOOST_TEST(call("GET", path, "", {maria.bearer, k_v_schedules}).status == 404);
  BOOST_TEST(call("DELETE", path, "", {maria.bearer, k_v_schedules}).status == 400);  // missing id: 400
  BOOST_TEST(call("GET", "/v2/schedules/default", "", {maria.bearer, k_v_schedules}).json()["data"].isNull());
}

BOOST_FIXTURE_TEST_CASE(schedule_patch_replaces_only_the_lists_it_names, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  auto created = call("POST", "/v2/schedules",
                      R"({"name":"A","timeZone":"Europe/Madrid","isDefault":false,
                          "availability":[{"days":["Monday"],"startTime":"09:00","endTime":"12:00"},
                                          {"days":["Friday"],"startTime":"10:00","endTime":"11:00"}],
                          "overrides":[{"date":"2026-03-11","startTime":"14:00","endTime":"18:00"}]})",
                      {maria.bearer, k_v_schedules});
  BOOST_TEST_REQUIRE(created.status == 201, created.body);
  const std::string path = "/v2/schedules/" + created.json()["data"]["id"].asString();
  const Json::Value availability = created.json()["data"]["availability"];

  // overrides only: replaced; availability untouched.
  auto p1 = call("PATCH", path, R"({"overrides":[{"date":"2026-03-12","startTime":"08:00","endTime":"09:00"},
                                                  {"date":"2026-03-13","startTime":"00:00","endTime":"00:00"}]})",
                 {maria.bearer, k_v_schedules});
  BOOST_TEST_REQUIRE(p1.status == 200, p1.body);
  auto d1 = p1.json()["data"];
  BOOST_TEST(d1["availability"] == availability);
  BOOST_TEST_REQUIRE(d1["overrides"].size() == 2u);
  BOOST_TEST(d1["overrides"][0]["date"].asString() == "2026-03-12");

  // availability only: replaced; overrides untouched; name changes.
  auto p2 = call("PATCH", path, R"({"name":"B","availability":[{"days":["Tuesday"],"startTime":"13:00","endTime":"15:00"}]})",
                 {maria.bearer, k_v_schedules});
  BOOST_TEST_REQUIRE(p2.status == 200, p2.body);
  auto d2 = p2.json()["data"];
  BOOST_TEST(d2["name"].asString() == "B");
  BOOST_TEST_REQUIRE(d2["availability"].size() == 1u);
  BOOST_TEST(d2["availability"][0]["days"][0].asString() == "Tuesday");
  BOOST_TEST(d2["overrides"] == d1["overrides"]);

  // An empty list clears.
  auto p3 = call("PATCH", path, R"({"overrides":[]})", {maria.bearer, k_v_schedules});
  BOOST_TEST(p3.json()["data"]["overrides"].size() == 0u);

  // isDefault: true makes it the default; false does not unset it.
  BOOST_TEST(!p3.json()["data"]["isDefault"].asBool());
  auto p4 = call("PATCH", path, R"({"isDefault":true})", {maria.bearer, k_v_schedules});
  BOOST_TEST(p4.json()["data"]["isDefault"].asBool());
  auto p5 = call("PATCH", path, R"({"isDefault":false})", {maria.bearer, k_v_schedules});
  BOOST_TEST(p5.json()["data"]["isDefault"].asBool());

  // A PATCH the slot engine rejects changes nothing.
  auto bad = call("PATCH", path, R"({"availability":[{"days":["Monday"],"startTime":"12:00","endTime":"10:00"}]})",
                  {maria.bearer, k_v_schedules});
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(call("GET", path, "", {maria.bearer, k_v_schedules}).json()["data"]["availability"] ==
             d2["availability"]);
  auto bad_time = call("PATCH", path, R"({"availability":[{"days":["Monday"],"startTime":"9:00","endTime":"10:00"}]})",
                       {maria.bearer, k_v_schedules});
  BOOST_TEST(bad_time.status == 400);
  BOOST_TEST(bad_time.json()["error"]["message"].asString() == "Bad Request Exception");
}

BOOST_FIXTURE_TEST_CASE(another_users_schedule_is_403, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  Coach john = make_coach("john@coach.example");
  auto def = call("GET", "/v2/schedules/default", "", {maria.bearer, k_v_schedules}).json()["data"];
  const std::string path = "/v2/schedules/" + def["id"].asString();
  auto get = call("GET", path, "", {john.bearer, k_v_schedules});
  BOOST_TEST(get.status == 403);
  BOOST_TEST(get.json()["error"]["code"].asString() == "ForbiddenException");
  BOOST_TEST(call("PATCH", path, R"({"name":"mine"})", {john.bearer, k_v_schedules}).status == 403);
  BOOST_TEST(call("DELETE", path, "", {john.bearer, k_v_schedules}).status == 403);
  BOOST_TEST(call("GET", "/v2/schedules", "", {john.bearer, k_v_schedules}).json()["data"].size() == 1u);
  BOOST_TEST(call("GET", path, "", {k_v_schedules}).status == 401);
  // Event types cannot use it either, nor can John read Maria's event type.
  auto et = call("POST", "/v2/event-types",
                 R"({"lengthInMinutes":30,"title":"T","slug":"t","scheduleId":)" + def["id"].asString() + "}",
                 {john.bearer, k_v_event_types});
  BOOST_TEST(et.status == 403);
  int64_t maria_et = make_event_type(maria, R"("lengthInMinutes":30,"title":"T","slug":"t")");
  BOOST_TEST(call("GET", "/v2/event-types/" + std::to_string(maria_et), "", {john.bearer, k_v_event_types}).status ==
             403);
}

BOOST_FIXTURE_TEST_CASE(wrong_or_missing_cal_api_version_is_400, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"T","slug":"t")");
  struct Case { std::string method, path, version; };
  const std::vector<Case> cases = {
      {"GET", "/v2/schedules", ""},
      {"GET", "/v2/schedules", "cal-api-version: 2024-04-15"},
      {"GET", "/v2/event-types", "cal-api-version: 2024-06-11"},
      {"GET", "/v2/slots?eventTypeId=" + std::to_string(et) + "&start=2026-03-10&end=2026-03-10", ""},
      {"GET", "/v2/slots?eventTypeId=" + std::to_string(et) + "&start=2026-03-10&end=2026-03-10", k_v_bookings},
      {"GET", "/v2/bookings", "cal-api-version: 2024-09-04"},
      {"POST", "/v2/bookings", ""},
  };
  for (const auto& k : cases) {
    std::vector<std::string> headers = {maria.bearer};
    if (!k.version.empty()) headers.push_back(k.version);
    auto r = call(k.method, k.path, "{}", headers);
    BOOST_TEST(r.status == 400, k.method << " " << k.path << " [" << k.version << "]: " << r.body);
    BOOST_TEST(r.json()["error"]["code"].asString() == "BadRequestException");
    BOOST_TEST(r.json()["error"]["message"].asString().find("emulator only implements") != std::string::npos);
  }
  BOOST_TEST(counter("apiVersionRejections") == static_cast<int64_t>(cases.size()));
}

BOOST_FIXTURE_TEST_CASE(event_types_slug_locations_and_output, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  const std::string fields =
      R"J("lengthInMinutes":60,"title":"Career coaching (60 min)","slug":"career-coaching-60",
         "description":"Focused 1:1","beforeEventBuffer":15,"afterEventBuffer":15,"minimumBookingNotice":120,
         "slotInterval":30,"bookingLimitsCount":{"day":4},
         "bookingWindow":{"type":"calendarDays","value":30,"rolling":true},
         "bookingFields":[{"type":"textarea","slug":"coaching-goal","label":"Goal?","required":true,
                           "placeholder":"e.g. mock interview","hidden":false}])J";
  auto zoom = call("POST", "/v2/event-types",
                   "{" + fields + R"(,"locations":[{"type":"integration","integration":"zoom"}]})",
                   {maria.bearer, k_v_event_types});
  BOOST_TEST(zoom.status == 400);
  BOOST_TEST(zoom.json()["error"]["message"].asString() == "`zoom` not connected.");
  auto connect = call("POST", "/_emulator/connect-app",
                      "{\"userId\":" + std::to_string(maria.id) + ",\"app\":\"zoom\"}");
  BOOST_TEST_REQUIRE(connect.status == 200, connect.body);
  auto r = call("POST", "/v2/event-types", "{" + fields + R"(,"locations":[{"type":"integration","integration":"zoom"}]})",
                {maria.bearer, k_v_event_types});
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(d["ownerId"].asInt64() == maria.id);
  BOOST_TEST(d["lengthInMinutes"].asInt() == 60);
  BOOST_TEST(d["beforeEventBuffer"].asInt() == 15);
  BOOST_TEST(d["minimumBookingNotice"].asInt() == 120);
  BOOST_TEST(d["slotInterval"].asInt() == 30);
  BOOST_TEST(d["scheduleId"].isNull());
  BOOST_TEST(d["bookingLimitsCount"]["day"].asInt() == 4);
  BOOST_TEST(d["bookingWindow"]["type"].asString() == "calendarDays");
  BOOST_TEST(d["price"].asInt() == 0);
  BOOST_TEST(d["currency"].asString() == "usd");
  BOOST_TEST(!d["hidden"].asBool());
  BOOST_TEST(d["onlyShowFirstAvailableSlot"].isBool());
  BOOST_TEST(d["locations"][0]["integration"].asString() == "zoom");
  BOOST_TEST(d["bookingUrl"].asString() == "https://cal.com/" + maria.username + "/career-coaching-60");
  const Json::Value& bf = d["bookingFields"];
  BOOST_TEST_REQUIRE(bf.size() == 8u);  // 7 system fields + 1 custom
  BOOST_TEST(bf[0]["slug"].asString() == "name");
  BOOST_TEST(bf[0]["isDefault"].asBool());
  BOOST_TEST(bf[1]["slug"].asString() == "email");
  BOOST_TEST(bf[7]["slug"].asString() == "coaching-goal");
  BOOST_TEST(!bf[7]["isDefault"].asBool());

  auto dup = call("POST", "/v2/event-types", "{" + fields + "}", {maria.bearer, k_v_event_types});
  BOOST_TEST(dup.status == 400);
  BOOST_TEST(dup.json()["error"]["message"].asString() == "User already has an event type with this slug.");
  // Another user may use the same slug.
  Coach john = make_coach("john@coach.example");
  BOOST_TEST(call("POST", "/v2/event-types", "{" + fields + "}", {john.bearer, k_v_event_types}).status == 201);
  auto missing = call("POST", "/v2/event-types", R"({"title":"x"})", {maria.bearer, k_v_event_types});
  BOOST_TEST(missing.status == 400);
  BOOST_TEST(missing.json()["error"]["details"]["errors"].size() == 2u);  // lengthInMinutes, slug

  const std::string path = "/v2/event-types/" + d["id"].asString();
  auto patched = call("PATCH", path, R"({"title":"Renamed","bookingLimitsCount":{"disabled":true}})",
                      {maria.bearer, k_v_event_types});
  BOOST_TEST_REQUIRE(patched.status == 200, patched.body);
  BOOST_TEST(patched.json()["data"]["title"].asString() == "Renamed");
  BOOST_TEST(!patched.json()["data"].isMember("bookingLimitsCount"));
  BOOST_TEST(patched.json()["data"]["slotInterval"].asInt() == 30);

  auto pub = call("GET", "/v2/event-types?username=" + maria.username + "&eventSlug=career-coaching-60", "",
                  {k_v_event_types});
  BOOST_TEST_REQUIRE(pub.status == 200, pub.body);
  BOOST_TEST_REQUIRE(pub.json()["data"].size() == 1u);
  BOOST_TEST(pub.json()["data"][0]["id"] == d["id"]);
  BOOST_TEST(call("GET", "/v2/event-types", "", {maria.bearer, k_v_event_types}).json()["data"].size() == 1u);

  auto del = call("DELETE", path, "", {maria.bearer, k_v_event_types});
  BOOST_TEST_REQUIRE(del.status == 200, del.body);
  auto dd = del.json()["data"];
  BOOST_TEST(dd.size() == 4u);
  BOOST_TEST(dd["slug"].asString() == "career-coaching-60");
  BOOST_TEST(dd["title"].asString() == "Renamed");
  BOOST_TEST(dd["lengthInMinutes"].asInt() == 60);
  BOOST_TEST(call("GET", path, "", {maria.bearer, k_v_event_types}).status == 404);
}

BOOST_FIXTURE_TEST_CASE(slots_worked_example_a_madrid, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"Coaching","slug":"coaching")");
  BOOST_TEST(slot_starts(et, "2026-03-10", "Europe/Madrid") ==
             madrid("2026-03-10", {"09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"}),
             boost::test_tools::per_element());
  auto utc = slot_starts(et, "2026-03-10");
  BOOST_TEST_REQUIRE(utc.size() == 8u);
  BOOST_TEST(utc.front() == "2026-03-10T08:00:00.000Z");
  BOOST_TEST(utc.back() == "2026-03-10T15:00:00.000Z");
  // format=range adds the end; a weekend is empty ({}).
  auto range = call("GET", "/v2/slots?eventTypeId=" + std::to_string(et) +
                               "&start=2026-03-10&end=2026-03-10&timeZone=Europe/Madrid&format=range",
                    "", {k_v_slots});
  BOOST_TEST(range.json()["data"]["2026-03-10"][0]["end"].asString() == "2026-03-10T10:00:00.000+01:00");
  auto weekend = call("GET", "/v2/slots?eventTypeId=" + std::to_string(et) + "&start=2026-03-14&end=2026-03-15", "",
                      {k_v_slots});
  BOOST_TEST(weekend.body == "{\"data\":{},\"status\":\"success\"}");
  // By slug + username, too.
  auto by_slug = call("GET", "/v2/slots?eventTypeSlug=coaching&username=" + maria.username +
                                 "&start=2026-03-10&end=2026-03-10", "", {k_v_slots});
  BOOST_TEST(by_slug.json()["data"]["2026-03-10"].size() == 8u);
}

BOOST_FIXTURE_TEST_CASE(slots_worked_example_c_buffers_and_a_booking, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(
      maria, R"("lengthInMinutes":60,"title":"Coaching","slug":"coaching","beforeEventBuffer":15,"afterEventBuffer":15)");
  auto b = book(et, "2026-03-10T10:00:00Z");  // 11:00-12:00 Madrid
  BOOST_TEST_REQUIRE(b.status == 201, b.body);
  BOOST_TEST(slot_starts(et, "2026-03-10", "Europe/Madrid") ==
             madrid("2026-03-10", {"09:00", "13:00", "14:00", "15:00", "16:00"}),
             boost::test_tools::per_element());
  // C2: same with slotInterval 30.
  BOOST_TEST_REQUIRE(call("PATCH", "/v2/event-types/" + std::to_string(et), R"({"slotInterval":30})",
                          {maria.bearer, k_v_event_types}).status == 200);
  BOOST_TEST(slot_starts(et, "2026-03-10", "Europe/Madrid") ==
             madrid("2026-03-10", {"09:00", "09:30", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30",
                                   "16:00"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(slots_minimum_notice_follows_the_emulator_clock, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"C","slug":"c","minimumBookingNotice":120)");
  set_clock(1773130800000);  // 2026-03-10T09:20 Madrid (example D)
  BOOST_TEST(slot_starts(et, "2026-03-10", "Europe/Madrid") ==
             madrid("2026-03-10", {"12:00", "13:00", "14:00", "15:00", "16:00"}),
             boost::test_tools::per_element());
  auto soon = book(et, "2026-03-10T09:00:00Z");  // 10:00 Madrid: inside the notice
  BOOST_TEST(soon.status == 400);
  BOOST_TEST(soon.json()["error"]["message"].asString().find("too soon") != std::string::npos);
  auto past = book(et, "2026-03-09T09:00:00Z");
  BOOST_TEST(past.status == 400);
  BOOST_TEST(past.json()["error"]["message"].asString() == "Attempting to book a meeting in the past.");
}

BOOST_FIXTURE_TEST_CASE(a_booking_takes_its_slot_and_a_conflict_is_400, CalFx) {
  Coach maria = make_coach("maria+x@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"Coaching","slug":"coaching")");
  auto r = call("POST", "/v2/bookings",
                R"({"start":"2026-03-10T10:00:00Z","eventTypeId":)" + std::to_string(et) +
                    R"(,"attendee":{"name":"Sam Carter","email":"Sam.Carter@client.example","timeZone":"America/New_York"},
                       "bookingFieldsResponses":{"notes":"Senior PM loop"},"metadata":{"agentSessionId":"as_7f3e2c"}})",
                {k_v_bookings});
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(d["status"].asString() == "accepted");
  BOOST_TEST(d["uid"].asString().size() == 22u);
  BOOST_TEST(d["start"].asString() == "2026-03-10T10:00:00.000Z");
  BOOST_TEST(d["end"].asString() == "2026-03-10T11:00:00.000Z");
  BOOST_TEST(d["duration"].asInt() == 60);
  BOOST_TEST(d["eventTypeId"].asInt64() == et);
  BOOST_TEST(d["eventType"]["slug"].asString() == "coaching");
  BOOST_TEST(d["title"].asString() == "Coaching between Test Coach and Sam Carter");
  BOOST_TEST(d["description"].asString() == "Senior PM loop");
  BOOST_TEST(d["hosts"][0]["id"].asInt64() == maria.id);
  BOOST_TEST(d["hosts"][0]["displayEmail"].asString() == "maria+x@coach.example");
  BOOST_TEST(d["attendees"][0]["email"].asString() == "sam.carter@client.example");
  BOOST_TEST(!d["attendees"][0]["absent"].asBool());
  BOOST_TEST(d["metadata"]["agentSessionId"].asString() == "as_7f3e2c");
  BOOST_TEST(d["metadata"]["platformClientId"].asString() == k_client_id);
  BOOST_TEST(d["location"].asString().rfind("https://app.cal.com/video/", 0) == 0u);  // Cal Video default
  BOOST_TEST(d["bookingFieldsResponses"]["name"].asString() == "Sam Carter");
  BOOST_TEST(d["cancellationReason"].asString() == "");

  auto starts = slot_starts(et, "2026-03-10", "Europe/Madrid");
  BOOST_TEST(starts.size() == 7u);
  BOOST_TEST((std::find(starts.begin(), starts.end(), "2026-03-10T11:00:00.000+01:00") == starts.end()));

  for (const char* start : {"2026-03-10T10:00:00Z", "2026-03-10T10:30:00Z", "2026-03-10T09:30:00Z"}) {
    auto conflict = book(et, start, "other@client.example");
    BOOST_TEST(conflict.status == 400, start);
    BOOST_TEST(conflict.json()["error"]["message"].asString() ==
               "User either already has booking at this time or is not available");
  }
  // Outside working hours (20:00 Madrid) and on a Saturday.
  BOOST_TEST(book(et, "2026-03-10T19:00:00Z").status == 400);
  BOOST_TEST(book(et, "2026-03-14T10:00:00Z").status == 400);
  // Busy across event types: a second type of the same host is blocked too.
  int64_t et2 = make_event_type(maria, R"("lengthInMinutes":30,"title":"Short","slug":"short")");
  BOOST_TEST(book(et2, "2026-03-10T10:30:00Z").status == 400);
  BOOST_TEST(counter("bookingConflicts") == 6);

  auto got = call("GET", "/v2/bookings/" + d["uid"].asString(), "", {k_v_bookings});
  BOOST_TEST(got.status == 200);
  BOOST_TEST(got.json()["data"]["id"] == d["id"]);
  BOOST_TEST(call("GET", "/v2/bookings/nope", "", {k_v_bookings}).status == 404);
}

BOOST_FIXTURE_TEST_CASE(zoom_location_carries_a_join_url_through_reschedule, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  BOOST_TEST_REQUIRE(call("POST", "/_emulator/connect-app",
                          "{\"userId\":" + std::to_string(maria.id) + ",\"app\":\"zoom\"}").status == 200);
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"Z","slug":"z",
                                         "locations":[{"type":"integration","integration":"zoom"}])");
  auto r = call("POST", "/v2/bookings",
                R"({"start":"2026-03-10T10:00:00Z","eventTypeId":)" + std::to_string(et) +
                    R"(,"attendee":{"name":"Sam","email":"sam@client.example","timeZone":"UTC"},
                       "location":{"type":"integration","integration":"zoom"}})",
                {k_v_bookings});
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  const std::string url = r.json()["data"]["location"].asString();
  BOOST_TEST(url.rfind("https://us06web.zoom.us/j/", 0) == 0u);
  BOOST_TEST(r.json()["data"]["bookingFieldsResponses"]["location"]["value"].asString() == "integrations:zoom");
  BOOST_TEST(!r.json()["data"]["metadata"].isMember("videoCallUrl"));
  auto moved = call("POST", "/v2/bookings/" + r.json()["data"]["uid"].asString() + "/reschedule",
                    R"({"start":"2026-03-10T13:00:00Z"})", {k_v_bookings});
  BOOST_TEST_REQUIRE(moved.status == 201, moved.body);
  BOOST_TEST(moved.json()["data"]["location"].asString() == url);
  auto wrong = call("POST", "/v2/bookings",
                    R"({"start":"2026-03-10T15:00:00Z","eventTypeId":)" + std::to_string(et) +
                        R"(,"attendee":{"name":"Sam","email":"sam@client.example","timeZone":"UTC"},
                           "location":{"type":"link"}})",
                    {k_v_bookings});
  BOOST_TEST(wrong.status == 400);
}

BOOST_FIXTURE_TEST_CASE(reschedule_and_cancel, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"Coaching","slug":"coaching")");
  auto first = book(et, "2026-03-10T10:00:00Z");
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  const std::string old_uid = first.json()["data"]["uid"].asString();

  // Rescheduling into the booking's own time (shifted by 30 min) is fine: its own busy time is ignored.
  auto moved = call("POST", "/v2/bookings/" + old_uid + "/reschedule",
                    R"({"start":"2026-03-10T10:30:00Z","reschedulingReason":"Clash","rescheduledBy":"maria@coach.example"})",
                    {k_v_bookings});
  BOOST_TEST_REQUIRE(moved.status == 201, moved.body);
  auto n = moved.json()["data"];
  BOOST_TEST(n["uid"].asString() != old_uid);
  BOOST_TEST(n["id"] != first.json()["data"]["id"]);
  BOOST_TEST(n["status"].asString() == "accepted");
  BOOST_TEST(n["rescheduledFromUid"].asString() == old_uid);
  BOOST_TEST(n["start"].asString() == "2026-03-10T10:30:00.000Z");
  BOOST_TEST(n["reschedulingReason"].asString() == "Clash");
  auto old = call("GET", "/v2/bookings/" + old_uid, "", {k_v_bookings}).json()["data"];
  BOOST_TEST(old["status"].asString() == "cancelled");
  BOOST_TEST(old["rescheduledToUid"] == n["uid"]);
  BOOST_TEST(old["rescheduledByEmail"].asString() == "maria@coach.example");
  BOOST_TEST(call("POST", "/v2/bookings/" + old_uid + "/reschedule", R"({"start":"2026-03-10T14:00:00Z"})",
                  {k_v_bookings}).status == 400);

  // The coach sees both; status filters and pagination.
  auto all = call("GET", "/v2/bookings", "", {maria.bearer, k_v_bookings});
  BOOST_TEST_REQUIRE(all.status == 200, all.body);
  BOOST_TEST(all.json()["data"].size() == 2u);
  BOOST_TEST(all.json()["pagination"]["totalItems"].asInt() == 2);
  auto upcoming = call("GET", "/v2/bookings?status=upcoming", "", {maria.bearer, k_v_bookings}).json();
  BOOST_TEST_REQUIRE(upcoming["data"].size() == 1u);
  BOOST_TEST(upcoming["data"][0]["uid"] == n["uid"]);
  auto page = call("GET", "/v2/bookings?take=1&skip=1", "", {maria.bearer, k_v_bookings}).json();
  BOOST_TEST(page["data"].size() == 1u);
  BOOST_TEST(page["pagination"]["currentPage"].asInt() == 2);
  BOOST_TEST(page["pagination"]["hasPreviousPage"].asBool());
  BOOST_TEST(!page["pagination"]["hasNextPage"].asBool());
  BOOST_TEST(page["pagination"]["remainingItems"].asInt() == 0);
  BOOST_TEST(call("GET", "/v2/bookings?take=0", "", {maria.bearer, k_v_bookings}).status == 400);
  BOOST_TEST(call("GET", "/v2/bookings", "", {k_v_bookings}).status == 401);

  // Cancel keeps the row and frees the time.
  const std::string new_uid = n["uid"].asString();
  auto cancelled = call("POST", "/v2/bookings/" + new_uid + "/cancel", R"({"cancellationReason":"Client ill"})",
                        {k_v_bookings});
  BOOST_TEST_REQUIRE(cancelled.status == 200, cancelled.body);
  BOOST_TEST(cancelled.json()["data"]["status"].asString() == "cancelled");
  BOOST_TEST(cancelled.json()["data"]["cancellationReason"].asString() == "Client ill");
  BOOST_TEST(call("POST", "/v2/bookings/" + new_uid + "/cancel", "{}", {k_v_bookings}).status == 400);
  BOOST_TEST(call("GET", "/v2/bookings?status=cancelled", "", {maria.bearer, k_v_bookings}).json()["data"].size() ==
             2u);
  BOOST_TEST(slot_starts(et, "2026-03-10").size() == 8u);
  BOOST_TEST(book(et, "2026-03-10T10:00:00Z").status == 201);
}

BOOST_FIXTURE_TEST_CASE(mark_absent_only_after_start_and_by_the_host, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  Coach john = make_coach("john@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"C","slug":"c")");
  auto b = book(et, "2026-03-10T10:00:00Z");
  BOOST_TEST_REQUIRE(b.status == 201, b.body);
  const std::string path = "/v2/bookings/" + b.json()["data"]["uid"].asString() + "/mark-absent";
  const std::string body = R"({"attendees":[{"email":"sam@client.example","absent":true}]})";
  BOOST_TEST(call("POST", path, body, {maria.bearer, k_v_bookings}).status == 400);  // not started
  set_clock(1773140400000);  // 2026-03-10T11:00Z: the 2 s tokens are long expired
  BOOST_TEST(call("POST", path, body, {maria.bearer, k_v_bookings}).status == 498);
  refresh_coach(maria);
  refresh_coach(john);
  BOOST_TEST(call("POST", path, body, {john.bearer, k_v_bookings}).status == 403);
  auto r = call("POST", path, body, {maria.bearer, k_v_bookings});
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["data"]["attendees"][0]["absent"].asBool());
  BOOST_TEST(!r.json()["data"]["absentHost"].asBool());
  // Past bookings show under status=past now.
  BOOST_TEST(call("GET", "/v2/bookings?status=past", "", {maria.bearer, k_v_bookings}).json()["data"].size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(reservation_hides_the_slot_and_a_second_one_is_422, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"Coaching","slug":"coaching")");
  const std::string body = "{\"eventTypeId\":" + std::to_string(et) + ",\"slotStart\":\"2026-03-10T12:00:00Z\"}";
  auto r = call("POST", "/v2/slots/reservations", body, {k_v_slots});
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(d["slotStart"].asString() == "2026-03-10T12:00:00.000Z");
  BOOST_TEST(d["slotEnd"].asString() == "2026-03-10T13:00:00.000Z");
  BOOST_TEST(d["slotDuration"].asInt() == 60);
  BOOST_TEST(d["reservationDuration"].asInt() == 5);
  BOOST_TEST(d["reservationUntil"].asString() == "2026-03-01T00:05:00.000Z");
  const std::string uid = d["reservationUid"].asString();

  auto starts = slot_starts(et, "2026-03-10");
  BOOST_TEST(starts.size() == 7u);
  BOOST_TEST((std::find(starts.begin(), starts.end(), "2026-03-10T12:00:00.000Z") == starts.end()));
  auto again = call("POST", "/v2/slots/reservations", body, {k_v_slots});
  BOOST_TEST(again.status == 422);
  BOOST_TEST(again.json()["error"]["code"].asString() == "UnprocessableEntityException");
  // Overlapping, not identical, is a conflict too.
  BOOST_TEST(call("POST", "/v2/slots/reservations",
                  "{\"eventTypeId\":" + std::to_string(et) + ",\"slotStart\":\"2026-03-10T12:30:00Z\"}",
                  {k_v_slots}).status == 422);
  BOOST_TEST(call("GET", "/v2/slots/reservations/" + uid, "", {k_v_slots}).json()["data"]["reservationUid"].asString() ==
             uid);
  // reservationDuration needs authentication.
  BOOST_TEST(call("POST", "/v2/slots/reservations",
                  "{\"eventTypeId\":" + std::to_string(et) +
                      ",\"slotStart\":\"2026-03-10T14:00:00Z\",\"reservationDuration\":10}",
                  {k_v_slots}).status == 401);
  // A booked slot cannot be reserved.
  BOOST_TEST_REQUIRE(book(et, "2026-03-10T09:00:00Z").status == 201);
  BOOST_TEST(call("POST", "/v2/slots/reservations",
                  "{\"eventTypeId\":" + std::to_string(et) + ",\"slotStart\":\"2026-03-10T09:00:00Z\"}",
                  {k_v_slots}).status == 422);
  // Reservations are advisory: booking the reserved slot still works.
  BOOST_TEST(book(et, "2026-03-10T12:00:00Z", "fast@client.example").status == 201);

  // After 5 minutes (emulator clock) the hold lapses; DELETE works on the uid.
  auto r2 = call("POST", "/v2/slots/reservations",
                 "{\"eventTypeId\":" + std::to_string(et) + ",\"slotStart\":\"2026-03-10T14:00:00Z\"}", {k_v_slots});
  BOOST_TEST_REQUIRE(r2.status == 201, r2.body);
  BOOST_TEST(slot_starts(et, "2026-03-10").size() == 5u);  // 09 and 12 booked, 14 held
  BOOST_TEST(call("POST", "/_emulator/clock", R"({"advanceMs":300001})").status == 200);
  BOOST_TEST(slot_starts(et, "2026-03-10").size() == 6u);
  BOOST_TEST(call("DELETE", "/v2/slots/reservations/" + uid, "", {k_v_slots}).status == 200);
  BOOST_TEST(call("DELETE", "/v2/slots/reservations/" + uid, "", {k_v_slots}).status == 404);
  BOOST_TEST(call("GET", "/v2/slots/reservations/" + uid, "", {k_v_slots}).json()["data"].isNull());
}

BOOST_FIXTURE_TEST_CASE(state_counts_and_reset_clear_everything, CalFx) {
  Coach maria = make_coach("maria@coach.example");
  int64_t et = make_event_type(maria, R"("lengthInMinutes":60,"title":"C","slug":"c")");
  BOOST_TEST_REQUIRE(book(et, "2026-03-10T10:00:00Z").status == 201);
  BOOST_TEST_REQUIRE(call("POST", "/v2/slots/reservations",
                          "{\"eventTypeId\":" + std::to_string(et) + ",\"slotStart\":\"2026-03-10T12:00:00Z\"}",
                          {k_v_slots}).status == 201);
  auto st = call("GET", "/_emulator/state").json();
  BOOST_TEST(st["counts"]["eventTypes"].asInt() == 1);
  BOOST_TEST(st["counts"]["bookings"].asInt() == 1);
  BOOST_TEST(st["counts"]["reservations"].asInt() == 1);
  BOOST_TEST(st["counts"]["schedules"].asInt() == 3);  // two seeded accounts + Maria's default
  BOOST_TEST(st["clock"]["nowMs"].asInt64() == k_march_1_2026_ms);
  BOOST_TEST(st["clock"]["frozen"].asBool());
  BOOST_TEST(call("POST", "/_emulator/reset").status == 200);
  st = call("GET", "/_emulator/state").json();
  BOOST_TEST(st["counts"]["eventTypes"].asInt() == 0);
  BOOST_TEST(st["counts"]["bookings"].asInt() == 0);
  BOOST_TEST(st["counts"]["reservations"].asInt() == 0);
  BOOST_TEST(!st["clock"]["frozen"].asBool());
  const int64_t real_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST(std::llabs(st["clock"]["nowMs"].asInt64() - real_ms) < 60000);  // back on real time
}

/* -------------------------------------------------------------- webhooks */

namespace {

/* One request the test subscriber received. */
struct Received {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::chrono::steady_clock::time_point at;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  Json::Value json() const {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    r->parse(body.data(), body.data() + body.size(), &v, &errs);
    return v;
  }
};

/* A tiny HTTP/1.1 subscriber on 127.0.0.1 (any free port) in this process,
 * on plain sockets (the test binary does not link cpp-httplib): one
 * connection at a time, Content-Length bodies, answers `status` and closes. */
class Subscriber {
 public:
  Subscriber() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 16) != 0) {
      close(fd_);
      throw std::runtime_error("bind/listen failed");
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~Subscriber() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url(const std::string& path = "/hooks/cal") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_status(int status) { status_ = status; }
  /* Waits until at least n requests arrived; false on timeout. */
  bool wait_for(size_t n, int timeout_ms = 5000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return got_.size() >= n; });
  }
  std::vector<Received> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_.size();
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{5, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      handle(c);
      close(c);
    }
  }
  void handle(int c) {
    std::string buf;
    char chunk[4096];
    size_t head_end = std::string::npos;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
    }
    Received r;
    r.at = std::chrono::steady_clock::now();
    std::istringstream head(buf.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    std::istringstream request_line(line);
    request_line >> r.method >> r.path;
    size_t content_length = 0;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon), value = line.substr(colon + 1);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      if (name == "content-length") content_length = std::stoul(value);
    }
    r.body = buf.substr(head_end + 4);
    while (r.body.size() < content_length) {
      ssize_t n = recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      r.body.append(chunk, static_cast<size_t>(n));
    }
    const int status = status_;
    std::string reply = "HTTP/1.1 " + std::to_string(status) + (status < 300 ? " OK" : " Error") +
                        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    {
      std::lock_guard<std::mutex> lock(mu_);
      got_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> status_{200};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
};

const std::string k_wh_secret = "whsec_coachmarket_test_2026";
const std::string k_client_webhooks = "/v2/oauth-clients/" + k_client_id + "/webhooks";

/* The signed sample bodies: $CALCOM_WEBHOOK_SAMPLES, else shared/ beside
 * the repository (the layout of the workplace and of CI), else the copies in
 * tests/webhook_samples.hpp. */
Json::Value sample(const std::string& trigger) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CALCOM_WEBHOOK_SAMPLES")) dirs.push_back(env);
  dirs.push_back("../shared/reference/calcom-webhook-samples");
  for (const auto& d : dirs) {
    std::ifstream f(d + "/" + trigger + ".json");
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    const std::string text = ss.str();
    if (r->parse(text.data(), text.data() + text.size(), &v, &errs)) return v;
  }
  // Not beside the checkout: the copies embedded for the tests (same bytes).
  const std::string& text = coach::testing::webhook_sample(trigger).body;
  Json::Value v;
  Json::CharReaderBuilder b;
  std::string errs;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  if (r->parse(text.data(), text.data() + text.size(), &v, &errs)) return v;
  throw std::runtime_error("webhook sample " + trigger + " does not parse");
}

std::set<std::string> keys(const Json::Value& v) {
  std::set<std::string> out;
  if (v.isObject()) for (const auto& k : v.getMemberNames()) out.insert(k);
  return out;
}

std::string join_keys(const std::set<std::string>& s) {
  std::string out;
  for (const auto& k : s) out += (out.empty() ? "" : ",") + k;
  return out;
}

/* Equal key sets, with the difference in the message when not. */
void expect_same_keys(const Json::Value& want, const Json::Value& got, const std::string& what) {
  const auto a = keys(want), b = keys(got);
  std::set<std::string> missing, extra;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(missing, missing.end()));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::inserter(extra, extra.end()));
  BOOST_TEST(missing.empty(), what << ": missing " << join_keys(missing));
  BOOST_TEST(extra.empty(), what << ": extra " << join_keys(extra));
}

Resp create_client_webhook(const std::string& url, const std::string& triggers, const std::string& extra = "") {
  return call("POST", k_client_webhooks,
              "{\"subscriberUrl\":\"" + url + "\",\"active\":true,\"triggers\":" + triggers + extra + "}",
              {k_secret_header});
}

/* The coach of the samples: a managed user in Madrid (24 h clock) with Zoom
 * connected and a 60-minute event type with a custom booking field. */
struct SampleCoach {
  Coach coach;
  int64_t event_type = 0;
};

SampleCoach sample_coach(const std::string& extra_event_fields = "") {
  auto r = create_user("maria.lopez@coachmarket.example", ",\"timeZone\":\"Europe/Madrid\",\"timeFormat\":24");
  if (r.status != 201) throw std::runtime_error("create_user: " + r.body);
  auto d = r.json()["data"];
  SampleCoach s;
  s.coach = Coach{d["user"]["id"].asInt64(), d["user"]["username"].asString(),
                  "Authorization: Bearer " + d["accessToken"].asString()};
  if (call("POST", "/_emulator/connect-app", "{\"userId\":" + std::to_string(s.coach.id) + ",\"app\":\"zoom\"}")
          .status != 200) {
    throw std::runtime_error("connect-app failed");
  }
  s.event_type = make_event_type(
      s.coach, R"J("lengthInMinutes":60,"title":"Career coaching (60 min)","slug":"career-coaching-60",
                  "description":"Focused 1:1 career coaching session.",
                  "locations":[{"type":"integration","integration":"zoom"}],
                  "bookingFields":[{"type":"text","slug":"coaching-goal","label":"What do you want to work on?",
                                    "required":false,"hidden":false,"placeholder":""}])J" +
                   extra_event_fields);
  return s;
}

Resp book_sample(int64_t event_type, const std::string& start, const std::string& notes = "Preparing for a senior PM interview loop.") {
  return call("POST", "/v2/bookings",
              "{\"start\":\"" + start + "\",\"eventTypeId\":" + std::to_string(event_type) +
                  ",\"attendee\":{\"name\":\"Sam Carter\",\"email\":\"sam.carter@client.example\","
                  "\"timeZone\":\"America/New_York\"},\"bookingFieldsResponses\":{\"notes\":\"" + notes +
                  "\",\"coaching-goal\":\"Mock behavioural interview\"},\"metadata\":{\"agentSessionId\":\"as_7f3e2c\"}}",
              {k_v_bookings});
}

std::string hmac_hex(const std::string& secret, const std::string& body) {
  return coach::crypto::hmac_sha256_hex(secret, body);
}

Json::Value deliveries() { return call("GET", "/_emulator/deliveries").json()["deliveries"]; }

void webhook_mode(const std::string& body) {
  auto r = call("POST", "/_emulator/webhook-mode", body);
  if (r.status != 200) throw std::runtime_error("webhook-mode: " + r.body);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(webhook_management_validation_scopes_and_conflicts, CalFx) {
  Subscriber sub;
  auto r = create_client_webhook(sub.url(), R"(["BOOKING_CREATED","BOOKING_CANCELLED"])",
                                 ",\"secret\":\"" + k_wh_secret + "\"");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto w = r.json()["data"];
  const std::string id = w["id"].asString();
  BOOST_TEST(id.size() == 36u);
  BOOST_TEST((id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-'));
  BOOST_TEST(w["oAuthClientId"].asString() == k_client_id);
  BOOST_TEST(w["subscriberUrl"].asString() == sub.url());
  BOOST_TEST(w["active"].asBool());
  BOOST_TEST(w["triggers"][0].asString() == "BOOKING_CREATED");
  BOOST_TEST(w["triggers"][1].asString() == "BOOKING_CANCELLED");
  BOOST_TEST(w["payloadTemplate"].isNull());
  BOOST_TEST(w["secret"].asString() == k_wh_secret);

  // Same subscriberUrl in the same scope: 409.
  auto dup = create_client_webhook(sub.url(), R"(["BOOKING_CREATED"])");
  BOOST_TEST(dup.status == 409);
  BOOST_TEST(dup.json()["error"]["code"].asString() == "ConflictException");
  // The API docs' example names are not enum values: 400.
  auto bad = create_client_webhook(sub.url("/other"), R"(["BOOKING_CREATED","BOOKING_CONFIRMED"])");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.json()["error"]["details"]["errors"][0]["property"].asString() == "triggers");
  BOOST_TEST(call("POST", k_client_webhooks, "{\"subscriberUrl\":\"" + sub.url("/x") + "\",\"triggers\":[]}",
                  {k_secret_header}).status == 400);  // active missing
  BOOST_TEST(create_client_webhook(sub.url("/x"), "[]", ",\"version\":\"2024-01-01\"").status == 400);
  BOOST_TEST(create_client_webhook("ftp://127.0.0.1/x", "[]").status == 400);
  auto form = create_client_webhook(sub.url("/x"), "[]", ",\"payloadTemplate\":\"title={{title}}\"");
  BOOST_TEST(form.status == 400);
  BOOST_TEST(form.json()["error"]["message"].asString().find("not JSON") != std::string::npos);
  BOOST_TEST(create_client_webhook(sub.url("/x"), "[]", R"(,"payloadTemplate":"{\"a\":\"{{#if title}}x{{/if}}\"}")")
                 .status == 400);
  BOOST_TEST(call("GET", k_client_webhooks, "", {"x-cal-secret-key: wrong"}).status == 401);

  // List (bare array, take/skip), get, patch, delete, delete all.
  auto second = create_client_webhook(sub.url("/second"), R"(["BOOKING_RESCHEDULED"])");
  BOOST_TEST_REQUIRE(second.status == 201, second.body);
  const std::string id2 = second.json()["data"]["id"].asString();
  auto list = call("GET", k_client_webhooks, "", {k_secret_header}).json()["data"];
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0]["id"].asString() == id);
  auto page = call("GET", k_client_webhooks + "?take=1&skip=1", "", {k_secret_header}).json()["data"];
  BOOST_TEST_REQUIRE(page.size() == 1u);
  BOOST_TEST(page[0]["id"].asString() == id2);
  BOOST_TEST(call("GET", k_client_webhooks + "?take=0", "", {k_secret_header}).status == 400);
  BOOST_TEST(call("GET", k_client_webhooks + "/" + id, "", {k_secret_header}).json()["data"]["id"].asString() == id);
  auto patched = call("PATCH", k_client_webhooks + "/" + id2, R"({"active":false,"triggers":["BOOKING_CANCELLED"]})",
                      {k_secret_header});
  BOOST_TEST_REQUIRE(patched.status == 200, patched.body);
  BOOST_TEST(!patched.json()["data"]["active"].asBool());
  BOOST_TEST(patched.json()["data"]["triggers"][0].asString() == "BOOKING_CANCELLED");
  BOOST_TEST(call("PATCH", k_client_webhooks + "/" + id2, "{\"subscriberUrl\":\"" + sub.url() + "\"}",
                  {k_secret_header}).status == 409);
  auto del = call("DELETE", k_client_webhooks + "/" + id2, "", {k_secret_header});
  BOOST_TEST(del.status == 200);
  BOOST_TEST(del.json()["data"]["id"].asString() == id2);
  BOOST_TEST(call("GET", k_client_webhooks + "/" + id2, "", {k_secret_header}).status == 404);

  // User scope: Bearer; the same URL is fine in another scope; another coach gets 403.
  Coach maria = make_coach("maria@coach.example");
  Coach john = make_coach("john@coach.example");
  auto mine = call("POST", "/v2/webhooks",
                   "{\"subscriberUrl\":\"" + sub.url() + "\",\"active\":true,\"triggers\":[\"BOOKING_CREATED\"]}",
                   {maria.bearer});
  BOOST_TEST_REQUIRE(mine.status == 201, mine.body);
  BOOST_TEST(mine.json()["data"]["userId"].asInt64() == maria.id);
  BOOST_TEST(mine.json()["data"]["secret"].isNull());
  const std::string user_hook = "/v2/webhooks/" + mine.json()["data"]["id"].asString();
  BOOST_TEST(call("POST", "/v2/webhooks",
                  "{\"subscriberUrl\":\"" + sub.url() + "\",\"active\":true,\"triggers\":[]}", {maria.bearer})
                 .status == 409);
  BOOST_TEST(call("GET", "/v2/webhooks", "", {maria.bearer}).json()["data"].size() == 1u);
  BOOST_TEST(call("GET", "/v2/webhooks", "", {john.bearer}).json()["data"].size() == 0u);
  BOOST_TEST(call("GET", user_hook, "", {john.bearer}).status == 403);
  BOOST_TEST(call("GET", user_hook, "").status == 401);
  BOOST_TEST(call("POST", "/v2/webhooks",
                  "{\"subscriberUrl\":\"" + sub.url("/d") + "\",\"active\":true,\"triggers\":[\"DELEGATION_CREDENTIAL_ERROR\"]}",
                  {maria.bearer}).status == 400);
  // A managed user's token cannot manage the OAuth client's webhooks.
  BOOST_TEST(call("GET", k_client_webhooks, "", {maria.bearer}).status == 403);

  auto all = call("DELETE", k_client_webhooks, "", {k_secret_header});
  BOOST_TEST(all.status == 200);
  BOOST_TEST(all.json()["data"].asString() == "1 webhooks deleted");
  BOOST_TEST(call("GET", k_client_webhooks, "", {k_secret_header}).json()["data"].size() == 0u);
  BOOST_TEST(call("GET", "/_emulator/state").json()["counts"]["webhooks"].asInt() == 1);  // Maria's
  BOOST_TEST(call("POST", "/_emulator/reset").status == 200);
  BOOST_TEST(call("GET", "/_emulator/state").json()["counts"]["webhooks"].asInt() == 0);
  BOOST_TEST(sub.count() == 0u);
}

BOOST_FIXTURE_TEST_CASE(booking_created_rescheduled_cancelled_are_signed_and_shaped_like_the_samples, CalFx) {
  Subscriber sub;
  SampleCoach s = sample_coach();
  BOOST_TEST_REQUIRE(create_client_webhook(sub.url(), R"(["BOOKING_CREATED","BOOKING_RESCHEDULED","BOOKING_CANCELLED"])",
                                           ",\"secret\":\"" + k_wh_secret + "\"").status == 201);
  auto booked = book_sample(s.event_type, "2026-03-10T15:00:00Z");
  BOOST_TEST_REQUIRE(booked.status == 201, booked.body);
  const Json::Value b = booked.json()["data"];
  BOOST_TEST_REQUIRE(sub.wait_for(1));
  Received created = sub.got()[0];
  BOOST_TEST(created.method == "POST");
  BOOST_TEST(created.path == "/hooks/cal");
  BOOST_TEST(created.header("content-type") == "application/json");
  BOOST_TEST(created.header("x-cal-webhook-version") == "2021-10-20");
  BOOST_TEST(created.header("x-cal-signature-256") == hmac_hex(k_wh_secret, created.body));
  BOOST_TEST(created.header("x-cal-signature-256") != hmac_hex("another secret", created.body));
  // Compact JSON in the samples' key order: {triggerEvent, createdAt, payload:{bookerUrl, ...}}.
  BOOST_TEST(created.body.rfind("{\"triggerEvent\":\"BOOKING_CREATED\",\"createdAt\":\"2026-03-01T00:00:00.000Z\","
                                "\"payload\":{\"bookerUrl\":\"https://app.cal.com\",\"title\":",
                                0) == 0u);
  const Json::Value want = sample("BOOKING_CREATED");
  const Json::Value got = created.json();
  expect_same_keys(want, got, "BOOKING_CREATED");
  expect_same_keys(want["payload"], got["payload"], "BOOKING_CREATED payload");
  expect_same_keys(want["payload"]["organizer"], got["payload"]["organizer"], "organizer");
  expect_same_keys(want["payload"]["attendees"][0], got["payload"]["attendees"][0], "attendee");
  expect_same_keys(want["payload"]["responses"], got["payload"]["responses"], "responses");
  expect_same_keys(want["payload"]["metadata"], got["payload"]["metadata"], "metadata");
  expect_same_keys(want["payload"]["videoCallData"], got["payload"]["videoCallData"], "videoCallData");
  const Json::Value p = got["payload"];
  BOOST_TEST(p["uid"] == b["uid"]);
  BOOST_TEST(p["bookingId"] == b["id"]);
  BOOST_TEST(p["startTime"].asString() == "2026-03-10T15:00:00Z");
  BOOST_TEST(p["endTime"].asString() == "2026-03-10T16:00:00Z");
  BOOST_TEST(p["type"].asString() == "career-coaching-60");
  BOOST_TEST(p["location"] == b["location"]);  // the Zoom join URL
  BOOST_TEST(p["videoCallData"]["url"] == b["location"]);
  BOOST_TEST(p["status"].asString() == "ACCEPTED");
  BOOST_TEST(p["organizer"]["utcOffset"].asInt() == 60);        // Madrid in March
  BOOST_TEST(p["attendees"][0]["utcOffset"].asInt() == -240);   // New York after 8 March
  BOOST_TEST(p["organizer"]["timeFormat"].asString() == "HH:mm");
  BOOST_TEST(p["metadata"]["platformClientId"].asString() == k_client_id);
  BOOST_TEST(p["metadata"]["agentSessionId"].asString() == "as_7f3e2c");
  BOOST_TEST(p["responses"]["coaching-goal"]["value"].asString() == "Mock behavioural interview");
  BOOST_TEST(p["userFieldsResponses"]["coaching-goal"]["label"].asString() == "What do you want to work on?");
  BOOST_TEST(p["description"].asString() == "Focused 1:1 career coaching session.");
  BOOST_TEST(p["additionalNotes"].asString() == "Preparing for a senior PM interview loop.");

  // Reschedule: BOOKING_RESCHEDULED only; uid/bookingId new, rescheduleUid/rescheduleId old.
  auto moved = call("POST", "/v2/bookings/" + b["uid"].asString() + "/reschedule",
                    R"({"start":"2026-03-12T15:00:00Z","reschedulingReason":"Client has a conflicting interview",
                        "rescheduledBy":"sam.carter@client.example"})",
                    {k_v_bookings});
  BOOST_TEST_REQUIRE(moved.status == 201, moved.body);
  const Json::Value nb = moved.json()["data"];
  BOOST_TEST_REQUIRE(sub.wait_for(2));
  Received resched = sub.got()[1];
  BOOST_TEST(resched.header("x-cal-signature-256") == hmac_hex(k_wh_secret, resched.body));
  const Json::Value rj = resched.json();
  BOOST_TEST(rj["triggerEvent"].asString() == "BOOKING_RESCHEDULED");
  expect_same_keys(sample("BOOKING_RESCHEDULED")["payload"], rj["payload"], "BOOKING_RESCHEDULED payload");
  BOOST_TEST(rj["payload"]["uid"] == nb["uid"]);
  BOOST_TEST(rj["payload"]["bookingId"] == nb["id"]);
  BOOST_TEST(rj["payload"]["rescheduleUid"] == b["uid"]);
  BOOST_TEST(rj["payload"]["rescheduleId"] == b["id"]);
  BOOST_TEST(rj["payload"]["rescheduleStartTime"].asString() == "2026-03-10T15:00:00Z");
  BOOST_TEST(rj["payload"]["startTime"].asString() == "2026-03-12T15:00:00Z");
  BOOST_TEST(rj["payload"]["rescheduledBy"].asString() == "sam.carter@client.example");
  BOOST_TEST(rj["payload"]["iCalSequence"].asInt() == 1);
  BOOST_TEST(rj["payload"]["responses"]["rescheduleReason"]["value"].asString() == "Client has a conflicting interview");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(sub.count() == 2u);  // no BOOKING_CANCELLED for the replaced booking

  // Cancel (by the coach): handleCancelBooking's shape.
  auto cancelled = call("POST", "/v2/bookings/" + nb["uid"].asString() + "/cancel",
                        R"({"cancellationReason":"Coach is unwell"})", {s.coach.bearer, k_v_bookings});
  BOOST_TEST_REQUIRE(cancelled.status == 200, cancelled.body);
  BOOST_TEST_REQUIRE(sub.wait_for(3));
  Received cancel = sub.got()[2];
  BOOST_TEST(cancel.header("x-cal-signature-256") == hmac_hex(k_wh_secret, cancel.body));
  const Json::Value cj = cancel.json();
  BOOST_TEST(cj["triggerEvent"].asString() == "BOOKING_CANCELLED");
  expect_same_keys(sample("BOOKING_CANCELLED"), cj, "BOOKING_CANCELLED");
  expect_same_keys(sample("BOOKING_CANCELLED")["payload"], cj["payload"], "BOOKING_CANCELLED payload");
  expect_same_keys(sample("BOOKING_CANCELLED")["payload"]["organizer"], cj["payload"]["organizer"], "cancel organizer");
  expect_same_keys(sample("BOOKING_CANCELLED")["payload"]["attendees"][0], cj["payload"]["attendees"][0],
                   "cancel attendee");
  BOOST_TEST(cj["payload"]["startTime"].asString() == "2026-03-12T15:00:00+00:00");
  BOOST_TEST(cj["payload"]["status"].asString() == "CANCELLED");
  BOOST_TEST(cj["payload"]["cancellationReason"].asString() == "Coach is unwell");
  BOOST_TEST(cj["payload"]["location"].asString() == "integrations:zoom");
  BOOST_TEST(cj["payload"]["cancelledBy"].asString() == "maria.lopez+" + k_client_id + "@coachmarket.example");
  BOOST_TEST(cj["payload"]["uid"] == nb["uid"]);
  BOOST_TEST(cj["payload"]["iCalSequence"].asInt() == 2);

  // The delivery log, newest first.
  auto log = deliveries();
  BOOST_TEST_REQUIRE(log.size() == 3u);
  BOOST_TEST(log[0]["triggerEvent"].asString() == "BOOKING_CANCELLED");
  BOOST_TEST(log[2]["triggerEvent"].asString() == "BOOKING_CREATED");
  BOOST_TEST(log[0]["outcome"].asString() == "delivered");
  BOOST_TEST(log[0]["status"].asInt() == 200);
  BOOST_TEST(log[0]["body"].asString() == cancel.body);
  BOOST_TEST(log[0]["signature"].asString() == cancel.header("x-cal-signature-256"));
  BOOST_TEST(log[0]["bookingUid"] == nb["uid"]);
  BOOST_TEST(counter("webhookDelivered") == 3);
}

BOOST_FIXTURE_TEST_CASE(webhook_fault_modes_duplicate_drop_reorder_delay_fail, CalFx) {
  Subscriber sub;
  SampleCoach s = sample_coach();
  BOOST_TEST_REQUIRE(create_client_webhook(sub.url(), R"(["BOOKING_CREATED"])", ",\"secret\":\"" + k_wh_secret + "\"")
                         .status == 201);
  auto uid_of = [](const Resp& r) { return r.json()["data"]["uid"].asString(); };
  auto received_uid = [](const Received& r) { return r.json()["payload"]["uid"].asString(); };

  // duplicate: the same bytes and signature twice.
  webhook_mode(R"({"mode":"duplicate"})");
  auto a = book_sample(s.event_type, "2026-03-10T09:00:00Z");
  BOOST_TEST_REQUIRE(a.status == 201, a.body);
  BOOST_TEST_REQUIRE(sub.wait_for(2));
  auto got = sub.got();
  BOOST_TEST(got[0].body == got[1].body);
  BOOST_TEST(got[0].header("x-cal-signature-256") == got[1].header("x-cal-signature-256"));
  BOOST_TEST(received_uid(got[0]) == uid_of(a));

  // drop: nothing arrives; the log says so. The mode applied to one delivery only.
  webhook_mode(R"({"mode":"drop"})");
  auto b = book_sample(s.event_type, "2026-03-10T10:00:00Z");
  BOOST_TEST_REQUIRE(b.status == 201, b.body);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(sub.count() == 2u);
  auto log = deliveries();
  BOOST_TEST(log[0]["outcome"].asString() == "dropped");
  BOOST_TEST(log[0]["bookingUid"].asString() == uid_of(b));
  BOOST_TEST(call("GET", "/_emulator/webhook-mode").json()["mode"].asString() == "normal");

  // reorder: two held, then sent newest first.
  webhook_mode(R"({"mode":"reorder","count":2})");
  auto c1 = book_sample(s.event_type, "2026-03-10T11:00:00Z");
  BOOST_TEST_REQUIRE(c1.status == 201, c1.body);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(sub.count() == 2u);
  BOOST_TEST(call("GET", "/_emulator/webhook-mode").json()["held"].asInt() == 1);
  auto c2 = book_sample(s.event_type, "2026-03-10T12:00:00Z");
  BOOST_TEST_REQUIRE(c2.status == 201, c2.body);
  BOOST_TEST_REQUIRE(sub.wait_for(4));
  got = sub.got();
  BOOST_TEST(received_uid(got[2]) == uid_of(c2));
  BOOST_TEST(received_uid(got[3]) == uid_of(c1));

  // delay: not there when the booking call returns, there about delay_ms later.
  webhook_mode(R"({"mode":"delay","delay_ms":700})");
  const auto t0 = std::chrono::steady_clock::now();
  auto d = book_sample(s.event_type, "2026-03-10T13:00:00Z");
  BOOST_TEST_REQUIRE(d.status == 201, d.body);
  BOOST_TEST(sub.count() == 4u);
  BOOST_TEST_REQUIRE(sub.wait_for(5, 5000));
  got = sub.got();
  BOOST_TEST(received_uid(got[4]) == uid_of(d));
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(got[4].at - t0).count() >= 600);

  // fail: an emulated network failure, never retried.
  webhook_mode(R"({"mode":"fail"})");
  auto f = book_sample(s.event_type, "2026-03-11T09:00:00Z");
  BOOST_TEST_REQUIRE(f.status == 201, f.body);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(sub.count() == 5u);
  log = deliveries();
  BOOST_TEST(log[0]["outcome"].asString() == "failed");
  BOOST_TEST(log[0]["bookingUid"].asString() == uid_of(f));

  // A 5xx answer is logged, not retried; async delivery still arrives.
  sub.set_status(503);
  webhook_mode(R"({"delivery":"async"})");
  auto g = book_sample(s.event_type, "2026-03-11T10:00:00Z");
  BOOST_TEST_REQUIRE(g.status == 201, g.body);
  BOOST_TEST_REQUIRE(sub.wait_for(6));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(sub.count() == 6u);
  log = deliveries();
  BOOST_TEST(log[0]["outcome"].asString() == "http_error");
  BOOST_TEST(log[0]["status"].asInt() == 503);
  BOOST_TEST(counter("webhookDropped") == 1);
  BOOST_TEST(counter("webhookEmulatedFailures") == 1);
  BOOST_TEST(counter("webhookHttpErrors") == 1);
  BOOST_TEST(call("POST", "/_emulator/webhook-mode", R"({"mode":"reorder","count":1})").status == 400);
  BOOST_TEST(call("POST", "/_emulator/webhook-mode", R"({"mode":"sideways"})").status == 400);
}

BOOST_FIXTURE_TEST_CASE(no_secret_ping_and_byte_for_byte_redelivery, CalFx) {
  Subscriber sub;
  BOOST_TEST_REQUIRE(create_client_webhook(sub.url(), R"(["BOOKING_CREATED"])").status == 201);
  auto fired = call("POST", "/_emulator/webhooks/fire", R"({"triggerEvent":"PING"})");
  BOOST_TEST_REQUIRE(fired.status == 200, fired.body);
  BOOST_TEST(fired.json()["sent"][0]["outcome"].asString() == "delivered");
  BOOST_TEST_REQUIRE(sub.wait_for(1));
  Received ping = sub.got()[0];
  BOOST_TEST(ping.header("x-cal-signature-256") == "no-secret-provided");
  const Json::Value pj = ping.json();
  BOOST_TEST(pj["triggerEvent"].asString() == "PING");
  expect_same_keys(sample("PING"), pj, "PING");
  expect_same_keys(sample("PING")["payload"], pj["payload"], "PING payload");
  expect_same_keys(sample("PING")["payload"]["organizer"], pj["payload"]["organizer"], "PING organizer");
  BOOST_TEST(pj["createdAt"].asString() == "2026-03-01T00:00:00.000Z");

  auto again = call("POST", "/_emulator/deliveries/redeliver", R"({"index":0})");
  BOOST_TEST_REQUIRE(again.status == 200, again.body);
  BOOST_TEST(again.json()["delivery"]["redeliveryOf"].asInt64() > 0);
  BOOST_TEST_REQUIRE(sub.wait_for(2));
  Received replay = sub.got()[1];
  BOOST_TEST(replay.body == ping.body);
  BOOST_TEST(replay.header("x-cal-signature-256") == ping.header("x-cal-signature-256"));
  BOOST_TEST(call("POST", "/_emulator/deliveries/redeliver", R"({"index":99})").status == 400);
  BOOST_TEST(counter("webhookRedeliveries") == 1);
}

BOOST_FIXTURE_TEST_CASE(meeting_started_and_ended_follow_the_emulator_clock, CalFx) {
  Subscriber sub;
  SampleCoach s = sample_coach();
  BOOST_TEST_REQUIRE(create_client_webhook(sub.url(), R"(["MEETING_STARTED","MEETING_ENDED"])",
                                           ",\"secret\":\"" + k_wh_secret + "\"").status == 201);
  auto kept = book_sample(s.event_type, "2026-03-10T10:00:00Z");
  BOOST_TEST_REQUIRE(kept.status == 201, kept.body);
  auto gone = book_sample(s.event_type, "2026-03-10T12:00:00Z");
  BOOST_TEST_REQUIRE(gone.status == 201, gone.body);
  BOOST_TEST(call("POST", "/v2/bookings/" + gone.json()["data"]["uid"].asString() + "/cancel", "{}", {k_v_bookings})
                 .status == 200);
  auto later = book_sample(s.event_type, "2026-03-11T10:00:00Z");
  BOOST_TEST_REQUIRE(later.status == 201, later.body);
  auto moved = call("POST", "/v2/bookings/" + later.json()["data"]["uid"].asString() + "/reschedule",
                    R"({"start":"2026-03-11T12:00:00Z"})", {k_v_bookings});
  BOOST_TEST_REQUIRE(moved.status == 201, moved.body);
  // kept: 2 jobs; gone: deleted by the cancel; later: replaced by the new booking's 2.
  BOOST_TEST(call("GET", "/_emulator/state").json()["counts"]["scheduledWebhookJobs"].asInt() == 4);
  BOOST_TEST(sub.count() == 0u);

  const std::string kept_uid = kept.json()["data"]["uid"].asString();
  set_clock(1773136801000);  // 2026-03-10T10:00:01Z
  BOOST_TEST_REQUIRE(sub.wait_for(1, 3000));
  BOOST_TEST(sub.got()[0].json()["triggerEvent"].asString() == "MEETING_STARTED");
  BOOST_TEST(sub.got()[0].json()["uid"].asString() == kept_uid);

  set_clock(1773140401000);  // 2026-03-10T11:00:01Z
  BOOST_TEST_REQUIRE(sub.wait_for(2, 3000));
  Received ended = sub.got()[1];
  BOOST_TEST(ended.header("x-cal-signature-256") == hmac_hex(k_wh_secret, ended.body));
  const Json::Value ej = ended.json();
  BOOST_TEST(ej["triggerEvent"].asString() == "MEETING_ENDED");
  BOOST_TEST(!ej.isMember("payload"));  // not wrapped
  BOOST_TEST(ej["createdAt"].asString() == "2026-03-01T00:00:00.000Z");  // the booking row's, not a send time
  expect_same_keys(sample("MEETING_ENDED"), ej, "MEETING_ENDED");
  expect_same_keys(sample("MEETING_ENDED")["user"], ej["user"], "MEETING_ENDED user");
  expect_same_keys(sample("MEETING_ENDED")["attendees"][0], ej["attendees"][0], "MEETING_ENDED attendee");
  BOOST_TEST(ej["uid"].asString() == kept_uid);
  BOOST_TEST(ej["id"] == kept.json()["data"]["id"]);
  BOOST_TEST(ej["startTime"].asString() == "2026-03-10T10:00:00.000Z");
  BOOST_TEST(ej["endTime"].asString() == "2026-03-10T11:00:00.000Z");
  BOOST_TEST(ej["status"].asString() == "ACCEPTED");
  BOOST_TEST(ej["location"].asString() == "integrations:zoom");
  BOOST_TEST(!ej["metadata"].isMember("videoCallUrl"));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  BOOST_TEST(sub.count() == 2u);  // once each; nothing for the cancelled booking

  // More than a day past the rescheduled booking's end: its jobs are deleted unsent.
  set_clock(1773360000000);  // 2026-03-13T00:00:00Z
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  BOOST_TEST(sub.count() == 2u);
  BOOST_TEST(counter("webhookJobsExpired") == 2);
  BOOST_TEST(call("GET", "/_emulator/state").json()["counts"]["scheduledWebhookJobs"].asInt() == 0);
  BOOST_TEST(deliveries()[0]["outcome"].asString() == "expired");
  BOOST_TEST(deliveries()[0]["bookingUid"] == moved.json()["data"]["uid"]);
}

BOOST_FIXTURE_TEST_CASE(confirmation_no_show_user_scope_and_templates, CalFx) {
  Subscriber sub;
  SampleCoach s = sample_coach(R"(,"confirmationPolicy":{"type":"always","blockUnconfirmedBookingsInBooker":false})");
  BOOST_TEST_REQUIRE(create_client_webhook(sub.url(), R"(["BOOKING_REQUESTED","BOOKING_CREATED","BOOKING_REJECTED","BOOKING_NO_SHOW_UPDATED"])")
                         .status == 201);
  auto pending = book_sample(s.event_type, "2026-03-10T10:00:00Z");
  BOOST_TEST_REQUIRE(pending.status == 201, pending.body);
  BOOST_TEST(pending.json()["data"]["status"].asString() == "pending");
  BOOST_TEST_REQUIRE(sub.wait_for(1));
  Json::Value req = sub.got()[0].json();
  BOOST_TEST(req["triggerEvent"].asString() == "BOOKING_REQUESTED");
  BOOST_TEST(req["payload"]["status"].asString() == "PENDING");
  BOOST_TEST(req["payload"]["requiresConfirmation"].asBool());
  BOOST_TEST(!req["payload"].isMember("videoCallData"));
  BOOST_TEST(req["payload"]["location"].asString() == "integrations:zoom");
  const std::string uid = pending.json()["data"]["uid"].asString();
  BOOST_TEST(call("POST", "/v2/bookings/" + uid + "/confirm", "", {s.coach.bearer, k_v_bookings}).status == 200);
  BOOST_TEST_REQUIRE(sub.wait_for(2));
  Json::Value conf = sub.got()[1].json();
  BOOST_TEST(conf["triggerEvent"].asString() == "BOOKING_CREATED");
  BOOST_TEST(conf["payload"]["status"].asString() == "ACCEPTED");
  BOOST_TEST(conf["payload"]["videoCallData"]["type"].asString() == "zoom_video");

  auto declined = book_sample(s.event_type, "2026-03-10T12:00:00Z");
  BOOST_TEST_REQUIRE(declined.status == 201, declined.body);
  BOOST_TEST(call("POST", "/v2/bookings/" + declined.json()["data"]["uid"].asString() + "/decline",
                  R"({"reason":"Fully booked"})", {s.coach.bearer, k_v_bookings}).status == 200);
  BOOST_TEST_REQUIRE(sub.wait_for(4));
  Json::Value rej = sub.got()[3].json();
  BOOST_TEST(rej["triggerEvent"].asString() == "BOOKING_REJECTED");
  BOOST_TEST(rej["payload"]["status"].asString() == "REJECTED");
  BOOST_TEST(rej["payload"]["rejectionReason"].asString() == "Fully booked");

  // Mark absent after the start: BOOKING_NO_SHOW_UPDATED (host-only changes send nothing).
  set_clock(1773140400000);  // 2026-03-10T11:00Z
  refresh_coach(s.coach);
  const std::string absent = "/v2/bookings/" + uid + "/mark-absent";
  BOOST_TEST(call("POST", absent, R"({"host":true})", {s.coach.bearer, k_v_bookings}).status == 200);
  BOOST_TEST(call("POST", absent, R"({"attendees":[{"email":"sam.carter@client.example","absent":true}]})",
                  {s.coach.bearer, k_v_bookings}).status == 200);
  BOOST_TEST_REQUIRE(sub.wait_for(5));
  BOOST_TEST(sub.count() == 5u);
  Json::Value ns = sub.got()[4].json();
  BOOST_TEST(ns["triggerEvent"].asString() == "BOOKING_NO_SHOW_UPDATED");
  expect_same_keys(sample("BOOKING_NO_SHOW_UPDATED")["payload"], ns["payload"], "BOOKING_NO_SHOW_UPDATED payload");
  BOOST_TEST(ns["payload"]["message"].asString() == "sam.carter@client.example marked as no-show");
  BOOST_TEST(ns["payload"]["attendees"][0]["noShow"].asBool());
  BOOST_TEST(ns["payload"]["bookingUid"].asString() == uid);

  // A user webhook fires for its own user's bookings only; a JSON template is applied.
  Subscriber mine;
  Coach other = make_coach("other@coach.example");
  int64_t other_et = make_event_type(other, R"("lengthInMinutes":30,"title":"Intro","slug":"intro")");
  refresh_coach(s.coach);
  const std::string tmpl =
      R"({\"event\":\"{{triggerEvent}}\",\"title\":\"{{title}}\",\"uid\":\"{{uid}}\",\"len\":\"{{length}}\",)"
      R"(\"who\":\"{{organizer.name}}\",\"missing\":\"{{no.such.key}}\"})";
  auto hook = call("POST", "/v2/webhooks",
                   "{\"subscriberUrl\":\"" + mine.url() + "\",\"active\":true,\"triggers\":[\"BOOKING_CREATED\"],"
                   "\"secret\":\"s1\",\"payloadTemplate\":\"" + tmpl + "\"}",
                   {other.bearer});
  BOOST_TEST_REQUIRE(hook.status == 201, hook.body);
  BOOST_TEST(!hook.json()["data"]["payloadTemplate"].isNull());
  auto not_mine = book(s.event_type, "2026-03-11T10:00:00Z");
  BOOST_TEST_REQUIRE(not_mine.status == 201, not_mine.body);
  auto theirs = book(other_et, "2026-03-11T10:00:00Z");
  BOOST_TEST_REQUIRE(theirs.status == 201, theirs.body);
  BOOST_TEST_REQUIRE(mine.wait_for(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(mine.count() == 1u);
  Received t = mine.got()[0];
  BOOST_TEST(t.header("x-cal-signature-256") == hmac_hex("s1", t.body));
  // organizer is JSON text inside the template data (Cal.com's applyTemplate), so organizer.name is empty.
  BOOST_TEST(t.body == "{\"event\":\"BOOKING_CREATED\",\"title\":\"Intro between Test Coach and Sam Carter\",\"uid\":\"" +
                           theirs.json()["data"]["uid"].asString() + "\",\"len\":\"30\",\"who\":\"\",\"missing\":\"\"}");
}
