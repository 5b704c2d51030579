/* test_it_zoom_emulator.cpp: the Zoom emulator of the running test stack
 * ($COACH_ZOOM_URL), checked against reference payments-zoom-auth-email.md §2
 * and §5.2 with the stack's credentials (zoom-account-id, zoom-client-id,
 * zoom-client-secret, zoom-webhook-secret): token errors and success (query
 * and form body, several tokens at once), 401 code 124 without / with an
 * expired token, TTL and clock, scopes (4711), meetings create / get / list /
 * patch / delete with 404 code 3001 after delete, users (1001), validation
 * errors (300), faults (status, Retry-After, dropped connection), and webhooks:
 * a receiver in this process is added as an extra endpoint, must pass URL
 * validation before any event, and gets every meeting.* event signed with
 * x-zm-signature v0=HMAC(secret, "v0:"+ts+":"+body); failed deliveries are
 * retried with the same body. Signatures of the log (/_emulator/deliveries)
 * are recomputed too, for the stack's own endpoint with zoom-webhook-secret.
 * The test restores what it changes (scopes, TTL, clock, its endpoint). */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE zoom_emulator
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {


std::string zoom_url() {
  std::string u = env_or("COACH_ZOOM_URL", "");
  if (u.empty()) {
    u = cfg().zoom_oauth_token_url;
    u = u.substr(0, u.find("/oauth/token"));
  }
  return u;
}

Http token_request(const std::string& query, const std::string& body, const std::string& id,
                   const std::string& secret) {
  Headers h = {{"Content-Type", "application/x-www-form-urlencoded"}};
  if (!id.empty()) h.emplace_back("Authorization", "Basic " + crypto::base64_encode(id + ":" + secret));
  return http("POST", zoom_url() + "/oauth/token" + (query.empty() ? "" : "?" + query), h, body);
}

std::string good_query() { return "grant_type=account_credentials&account_id=" + coach::url_encode(cfg().zoom_account_id); }

std::string new_token() {
  auto r = token_request(good_query(), "", cfg().zoom_client_id, cfg().zoom_client_secret);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  return r.json()["access_token"].asString();
}

Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

Http control(const std::string& method, const std::string& path, const std::string& body = "") {
  return http(method, zoom_url() + "/_emulator/" + path, {{"Content-Type", "application/json"}}, body);
}

int64_t counter(const std::string& name) { return control("GET", "state").json()["counters"][name].asInt64(); }

bool has_error_field(const Json::Value& body, const std::string& field) {
  for (const auto& e : body["errors"]) {
    if (e["field"].asString() == field) return true;
  }
  return false;
}

/* A meeting for `host` ("me" or an e-mail); returns the 201 body. */
Json::Value create_meeting(const std::string& token, const std::string& body, const std::string& host = "me") {
  auto r = http("POST", zoom_url() + "/v2/users/" + host + "/meetings", bearer(token), body);
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  return r.json();
}

/* ------------------------------------------------------ webhook receiver */

struct Received {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

/* A tiny HTTP server on 127.0.0.1 that records every request and answers
 * through `respond` (status, body), one connection at a time. */
class Receiver {
 public:
  std::function<std::pair<int, std::string>(const Received&)> respond;

  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0) {
      throw std::runtime_error("receiver: bind/listen failed");
    }
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/zoom/hook"; }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  /* Waits until pred(received()) holds, up to timeout_s. */
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& pred, int timeout_s = 20) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      if (pred(received())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred(received());
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      close(c);
    }
  }
  void serve(int c) {
    std::string data;
    char buf[8192];
    size_t header_end = std::string::npos, need = 0;
    for (;;) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 3000) <= 0) return;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        Received r;
        std::istringstream lines(data.substr(0, header_end));
        std::string line;
        std::getline(lines, line);  // request line
        while (std::getline(lines, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          const size_t colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string k = line.substr(0, colon), v = line.substr(colon + 1);
          for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          r.headers[k] = v;
        }
        need = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
        pending_ = r;
      }
      if (data.size() >= header_end + 4 + need) break;
    }
    Received r = pending_;
    r.body = data.substr(header_end + 4, need);
    std::pair<int, std::string> answer{200, ""};
    {
      std::lock_guard<std::mutex> lock(mu_);
      got_.push_back(r);
    }
    if (respond) answer = respond(r);
    std::string out = "HTTP/1.1 " + std::to_string(answer.first) + " X\r\nContent-Type: application/json\r\n"
                      "Content-Length: " + std::to_string(answer.second.size()) + "\r\nConnection: close\r\n\r\n" +
                      answer.second;
    (void)!write(c, out.data(), out.size());
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> got_;
  Received pending_;
};

/* The correct answer to endpoint.url_validation for secret. */
std::pair<int, std::string> validation_answer(const Received& r, const std::string& secret) {
  auto j = json::parse(r.body);
  const std::string plain = (*j)["payload"]["plainToken"].asString();
  Json::Value out(Json::objectValue);
  out["plainToken"] = plain;
  out["encryptedToken"] = crypto::hmac_sha256_hex(secret, plain);
  return {200, json::write(out)};
}

std::string event_of(const Received& r) {
  auto j = json::parse(r.body);
  return j ? (*j)["event"].asString() : "";
}

