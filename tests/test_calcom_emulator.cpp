/* test_calcom_emulator.cpp: the Cal.com emulator itself, over real HTTP. Starts
 * its own emulator (CALCOM_EMULATOR_BIN, default
 * build/release/emulators/calcom_emulator) on a free port with a 2 s access
 * TTL, resets it before each case, and checks managed-user creation, the list
 * filter, refresh rotation, 498 on expiry, the error envelope and faults. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE calcom_emulator
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>
#include <json/json.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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