/* Checks x-zm-signature and x-zm-request-timestamp of one request. */
void check_signed(const std::map<std::string, std::string>& h, const std::string& body, const std::string& secret) {
  BOOST_TEST_REQUIRE(h.count("x-zm-request-timestamp") == 1u);
  BOOST_TEST_REQUIRE(h.count("x-zm-signature") == 1u);
  const std::string ts = h.at("x-zm-request-timestamp");
  int64_t ts_s = 0;
  BOOST_TEST_REQUIRE(!ts.empty());
  BOOST_TEST_REQUIRE(ts.find_first_not_of("0123456789") == std::string::npos, ts);
  ts_s = std::stoll(ts);
  BOOST_TEST(std::llabs(ts_s - static_cast<int64_t>(std::time(nullptr))) < 300, "timestamp " << ts);
  const std::string want = "v0=" + crypto::hmac_sha256_hex(secret, "v0:" + ts + ":" + body);
  BOOST_TEST(h.at("x-zm-signature") == want);
  // A signature over another timestamp must differ (the timestamp is signed).
  BOOST_TEST(h.at("x-zm-signature") != "v0=" + crypto::hmac_sha256_hex(secret, "v0:" + std::to_string(ts_s + 1) + ":" + body));
  BOOST_TEST(h.count("x-zm-trackingid") == 1u);
  BOOST_TEST(h.at("content-type").find("application/json") == 0u);
}

struct Init {
  Init() { http_client::global_init(); }
};
BOOST_GLOBAL_FIXTURE(Init);

}  // namespace

/* ================================================================ tokens */

BOOST_AUTO_TEST_CASE(token_errors_follow_zoom) {
  const auto& c = cfg();
  const int64_t errors_before = counter("token_errors");
  auto r = token_request(good_query(), "", c.zoom_client_id, c.zoom_client_secret + "x");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["error"].asString() == "invalid_client");
  BOOST_TEST(r.json()["reason"].asString() == "Invalid client_id or client_secret");

  r = token_request(good_query(), "", "", "");  // no Basic auth at all
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["error"].asString() == "invalid_client");

  r = token_request("grant_type=account_credentials&account_id=not-" + c.zoom_account_id, "", c.zoom_client_id,
                    c.zoom_client_secret);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["error"].asString() == "invalid_request");
  BOOST_TEST(r.json()["reason"].asString() == "Invalid Account Id");

  r = token_request("account_id=" + c.zoom_account_id, "", c.zoom_client_id, c.zoom_client_secret);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["error"].asString() == "unsupported_grant_type");
  r = token_request("grant_type=client_credentials&account_id=" + c.zoom_account_id, "", c.zoom_client_id,
                    c.zoom_client_secret);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["error"].asString() == "unsupported_grant_type");
  BOOST_TEST(r.json().isMember("access_token") == false);
  BOOST_TEST(counter("token_errors") >= errors_before + 5);
}

BOOST_AUTO_TEST_CASE(token_from_query_or_form_and_several_valid) {
  const auto& c = cfg();
  const int64_t issued_before = counter("tokens_issued");
  auto q = token_request(good_query(), "", c.zoom_client_id, c.zoom_client_secret);
  BOOST_TEST_REQUIRE(q.status == 200, q.body);
  auto f = token_request("", good_query(), c.zoom_client_id, c.zoom_client_secret);  // Rivet: form body
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  const Json::Value t = q.json();
  BOOST_TEST(t["token_type"].asString() == "bearer");
  BOOST_TEST(t["expires_in"].isIntegral());
  BOOST_TEST(t["expires_in"].asInt64() == 3599);
  BOOST_TEST(t["scope"].isString());
  BOOST_TEST(t["scope"].asString().find("meeting:write:meeting:admin") != std::string::npos);
  BOOST_TEST(t["api_url"].asString() == zoom_url());
  const std::string a = t["access_token"].asString(), b = f.json()["access_token"].asString();
  BOOST_TEST(!a.empty());
  BOOST_TEST(a != b);
  // Both stay valid at the same time.
  for (const auto& tok : {a, b}) {
    auto me = http("GET", zoom_url() + "/v2/users/me", bearer(tok));
    BOOST_TEST(me.status == 200, me.body);
    BOOST_TEST(me.json()["account_id"].asString() == c.zoom_account_id);
    BOOST_TEST(!me.json()["email"].asString().empty());
  }
  BOOST_TEST(counter("tokens_issued") == issued_before + 2);
}

BOOST_AUTO_TEST_CASE(unauthorized_without_or_with_expired_token) {
  const int64_t before = counter("unauthorized_401");
  auto r = http("GET", zoom_url() + "/v2/users/me/meetings");
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["code"].asInt() == 124);
  BOOST_TEST(r.json()["message"].asString() == "Invalid access token.");
  r = http("GET", zoom_url() + "/v2/users/me/meetings", bearer("not-a-token"));
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["code"].asInt() == 124);

  // expire-tokens: every current token answers 401; a new one works.
  const std::string old_token = new_token();
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(old_token)).status == 200);
  auto e = control("POST", "expire-tokens");
  BOOST_TEST_REQUIRE(e.status == 200, e.body);
  BOOST_TEST(e.json()["expired"].asInt64() >= 1);
  r = http("GET", zoom_url() + "/v2/users/me", bearer(old_token));
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["code"].asInt() == 124);
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(new_token())).status == 200);

  // TTL and clock: a 60 s token dies when the clock moves 61 s on.
  BOOST_TEST_REQUIRE(control("POST", "token-ttl", "{\"ttl_s\":60}").status == 200);
  auto t = token_request(good_query(), "", cfg().zoom_client_id, cfg().zoom_client_secret);
  BOOST_TEST(t.json()["expires_in"].asInt64() == 60);
  const std::string short_token = t.json()["access_token"].asString();
  const std::string long_token = [] {
    control("POST", "token-ttl", "{\"ttl_s\":null}");
    return new_token();
  }();
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(short_token)).status == 200);
  BOOST_TEST_REQUIRE(control("POST", "clock", "{\"advance_s\":61}").status == 200);
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(short_token)).status == 401);
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(long_token)).status == 200);
  BOOST_TEST_REQUIRE(control("POST", "clock", "{\"offset_s\":0}").status == 200);
  BOOST_TEST(control("GET", "state").json()["token_ttl_s"].asInt64() == 3599);
  BOOST_TEST(counter("unauthorized_401") >= before + 4);
}

BOOST_AUTO_TEST_CASE(missing_scope_is_4711) {
  BOOST_TEST_REQUIRE(control("POST", "scopes", "{\"scopes\":[\"meeting:read:meeting:admin\"]}").status == 200);
  const std::string token = new_token();
  BOOST_TEST_REQUIRE(control("POST", "scopes", "{\"scopes\":null}").status == 200);
  auto r = http("POST", zoom_url() + "/v2/users/me/meetings", bearer(token), "{\"topic\":\"x\"}");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["code"].asInt() == 4711);
  BOOST_TEST(r.json()["message"].asString().find("does not contain scopes") != std::string::npos);
  // The restored scopes apply to new tokens.
  create_meeting(new_token(), "{\"topic\":\"scopes back\"}");
}

/* ============================================================== meetings */

BOOST_AUTO_TEST_CASE(meeting_round_trip_create_get_patch_delete) {
  const std::string token = new_token();
  const int64_t created_before = counter("meetings_created");
  Json::Value m = create_meeting(token,
                                 "{\"topic\":\"Coaching: Alice x Bob\",\"type\":2,\"start_time\":\"2030-01-15T10:00:00\","
                                 "\"timezone\":\"Europe/Berlin\",\"duration\":60,\"agenda\":\"Booking #42\","
                                 "\"password\":\"k3Yp9Q\",\"settings\":{\"waiting_room\":true,\"host_video\":true}}");
  const int64_t id = m["id"].asInt64();
  BOOST_TEST(m["id"].isIntegral());
  BOOST_TEST(id >= 10000000000LL);  // 11 digits, beyond 32 bits
  BOOST_TEST(id <= 99999999999LL);
  BOOST_TEST(!m["uuid"].asString().empty());
  BOOST_TEST(!m["host_id"].asString().empty());
  BOOST_TEST(m["topic"].asString() == "Coaching: Alice x Bob");
  BOOST_TEST(m["type"].asInt() == 2);
  BOOST_TEST(m["status"].asString() == "waiting");
  BOOST_TEST(m["start_time"].asString() == "2030-01-15T09:00:00Z");  // Berlin wall time -> UTC
  BOOST_TEST(m["timezone"].asString() == "Europe/Berlin");
  BOOST_TEST(m["duration"].asInt() == 60);
  BOOST_TEST(m["agenda"].asString() == "Booking #42");
  BOOST_TEST(m["password"].asString() == "k3Yp9Q");
  BOOST_TEST(!m["h323_password"].asString().empty());
  BOOST_TEST(!m["encrypted_password"].asString().empty());
  BOOST_TEST(m["creation_source"].asString() == "open_api");
  BOOST_TEST(m["pre_schedule"].asBool() == false);
  BOOST_TEST(!m["created_at"].asString().empty());
  const std::string join = m["join_url"].asString();
  BOOST_TEST(join == zoom_url() + "/j/" + std::to_string(id) + "?pwd=" + m["encrypted_password"].asString());
  BOOST_TEST(m["start_url"].asString().rfind(zoom_url() + "/s/" + std::to_string(id) + "?zak=", 0) == 0u);
  // Settings: what was sent, merged with defaults.
  BOOST_TEST(m["settings"]["waiting_room"].asBool() == true);
  BOOST_TEST(m["settings"]["host_video"].asBool() == true);
  BOOST_TEST(m["settings"]["join_before_host"].asBool() == false);
  BOOST_TEST(m["settings"]["auto_recording"].asString() == "none");
  BOOST_TEST(m["settings"]["approval_type"].asInt() == 2);
  BOOST_TEST(counter("meetings_created") == created_before + 1);

  // The join link is a page of the emulator; a wrong pwd is refused.
  BOOST_TEST(http("GET", join).status == 200);
  BOOST_TEST(http("GET", zoom_url() + "/j/" + std::to_string(id) + "?pwd=wrong").status == 403);
  BOOST_TEST(http("GET", m["start_url"].asString()).status == 200);

  const std::string url = zoom_url() + "/v2/meetings/" + std::to_string(id);
  auto g = http("GET", url, bearer(token));
  BOOST_TEST_REQUIRE(g.status == 200, g.body);
  BOOST_TEST(g.json()["id"].asInt64() == id);
  BOOST_TEST(g.json()["uuid"].asString() == m["uuid"].asString());
  BOOST_TEST(g.json()["join_url"].asString() == join);
  BOOST_TEST(g.json()["status"].asString() == "waiting");

  // PATCH: partial, 204 without a body, settings deep-merged.
  auto p = http("PATCH", url, bearer(token),
                "{\"duration\":90,\"start_time\":\"2030-01-16T12:30:00Z\",\"settings\":{\"auto_recording\":\"cloud\"}}");
  BOOST_TEST(p.status == 204);
  BOOST_TEST(p.body.empty());
  g = http("GET", url, bearer(token));
  BOOST_TEST(g.json()["duration"].asInt() == 90);
  BOOST_TEST(g.json()["start_time"].asString() == "2030-01-16T12:30:00Z");
  BOOST_TEST(g.json()["topic"].asString() == "Coaching: Alice x Bob");
  BOOST_TEST(g.json()["settings"]["auto_recording"].asString() == "cloud");
  BOOST_TEST(g.json()["settings"]["waiting_room"].asBool() == true);
  BOOST_TEST(g.json()["join_url"].asString() == join);

  // Listed for its host while it exists.
  auto list_has = [&](int64_t want) {
    std::string next;
    for (int page = 0; page < 100; ++page) {
      auto l = http("GET", zoom_url() + "/v2/users/me/meetings?page_size=300" +
                               (next.empty() ? "" : "&next_page_token=" + next), bearer(token));
      BOOST_TEST_REQUIRE(l.status == 200, l.body);
      const Json::Value body = l.json();  // keep it alive for the loop
      for (const auto& it : body["meetings"]) if (it["id"].asInt64() == want) return true;
      next = body["next_page_token"].asString();
      if (next.empty()) return false;
    }
    return false;
  };
  BOOST_TEST(list_has(id));

  auto d = http("DELETE", url, bearer(token));
  BOOST_TEST(d.status == 204);
  BOOST_TEST(d.body.empty());
  g = http("GET", url, bearer(token));
  BOOST_TEST(g.status == 404);
  BOOST_TEST(g.json()["code"].asInt() == 3001);
  BOOST_TEST(g.json()["message"].asString() == "Meeting does not exist: " + std::to_string(id) + ".");
  d = http("DELETE", url, bearer(token));
  BOOST_TEST(d.status == 404);
  BOOST_TEST(d.json()["code"].asInt() == 3001);
  BOOST_TEST(http("PATCH", url, bearer(token), "{\"duration\":30}").status == 404);
  BOOST_TEST(!list_has(id));
}

BOOST_AUTO_TEST_CASE(users_known_and_unknown) {
  const std::string token = new_token();
  auto me = http("GET", zoom_url() + "/v2/users/me", bearer(token));
  BOOST_TEST_REQUIRE(me.status == 200, me.body);
  const std::string email = me.json()["email"].asString(), uid = me.json()["id"].asString();
  // The owner by e-mail (any case) and by id is the same host as "me".
  Json::Value a = create_meeting(token, "{\"topic\":\"by email\"}", email);
  BOOST_TEST(a["host_id"].asString() == uid);
  BOOST_TEST(a["host_email"].asString() == email);
  BOOST_TEST(a["type"].asInt() == 2);
  BOOST_TEST(a["password"].asString().size() > 0u);  // generated passcode
  Json::Value b = create_meeting(token, "{\"topic\":\"by id\"}", uid);
  BOOST_TEST(b["host_id"].asString() == uid);
  auto r = http("POST", zoom_url() + "/v2/users/nobody-" + crypto::random_hex(4) + "@example.test/meetings",
                bearer(token), "{\"topic\":\"x\"}");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["code"].asInt() == 1001);
  BOOST_TEST(r.json()["message"].asString().find("User does not exist: nobody-") == 0u);
  r = http("GET", zoom_url() + "/v2/users/unknown-user-id", bearer(token));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["code"].asInt() == 1001);
}

BOOST_AUTO_TEST_CASE(validation_errors_are_code_300) {
  const std::string token = new_token();
  const std::string create = zoom_url() + "/v2/users/me/meetings";
  const int64_t before = counter("validation_errors_300");
  auto r = http("POST", create, bearer(token), "{\"topic\":");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["code"].asInt() == 300);
  BOOST_TEST(r.json()["message"].asString() == "Request Body should be a valid JSON object.");
  r = http("POST", create, bearer(token), "[1,2]");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["code"].asInt() == 300);

  struct Case { const char* body; const char* field; };
  const Case cases[] = {
      {"{\"type\":4}", "type"},
      {"{\"type\":\"2\"}", "type"},
      {"{\"start_time\":\"2030-13-01T10:00:00Z\"}", "start_time"},
      {"{\"start_time\":\"next tuesday\"}", "start_time"},
      {"{\"start_time\":\"2030-01-01T10:00:00+01:00\"}", "start_time"},
      {"{\"duration\":0}", "duration"},
      {"{\"duration\":-5}", "duration"},
      {"{\"duration\":\"60\"}", "duration"},
      {"{\"duration\":1.5}", "duration"},
      {"{\"password\":\"elevenchars\"}", "password"},
      {"{\"password\":\"bad pass\"}", "password"},
      {"{\"timezone\":\"Mars/Olympus\"}", "timezone"},
      {"{\"settings\":{\"auto_recording\":\"tape\"}}", "settings.auto_recording"},
      {"{\"settings\":{\"waiting_room\":\"yes\"}}", "settings.waiting_room"},
      {"{\"settings\":{\"jbh_time\":7}}", "settings.jbh_time"},
      {"{\"settings\":[]}", "settings"},
  };
  for (const auto& cs : cases) {
    r = http("POST", create, bearer(token), cs.body);
    BOOST_TEST(r.status == 400, cs.body);
    BOOST_TEST(r.json()["code"].asInt() == 300, cs.body);
    BOOST_TEST(r.json()["message"].asString() == "Validation Failed.", cs.body);
    BOOST_TEST(has_error_field(r.json(), cs.field), cs.body << " -> " << r.body);
  }
  // Several bad fields are all named.
  r = http("POST", create, bearer(token), "{\"type\":9,\"duration\":0,\"password\":\"12345678901\"}");
  BOOST_TEST(has_error_field(r.json(), "type"));
  BOOST_TEST(has_error_field(r.json(), "duration"));
  BOOST_TEST(has_error_field(r.json(), "password"));
  // The allowed passcode characters pass.
  Json::Value ok = create_meeting(token, "{\"password\":\"a@-_*Z9\",\"start_time\":\"2030-02-01T08:00:00Z\"}");
  BOOST_TEST(ok["password"].asString() == "a@-_*Z9");

  // A bad PATCH changes nothing.
  const std::string url = zoom_url() + "/v2/meetings/" + std::to_string(ok["id"].asInt64());
  r = http("PATCH", url, bearer(token), "{\"topic\":\"new\",\"duration\":0}");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(has_error_field(r.json(), "duration"));
  BOOST_TEST(http("GET", url, bearer(token)).json()["topic"].asString() == ok["topic"].asString());
  r = http("PATCH", url, bearer(token), "not json");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["code"].asInt() == 300);

  r = http("GET", zoom_url() + "/v2/meetings/12345678901", bearer(token));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["code"].asInt() == 3001);
  r = http("GET", zoom_url() + "/v2/users/me/meetings?page_size=0", bearer(token));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.json()["code"].asInt() == 300);
  BOOST_TEST(counter("validation_errors_300") >= before + 20);
}

BOOST_AUTO_TEST_CASE(list_pages_with_next_page_token) {
  const std::string token = new_token();
  for (int i = 0; i < 3; ++i) create_meeting(token, "{\"topic\":\"page " + std::to_string(i) + "\"}");
  std::set<int64_t> seen;
  std::string next;
  int64_t total = -1;
  for (int page = 0; page < 1000; ++page) {
    auto l = http("GET", zoom_url() + "/v2/users/me/meetings?page_size=2" + (next.empty() ? "" : "&next_page_token=" + next),
                  bearer(token));
    BOOST_TEST_REQUIRE(l.status == 200, l.body);
    const Json::Value body = l.json();
    BOOST_TEST(body["meetings"].size() <= 2u);
    BOOST_TEST(body["page_size"].asInt() == 2);
    total = body["total_records"].asInt64();
    for (const auto& it : body["meetings"]) BOOST_TEST(seen.insert(it["id"].asInt64()).second);
    next = body["next_page_token"].asString();
    if (next.empty()) break;
  }
  BOOST_TEST(static_cast<int64_t>(seen.size()) == total);
  BOOST_TEST(total >= 3);
  auto bad = http("GET", zoom_url() + "/v2/users/me/meetings?next_page_token=garbage!", bearer(token));
  BOOST_TEST(bad.status == 400);
}

/* ================================================================ faults */

BOOST_AUTO_TEST_CASE(faults_status_retry_after_and_drop) {
  const std::string token = new_token();
  auto f = control("POST", "faults", "{\"path_prefix\":\"/v2/users/me\",\"method\":\"GET\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  auto r = http("GET", zoom_url() + "/v2/users/me", bearer(token));
  BOOST_TEST(r.status == 503);
  BOOST_TEST(r.json().isMember("code"));
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(token)).status == 200);  // count used up

  control("POST", "faults", "{\"path_prefix\":\"/v2/users/me\",\"status\":429,\"retry_after_s\":2}");
  r = http("GET", zoom_url() + "/v2/users/me", bearer(token));
  BOOST_TEST(r.status == 429);
  BOOST_TEST(r.headers["retry-after"] == "2");

  control("POST", "faults", "{\"path_prefix\":\"/oauth/token\",\"status\":500}");
  r = token_request(good_query(), "", cfg().zoom_client_id, cfg().zoom_client_secret);
  BOOST_TEST(r.status == 500);
  BOOST_TEST(r.json().isMember("error"));

  const int64_t dropped = counter("connections_dropped");
  control("POST", "faults", "{\"path_prefix\":\"/v2/users/me\",\"action\":\"drop\"}");
  BOOST_CHECK_THROW(http("GET", zoom_url() + "/v2/users/me", bearer(token)), std::runtime_error);
  BOOST_TEST(counter("connections_dropped") == dropped + 1);
  BOOST_TEST(http("GET", zoom_url() + "/v2/users/me", bearer(token)).status == 200);

  BOOST_TEST(control("POST", "faults", "{\"path_prefix\":\"v2\",\"status\":500}").status == 400);
  BOOST_TEST(control("POST", "faults", "{\"path_prefix\":\"/v2\",\"status\":200}").status == 400);
  BOOST_TEST(control("POST", "faults", "not json").status == 400);
  BOOST_TEST(control("GET", "faults").json()["faults"].size() == 0u);
}

/* ============================================================== webhooks */

BOOST_AUTO_TEST_CASE(webhooks_validated_then_signed_events) {
  const std::string secret = "test-endpoint-secret-" + crypto::random_hex(8);
  Receiver rx;
  std::atomic<int> fail_next_event{0}, accept_next_start{1};
  rx.respond = [&](const Received& r) -> std::pair<int, std::string> {
    if (event_of(r) == "endpoint.url_validation") return validation_answer(r, secret);
    if (event_of(r) == "meeting.updated" && fail_next_event.exchange(0) == 1) return {500, "{}"};
    if (event_of(r) == "meeting.started" && accept_next_start.exchange(0) == 1) return {202, ""};  // only 200/204 count
    return {200, ""};
  };
  auto add = control("POST", "webhook-endpoints", "{\"url\":\"" + rx.url() + "\",\"secret\":\"" + secret + "\"}");
  BOOST_TEST_REQUIRE(add.status == 201, add.body);
  const std::string ep = add.json()["endpoint"]["id"].asString();
  BOOST_TEST(add.json()["endpoint"]["validation"].asString() == "pending");
  struct Cleanup {
    std::string ep;
    ~Cleanup() { control("DELETE", "webhook-endpoints/" + ep); }
  } cleanup{ep};

  const std::string token = new_token();
  Json::Value m = create_meeting(token, "{\"topic\":\"Webhook meeting\",\"start_time\":\"2030-03-01T10:00:00Z\",\"duration\":30}");
  const int64_t id = m["id"].asInt64();
  const std::string sid = std::to_string(id);
  fail_next_event = 1;  // the first meeting.updated answers 500 and must be retried
  BOOST_TEST(http("PATCH", zoom_url() + "/v2/meetings/" + sid, bearer(token), "{\"topic\":\"Renamed\"}").status == 204);
  BOOST_TEST_REQUIRE(control("POST", "meetings/" + sid + "/start").status == 200);
  auto j = control("POST", "meetings/" + sid + "/participants",
                   "{\"action\":\"join\",\"user_name\":\"Agent Sam\",\"email\":\"sam@example.test\"}");
  BOOST_TEST_REQUIRE(j.status == 200, j.body);
  const std::string puid = j.json()["participant"]["user_id"].asString();
  BOOST_TEST(control("POST", "meetings/" + sid + "/participants",
                     "{\"action\":\"leave\",\"user_id\":\"" + puid + "\"}").status == 200);
  BOOST_TEST(control("POST", "meetings/" + sid + "/end").status == 200);
  BOOST_TEST(http("DELETE", zoom_url() + "/v2/meetings/" + sid, bearer(token)).status == 204);

  const std::vector<std::string> expected = {"meeting.created", "meeting.updated", "meeting.started",
                                             "meeting.participant_joined", "meeting.participant_left",
                                             "meeting.ended", "meeting.deleted"};
  auto of_meeting = [&](const std::vector<Received>& all) {
    std::vector<Received> out;
    for (const auto& r : all) {
      auto b = json::parse(r.body);
      if (!b) continue;
      const Json::Value& o = (*b)["payload"]["object"];
      if (o["id"].asString() == sid || (o["id"].isIntegral() && o["id"].asInt64() == id)) out.push_back(r);
    }
    return out;
  };
  // Every event arrives; meeting.updated (500) and meeting.started (202) twice.
  const bool all_arrived = rx.wait_for([&](const std::vector<Received>& all) {
    auto mine = of_meeting(all);
    for (const auto& ev : expected) {
      const auto n = std::count_if(mine.begin(), mine.end(), [&](const Received& r) { return event_of(r) == ev; });
      if (n < (ev == "meeting.updated" || ev == "meeting.started" ? 2 : 1)) return false;
    }
    return true;
  }, 30);
  BOOST_TEST_REQUIRE(all_arrived, "received " << rx.received().size() << " requests");

  const auto all = rx.received();
  BOOST_TEST_REQUIRE(!all.empty());
  BOOST_TEST(event_of(all.front()) == "endpoint.url_validation");  // validation before the first event
  for (const auto& r : all) {
    check_signed(r.headers, r.body, secret);
    BOOST_TEST(r.headers.at("user-agent") == "Zoom Marketplace/1.0a");
    BOOST_TEST(r.body.find('\n') == std::string::npos);  // compact JSON
    auto b = json::parse(r.body);
    BOOST_TEST_REQUIRE(bool(b));
    BOOST_TEST((*b)["event_ts"].isIntegral());
    BOOST_TEST((*b)["event_ts"].asInt64() > 1700000000000LL);  // milliseconds
  }
  std::map<std::string, Json::Value> by_event;
  std::vector<std::string> bodies_updated;
  for (const auto& r : of_meeting(all)) {
    by_event[event_of(r)] = *json::parse(r.body);
    if (event_of(r) == "meeting.updated") bodies_updated.push_back(r.body);
  }
  BOOST_TEST_REQUIRE(bodies_updated.size() >= 2u);
  BOOST_TEST(bodies_updated[0] == bodies_updated[1]);  // a retry resends the same bytes
  for (const auto& [ev, b] : by_event) BOOST_TEST(b["payload"]["account_id"].asString() == cfg().zoom_account_id, ev);
  // created/updated/deleted: numeric id and an operator; live events: string id.
  const Json::Value& created = by_event["meeting.created"]["payload"];
  BOOST_TEST(created["object"]["id"].isIntegral());
  BOOST_TEST(created["object"]["uuid"].asString() == m["uuid"].asString());
  BOOST_TEST(created["object"]["topic"].asString() == "Webhook meeting");
  BOOST_TEST(created["operator_id"].asString() == m["host_id"].asString());
  const Json::Value& updated = by_event["meeting.updated"]["payload"];
  BOOST_TEST(updated["object"]["topic"].asString() == "Renamed");
  BOOST_TEST(updated["old_object"]["topic"].asString() == "Webhook meeting");
  BOOST_TEST(updated["time_stamp"].isIntegral());
  BOOST_TEST(by_event["meeting.deleted"]["payload"]["object"]["id"].isIntegral());
  for (const char* ev : {"meeting.started", "meeting.ended", "meeting.participant_joined", "meeting.participant_left"}) {
    const Json::Value& o = by_event[ev]["payload"]["object"];
    BOOST_TEST(o["id"].isString(), ev);
    BOOST_TEST(o["id"].asString() == sid, ev);
    BOOST_TEST(o["host_id"].asString() == m["host_id"].asString(), ev);
    BOOST_TEST(o["duration"].asInt() == 30, ev);
    BOOST_TEST(!o["uuid"].asString().empty(), ev);
  }
  BOOST_TEST(by_event["meeting.ended"]["payload"]["object"].isMember("end_time"));
  const Json::Value& joined = by_event["meeting.participant_joined"]["payload"]["object"]["participant"];
  BOOST_TEST(joined["user_name"].asString() == "Agent Sam");
  BOOST_TEST(joined["email"].asString() == "sam@example.test");
  BOOST_TEST(joined["user_id"].asString() == puid);
  BOOST_TEST(!joined["join_time"].asString().empty());
  const Json::Value& left = by_event["meeting.participant_left"]["payload"]["object"]["participant"];
  BOOST_TEST(left["user_id"].asString() == puid);
  BOOST_TEST(!left["leave_time"].asString().empty());

  // The delivery log shows the same requests, with headers to verify, and
  // the failed first attempt of meeting.updated followed by attempt 2.
  auto log = control("GET", "deliveries?endpoint_id=" + ep).json()["deliveries"];
  BOOST_TEST_REQUIRE(log.size() >= 8u);
  bool saw_failed_update = false, saw_retry_ok = false, saw_202_failed = false;
  for (const auto& d : log) {
    std::map<std::string, std::string> h;
    for (const auto& k : d["headers"].getMemberNames()) h[k] = d["headers"][k].asString();
    if (d["status"].isNull()) continue;  // not sent
    check_signed(h, d["body"].asString(), secret);
    if (d["event"].asString() == "meeting.updated" && d["body"].asString() == bodies_updated[0]) {
      if (d["attempt"].asInt() == 1 && d["outcome"].asString() == "failed" && d["status"].asInt() == 500) saw_failed_update = true;
      if (d["attempt"].asInt() == 2 && d["outcome"].asString() == "ok") saw_retry_ok = true;
    }
    if (d["event"].asString() == "meeting.started" && d["attempt"].asInt() == 1 && d["status"].asInt() == 202 &&
        d["outcome"].asString() == "failed") {
      saw_202_failed = true;
    }
  }
  BOOST_TEST(saw_failed_update);
  BOOST_TEST(saw_retry_ok);
  BOOST_TEST(saw_202_failed);
  auto eps = control("GET", "webhook-endpoints").json()["endpoints"];
  bool validated = false;
  for (const auto& e : eps) if (e["id"].asString() == ep) validated = e["validation"].asString() == "validated";
  BOOST_TEST(validated);
}

BOOST_AUTO_TEST_CASE(webhook_wrong_validation_answer_blocks_events) {
  const std::string secret = "test-secret-" + crypto::random_hex(8);
  Receiver rx;
  std::atomic<bool> answer_right{false};
  rx.respond = [&](const Received& r) -> std::pair<int, std::string> {
    if (event_of(r) != "endpoint.url_validation") return {200, ""};
    if (answer_right) return validation_answer(r, secret);
    return validation_answer(r, secret + "-wrong");  // encryptedToken with another key
  };
  auto add = control("POST", "webhook-endpoints",
                     "{\"url\":\"" + rx.url() + "\",\"secret\":\"" + secret + "\",\"events\":[\"meeting.created\"]}");
  BOOST_TEST_REQUIRE(add.status == 201, add.body);
  const std::string ep = add.json()["endpoint"]["id"].asString();
  struct Cleanup {
    std::string ep;
    ~Cleanup() { control("DELETE", "webhook-endpoints/" + ep); }
  } cleanup{ep};

  auto v = control("POST", "webhook/validate", "{\"endpoint_id\":\"" + ep + "\"}");
  BOOST_TEST_REQUIRE(v.status == 200, v.body);
  BOOST_TEST(v.json()["validated"].asBool() == false);
  BOOST_TEST(v.json()["error"].asString().find("encryptedToken") != std::string::npos);

  const std::string token = new_token();
  Json::Value m = create_meeting(token, "{\"topic\":\"blocked\"}");
  // The event is not sent while validation fails: the log shows a failed,
  // unsent attempt and the receiver only ever saw validation requests.
  const std::string sid = std::to_string(m["id"].asInt64());
  bool unsent = false;
  for (int i = 0; i < 100 && !unsent; ++i) {
    const Json::Value log = control("GET", "deliveries?kind=event&endpoint_id=" + ep).json();
    for (const auto& d : log["deliveries"]) {
      if (d["body"].asString().find(sid) != std::string::npos && d["outcome"].asString() == "failed" &&
          d["status"].isNull()) {
        unsent = true;
      }
    }
    if (!unsent) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(unsent);
  for (const auto& r : rx.received()) BOOST_TEST(event_of(r) == "endpoint.url_validation");

  // Once the receiver answers right, validation passes and the retry delivers.
  answer_right = true;
  v = control("POST", "webhook/validate", "{\"endpoint_id\":\"" + ep + "\"}");
  BOOST_TEST(v.json()["validated"].asBool() == true, v.body);
  BOOST_TEST(rx.wait_for([&](const std::vector<Received>& all) {
    for (const auto& r : all) if (event_of(r) == "meeting.created" && r.body.find(sid) != std::string::npos) return true;
    return false;
  }, 20));
  BOOST_TEST(control("POST", "webhook/validate", "{\"endpoint_id\":\"nope\"}").status == 404);
}

BOOST_AUTO_TEST_CASE(stack_endpoint_attempts_are_signed_with_the_configured_secret) {
  // The stack's own endpoint (/api/zoom/webhook, built elsewhere) may or may
  // not answer yet; whatever was sent to it is signed with zoom-webhook-secret.
  const std::string since = control("GET", "deliveries?endpoint_id=primary").json()["last_seq"].asString();
  // A re-validation is asked for, so at least one signed request goes out even
  // when the endpoint validated long ago and events are all that is pending.
  control("POST", "webhook/validate", "{\"endpoint_id\":\"primary\"}");
  create_meeting(new_token(), "{\"topic\":\"for the stack endpoint\"}");
  Json::Value log;
  for (int i = 0; i < 100; ++i) {
    log = control("GET", "deliveries?endpoint_id=primary&since_seq=" + since).json()["deliveries"];
    bool any_sent = false;
    for (const auto& d : log) if (!d["status"].isNull() || d["kind"].asString() == "validation") any_sent = true;
    if (any_sent) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int n_checked = 0;
  for (const auto& d : log) {
    if (d["headers"].empty()) continue;  // not sent (endpoint not validated)
    std::map<std::string, std::string> h;
    for (const auto& k : d["headers"].getMemberNames()) h[k] = d["headers"][k].asString();
    check_signed(h, d["body"].asString(), cfg().zoom_webhook_secret);
    ++n_checked;
  }
  BOOST_TEST(n_checked > 0);
  auto state = control("GET", "state").json();
  BOOST_TEST(state["webhook_endpoints"][0]["id"].asString() == "primary");
  BOOST_TEST(state["webhook_endpoints"][0]["url"].asString().find("/api/zoom/webhook") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(live_controls_need_a_started_meeting) {
  const std::string token = new_token();
  const std::string sid = std::to_string(create_meeting(token, "{\"topic\":\"live\"}")["id"].asInt64());
  BOOST_TEST(control("POST", "meetings/" + sid + "/participants", "{\"action\":\"join\",\"user_name\":\"A\"}").status == 409);
  BOOST_TEST(control("POST", "meetings/" + sid + "/end").status == 409);
  BOOST_TEST(control("POST", "meetings/" + sid + "/start").status == 200);
  BOOST_TEST(control("POST", "meetings/" + sid + "/start").status == 409);
  auto g = http("GET", zoom_url() + "/v2/meetings/" + sid, bearer(token));
  BOOST_TEST(g.json()["status"].asString() == "started");
  BOOST_TEST(control("POST", "meetings/" + sid + "/participants", "{\"action\":\"wave\"}").status == 400);
  BOOST_TEST(control("POST", "meetings/" + sid + "/participants", "{\"action\":\"join\"}").status == 400);
  BOOST_TEST(control("POST", "meetings/" + sid + "/participants",
                     "{\"action\":\"leave\",\"user_name\":\"never joined\"}").status == 409);
  BOOST_TEST(control("POST", "meetings/" + sid + "/end").status == 200);
  g = http("GET", zoom_url() + "/v2/meetings/" + sid, bearer(token));
  BOOST_TEST(g.json()["status"].asString() == "waiting");
  BOOST_TEST(control("POST", "meetings/99999999999/start").status == 404);
  BOOST_TEST(control("GET", "health").status == 200);
}

BOOST_AUTO_TEST_CASE(slow_answer_counts_as_failure_and_is_retried) {
  const std::string secret = "slow-secret-" + crypto::random_hex(8);
  Receiver rx;
  std::atomic<int> slow_next{1};
  rx.respond = [&](const Received& r) -> std::pair<int, std::string> {
    if (event_of(r) == "endpoint.url_validation") return validation_answer(r, secret);
    if (slow_next.exchange(0) == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3600));  // > 3 s limit
    return {200, ""};
  };
  auto add = control("POST", "webhook-endpoints",
                     "{\"url\":\"" + rx.url() + "\",\"secret\":\"" + secret + "\",\"events\":[\"meeting.created\"]}");
  BOOST_TEST_REQUIRE(add.status == 201, add.body);
  const std::string ep = add.json()["endpoint"]["id"].asString();
  struct Cleanup {
    std::string ep;
    ~Cleanup() { control("DELETE", "webhook-endpoints/" + ep); }
  } cleanup{ep};
  const std::string sid = std::to_string(create_meeting(new_token(), "{\"topic\":\"slow\"}")["id"].asInt64());
  // Both attempts reach the receiver with the same body; only the second counts.
  BOOST_TEST_REQUIRE(rx.wait_for([&](const std::vector<Received>& all) {
    int n = 0;
    for (const auto& r : all) if (event_of(r) == "meeting.created" && r.body.find(sid) != std::string::npos) ++n;
    return n >= 2;
  }, 30));
  bool first_failed = false, second_ok = false;
  for (int i = 0; i < 50 && !second_ok; ++i) {
    const Json::Value log = control("GET", "deliveries?kind=event&endpoint_id=" + ep).json();
    for (const auto& d : log["deliveries"]) {
      if (d["body"].asString().find(sid) == std::string::npos) continue;
      if (d["attempt"].asInt() == 1 && d["outcome"].asString() == "failed") first_failed = true;
      if (d["attempt"].asInt() == 2 && d["outcome"].asString() == "ok") second_ok = true;
    }
    if (!second_ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(first_failed);
  BOOST_TEST(second_ok);
}

BOOST_AUTO_TEST_CASE(test_verifier_matches_the_reference_examples) {
  // Reference §2.5 worked examples: the HMAC the tests above recompute.
  const std::string body =
      "{\"event\":\"meeting.started\",\"event_ts\":1700000000123,\"payload\":{\"account_id\":\"acc_1\",\"object\":{\"id\":"
      "\"85746065432\",\"uuid\":\"4444AAAiAAAAAiAiAiiAii==\",\"host_id\":\"host_1\",\"topic\":\"Coaching: Alice x Bob\","
      "\"type\":2,\"start_time\":\"2023-11-14T22:13:20Z\",\"timezone\":\"UTC\",\"duration\":60}}}";
  BOOST_TEST("v0=" + crypto::hmac_sha256_hex("zm_secret_token_EXAMPLE", "v0:1700000000:" + body) ==
             "v0=51c499f4b1b8d5916378f5df1d812d8b47e5b3f5bdb0336021a70eb7b7e102c7");
  BOOST_TEST(crypto::hmac_sha256_hex("zm_secret_token_EXAMPLE", "qgg8vlvZRS6UYooatFL8Aw") ==
             "17f5966993bf719b691c69b057b48b8139b89c0694f65c7000ff8aa1a5ce5498");
}
