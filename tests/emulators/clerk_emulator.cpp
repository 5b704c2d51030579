/* clerk_emulator.cpp: a local stand-in for a Clerk instance's Frontend API, for
 * local mode and tests. It serves the JWKS, a demo sign-in page that issues
 * RS256 session tokens in the __session cookie (as Clerk's own sign-in does),
 * sign-out, and /_emulator/ control endpoints that let tests mint expired,
 * pending or otherwise wrong tokens and rotate the signing key.
 *
 * Run: clerk_emulator --port 18084 --authorized-party http://localhost:8080
 *        [--issuer URL] [--allowed-redirect-origin ORIGIN]... [--key-file PATH]
 *        [--users FILE] [--token-ttl-s N]
 * Listens on 127.0.0.1 only. With --port 0 it picks a free port; the first
 * line on stdout is always "clerk emulator listening on http://127.0.0.1:<port>". */
#include "html.hpp"
#include <httplib.h>
#include <json/json.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "crypto.hpp"
#include "emu_common.hpp"
#include "jwt.hpp"

namespace {

/* ----------------------------------------------------------------- config */

struct DemoUser {
  std::string id, email, name, role;
};

struct Config {
  int port = 18084;
  std::string issuer;                        // default http://127.0.0.1:<port>
  std::string authorized_party = "http://localhost:8080";
  std::vector<std::string> redirect_origins; // default: {authorized_party}
  std::string key_file;                      // "" = a new in-memory key per run
  std::string users_file;                    // "" = the built-in demo users
  int64_t token_ttl_s = 60;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "clerk_emulator: %s\n", msg.c_str());
  std::exit(2);
}

const char* k_usage =
    "usage: clerk_emulator [--port N] [--issuer URL] [--authorized-party ORIGIN]\n"
    "         [--allowed-redirect-origin ORIGIN]... [--key-file PATH] [--users FILE]\n"
    "         [--token-ttl-s N]\n";

bool parse_int(const std::string& s, int64_t lo, int64_t hi, int64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return false;
  }
  int64_t v = std::stoll(s);
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

/* An origin is scheme://host[:port] with nothing after it. */
bool is_origin(const std::string& s) {
  size_t p = s.find("://");
  if (p == std::string::npos || p == 0 || p + 3 >= s.size()) return false;
  const std::string scheme = s.substr(0, p);
  if (scheme != "http" && scheme != "https") return false;
  return s.find_first_of("/?#@ \t\r\n", p + 3) == std::string::npos;
}

/* Accepts "--flag value" and "--flag=value". Exits with a message on anything else. */
Config parse_flags(int argc, char** argv) {
  Config cfg;
  emu::FlagReader flags(argc, argv, "clerk_emulator", k_usage);
  while (flags.next()) {
    const std::string& flag = flags.flag();
    if (!flags.has_inline() && flags.asks_help()) flags.die("help");
    if (!flags.has_value()) flags.die("missing value for " + flag);
    const std::string value = flags.value();
    int64_t n = 0;
    if (flag == "--port") {
      if (!parse_int(value, 0, 65535, n)) flags.die("--port must be 0..65535, got '" + value + "'");
      cfg.port = int(n);
    } else if (flag == "--issuer") {
      if (!is_origin(value)) flags.die("--issuer must be an origin like https://clerk.example.test");
      cfg.issuer = value;
    } else if (flag == "--authorized-party") {
      if (!is_origin(value)) flags.die("--authorized-party must be an origin like http://localhost:8080");
      cfg.authorized_party = value;
    } else if (flag == "--allowed-redirect-origin") {
      if (!is_origin(value)) flags.die("--allowed-redirect-origin must be an origin, got '" + value + "'");
      cfg.redirect_origins.push_back(value);
    } else if (flag == "--key-file") {
      if (value.empty()) flags.die("--key-file needs a path");
      cfg.key_file = value;
    } else if (flag == "--users") {
      if (value.empty()) flags.die("--users needs a path");
      cfg.users_file = value;
    } else if (flag == "--token-ttl-s") {
      if (!parse_int(value, 1, 10LL * 365 * 24 * 3600, n)) flags.die("--token-ttl-s must be a positive number");
      cfg.token_ttl_s = n;
    } else {
      flags.die("unknown flag " + flag);
    }
  }
  if (cfg.redirect_origins.empty()) cfg.redirect_origins.push_back(cfg.authorized_party);
  return cfg;
}

/* ------------------------------------------------------------ small helpers */

int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string json_compact(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  return Json::writeString(b, v);
}

bool json_parse(const std::string& text, Json::Value& out) {
  Json::CharReaderBuilder b;
  Json::CharReaderBuilder::strictMode(&b.settings_);
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  std::string errs;
  return r->parse(text.data(), text.data() + text.size(), &out, &errs);
}

std::string html_escape(const std::string& s) { return coach::html::text(s); }

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = bool(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/* Writes a file readable only by its owner, atomically (temp file + rename). */
bool write_private_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t n_done = 0;
  while (n_done < data.size()) {
    ssize_t n = ::write(fd, data.data() + n_done, data.size() - n_done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    n_done += size_t(n);
  }
  bool ok = n_done == data.size() && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(tmp.c_str());
  return ok;
}

/* ------------------------------------------------------------------ state */

struct SigningKey {
  std::string kid;
  coach::jwt::RsaKey key;
};

/* The kid is derived from the key, so a reloaded key keeps its kid. */
std::string kid_for(const coach::jwt::RsaKey& key) {
  return "ins_" + coach::crypto::hex_encode(coach::crypto::sha256(key.public_pem())).substr(0, 16);
}

SigningKey new_signing_key() {
  auto k = coach::jwt::RsaKey::generate(2048);
  if (!k) die("cannot generate an RSA key: " + k.error().message);
  return SigningKey{kid_for(*k), *k};
}

/* Loads the key file, or creates it (mode 600) with a new key. */
SigningKey load_or_create_key(const std::string& path) {
  if (path.empty()) return new_signing_key();
  bool is_read = false;
  const std::string pem = read_file(path, is_read);
  if (is_read) {
    auto k = coach::jwt::RsaKey::from_private_pem(pem);
    if (!k) die("--key-file " + path + " is not an RSA private key PEM: " + k.error().message);
    return SigningKey{kid_for(*k), *k};
  }
  if (errno != ENOENT) die("cannot read --key-file " + path + ": " + std::strerror(errno));
  SigningKey sk = new_signing_key();
  if (!write_private_file(path, sk.key.private_pem())) {
    die("cannot write --key-file " + path + ": " + std::strerror(errno));
  }
  std::fprintf(stderr, "clerk_emulator: created signing key %s in %s\n", sk.kid.c_str(), path.c_str());
  return sk;
}

std::vector<DemoUser> default_users() {
  return {
      {"user_demo_coach_maria", "maria.coach@example.test", "Maria Lopez", "coach"},
      {"user_demo_client_sam", "sam.client@example.test", "Sam Taylor", "client"},
  };
}

std::vector<DemoUser> load_users(const std::string& path) {
  if (path.empty()) return default_users();
  bool is_read = false;
  const std::string text = read_file(path, is_read);
  if (!is_read) die("cannot read --users " + path + ": " + std::strerror(errno));
  Json::Value root;
  if (!json_parse(text, root) || !root.isArray()) die("--users " + path + " must be a JSON array");
  std::vector<DemoUser> users;
  for (const Json::Value& u : root) {
    auto str = [&](const char* f) { return u.isObject() && u[f].isString() ? u[f].asString() : ""; };
    DemoUser du{str("id"), str("email"), str("name"), str("role")};
    if (du.id.empty()) die("--users " + path + ": every user needs a string \"id\"");
    for (const auto& other : users) {
      if (other.id == du.id) die("--users " + path + ": duplicate id " + du.id);
    }
    if (du.role.empty()) du.role = "client";
    if (du.name.empty()) du.name = du.id;
    users.push_back(std::move(du));
  }
  return users;
}

/* Keys and users, shared by the server's threads under one mutex. */
class State {
 public:
  State(Config cfg, SigningKey key, std::vector<DemoUser> users)
      : cfg_(std::move(cfg)), users_(std::move(users)) {
    keys_.push_back(std::move(key));
  }

  const Config& cfg() const { return cfg_; }
  const std::vector<DemoUser>& users() const { return users_; }

  const DemoUser* find_user(const std::string& id) const {
    for (const auto& u : users_) {
      if (u.id == id) return &u;
    }
    return nullptr;
  }

  /* The current key and, after a rotation, the previous one. */
  std::string jwks() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, const coach::jwt::RsaKey*>> kid_keys;
    for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) kid_keys.emplace_back(it->kid, &it->key);
    return coach::jwt::jwks_json(kid_keys);
  }

  /* Signs payload with the current key, under kid_override if given. */
  std::string sign(const Json::Value& payload, const std::string& kid_override = "") {
    SigningKey current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      current = keys_.back();
    }
    return coach::jwt::sign_rs256(current.key, kid_override.empty() ? current.kid : kid_override,
                                  json_compact(payload));
  }

  /* Makes a new current key; keeps one previous. Saves it to the key file. */
  std::pair<std::string, std::string> rotate() {
    SigningKey fresh = new_signing_key();  // slow: outside the lock
    if (!cfg_.key_file.empty() && !write_private_file(cfg_.key_file, fresh.key.private_pem())) {
      std::fprintf(stderr, "clerk_emulator: warning: cannot save rotated key to %s\n",
                   cfg_.key_file.c_str());
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::string old_kid = keys_.back().kid;
    keys_.push_back(std::move(fresh));
    while (keys_.size() > 2) keys_.erase(keys_.begin());
    return {keys_.back().kid, old_kid};
  }

  /* redirect_url must be one of the allowed origins or lie under one: the
   * origin followed by '/', '?' or '#', so http://localhost:8080.evil.test
   * does not pass for http://localhost:8080. */
  bool is_allowed_redirect(const std::string& url) const {
    if (url.find_first_of("\r\n\t \\") != std::string::npos) return false;
    for (const auto& origin : cfg_.redirect_origins) {
      if (url == origin) return true;
      if (url.size() > origin.size() && url.compare(0, origin.size(), origin) == 0) {
        const char next = url[origin.size()];
        if (next == '/' || next == '?' || next == '#') return true;
      }
    }
    return false;
  }

  std::string default_redirect() const { return cfg_.redirect_origins.front() + "/"; }

 private:
  const Config cfg_;
  const std::vector<DemoUser> users_;
  std::mutex mu_;
  std::vector<SigningKey> keys_;  // back() is current
};

/* Claims for a token, Clerk v2 style. Overrides come from /_emulator/token. */
struct TokenSpec {
  std::string sub, sid, sts = "active";
  std::string azp, iss;               // set from config unless overridden
  bool omit_azp = false, omit_iss = false;
  int64_t ttl_s = 60;
  int64_t iat_offset_s = 0;
  int64_t nbf_offset_s = -10;         // Clerk backdates nbf by 10 s
  bool has_exp_offset = false;
  int64_t exp_offset_s = 0;
  Json::Value extra{Json::objectValue};
};

Json::Value build_claims(const State& st, const TokenSpec& spec) {
  const int64_t now = now_s();
  Json::Value c(Json::objectValue);
  c["sub"] = spec.sub;
  c["sid"] = spec.sid.empty() ? "sess_" + coach::crypto::random_hex(12) : spec.sid;
  c["sts"] = spec.sts;
  if (!spec.omit_iss) c["iss"] = spec.iss.empty() ? st.cfg().issuer : spec.iss;
  if (!spec.omit_azp) c["azp"] = spec.azp.empty() ? st.cfg().authorized_party : spec.azp;
  const int64_t iat = now + spec.iat_offset_s;
  c["iat"] = Json::Int64(iat);
  c["nbf"] = Json::Int64(now + spec.nbf_offset_s);
  c["exp"] = Json::Int64(spec.has_exp_offset ? now + spec.exp_offset_s : iat + spec.ttl_s);
  c["v"] = 2;
  c["fva"] = Json::Value(Json::arrayValue);
  c["fva"].append(0);
  c["fva"].append(-1);
  if (const DemoUser* u = st.find_user(spec.sub)) {
    if (!u->email.empty()) c["email"] = u->email;
    c["name"] = u->name;
  }
  for (const auto& name : spec.extra.getMemberNames()) c[name] = spec.extra[name];
  return c;
}

/* ------------------------------------------------------------------ pages */

std::string page(const std::string& title, const std::string& body_html) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + html_escape(title) + "</title>"
         "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
         "form{margin:.4rem 0}button{padding:.5rem 1rem;min-width:18rem;text-align:left}"
         ".note{color:#666;font-size:.9rem}</style></head>\n<body>\n<h1>" + html_escape(title) +
         "</h1>\n" + body_html + "</body></html>\n";
}

void send_page(httplib::Response& res, int status, const std::string& title, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(page(title, body), "text/html; charset=utf-8");
}

void send_error_page(httplib::Response& res, int status, const std::string& message) {
  send_page(res, status, "Sign in failed (Clerk emulator)", "<p>" + html_escape(message) + "</p>\n");
}

void send_json(httplib::Response& res, int status, const Json::Value& v) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(json_compact(v) + "\n", "application/json");
}

void send_json_error(httplib::Response& res, int status, const std::string& code, const std::string& msg) {
  Json::Value e(Json::objectValue);
  e["error"]["code"] = code;
  e["error"]["message"] = msg;
  send_json(res, status, e);
}

std::string sign_in_page_body(const State& st, const std::string& redirect_url) {
  std::vector<std::string> roles;  // in order of first appearance
  for (const auto& u : st.users()) {
    bool seen = false;
    for (const auto& r : roles) seen = seen || r == u.role;
    if (!seen) roles.push_back(u.role);
  }
  std::string b = "<p class=\"note\">Local emulator: pick a demo user. No password is asked. "
                  "You will return to <code>" + html_escape(redirect_url) + "</code>.</p>\n";
  if (st.users().empty()) b += "<p>No demo users are configured (see --users).</p>\n";
  for (const auto& role : roles) {
    b += "<h2>" + html_escape(role) + "</h2>\n";
    for (const auto& u : st.users()) {
      if (u.role != role) continue;
      std::string label = u.name;
      if (!u.email.empty()) label += " <" + u.email + ">";
      b += "<form method=\"post\" action=\"/sign-in\">"
           "<input type=\"hidden\" name=\"user_id\" value=\"" + html_escape(u.id) + "\">"
           "<input type=\"hidden\" name=\"redirect_url\" value=\"" + html_escape(redirect_url) + "\">"
           "<button type=\"submit\">" + html_escape(label) + "</button></form>\n";
    }
  }
  return b;
}

std::string session_cookie(const std::string& token) {
  return "__session=" + token + "; Path=/; SameSite=Lax";
}

/* ------------------------------------------------------------- handlers */

void handle_sign_in_page(State& st, const httplib::Request& req, httplib::Response& res) {
  std::string redirect = req.has_param("redirect_url") ? req.get_param_value("redirect_url")
                                                       : st.default_redirect();
  if (!st.is_allowed_redirect(redirect)) {
    return send_error_page(res, 400, "redirect_url is not under an allowed origin.");
  }
  send_page(res, 200, "Sign in (Clerk emulator)", sign_in_page_body(st, redirect));
}

void handle_sign_in_post(State& st, const httplib::Request& req, httplib::Response& res) {
  const auto form = emu::parse_form(req.body);
  auto field = [&](const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  const std::string user_id = field("user_id");
  std::string redirect = field("redirect_url");
  if (redirect.empty()) redirect = st.default_redirect();
  const DemoUser* user = st.find_user(user_id);
  if (!user) return send_error_page(res, 400, "Unknown demo user.");
  if (!st.is_allowed_redirect(redirect)) {
    return send_error_page(res, 400, "redirect_url is not under an allowed origin.");
  }
  TokenSpec spec;
  spec.sub = user->id;
  spec.ttl_s = st.cfg().token_ttl_s;
  const std::string token = st.sign(build_claims(st, spec));
  res.status = 303;
  res.set_header("Location", redirect);
  res.set_header("Set-Cookie", session_cookie(token));
  res.set_header("Cache-Control", "no-store");
}

void handle_sign_out(State& st, const httplib::Request& req, httplib::Response& res) {
  std::string redirect = req.has_param("redirect_url") ? req.get_param_value("redirect_url")
                                                       : st.default_redirect();
  if (!st.is_allowed_redirect(redirect)) {
    return send_error_page(res, 400, "redirect_url is not under an allowed origin.");
  }
  res.status = 303;
  res.set_header("Location", redirect);
  res.set_header("Set-Cookie", "__session=; Path=/; Max-Age=0; SameSite=Lax");
  res.set_header("Cache-Control", "no-store");
}

/* POST /_emulator/token {"sub", "ttl_s"?, "sts"?, "azp"?, "iss"?, "sid"?, "kid"?,
 * "nbf_offset_s"?, "iat_offset_s"?, "exp_offset_s"?, "claims"?: {...}}.
 * "azp"/"iss" set to "" leave the claim out; "kid" signs with the current key
 * under another kid; "claims" are merged last (they may override anything). */
void handle_make_token(State& st, const httplib::Request& req, httplib::Response& res) {
  Json::Value in;
  if (!json_parse(req.body, in) || !in.isObject()) {
    return send_json_error(res, 400, "invalid_json", "body must be a JSON object");
  }
  TokenSpec spec;
  spec.ttl_s = st.cfg().token_ttl_s;
  if (!in["sub"].isString() || in["sub"].asString().empty()) {
    return send_json_error(res, 400, "invalid_sub", "sub must be a non-empty string");
  }
  spec.sub = in["sub"].asString();
  std::string kid;
  for (const char* name : {"sts", "sid", "kid", "azp", "iss"}) {
    if (!in.isMember(name)) continue;
    if (!in[name].isString()) {
      return send_json_error(res, 400, "invalid_field", std::string(name) + " must be a string");
    }
  }
  if (in.isMember("sts")) spec.sts = in["sts"].asString();
  if (in.isMember("sid")) spec.sid = in["sid"].asString();
  if (in.isMember("kid")) kid = in["kid"].asString();
  if (in.isMember("azp")) {
    spec.azp = in["azp"].asString();
    spec.omit_azp = spec.azp.empty();
  }
  if (in.isMember("iss")) {
    spec.iss = in["iss"].asString();
    spec.omit_iss = spec.iss.empty();
  }
  struct IntField { const char* name; int64_t* out; };
  for (const IntField& f : {IntField{"ttl_s", &spec.ttl_s}, IntField{"nbf_offset_s", &spec.nbf_offset_s},
                            IntField{"iat_offset_s", &spec.iat_offset_s},
                            IntField{"exp_offset_s", &spec.exp_offset_s}}) {
    if (!in.isMember(f.name)) continue;
    const Json::Value& v = in[f.name];
    if (!v.isIntegral() || v.isBool() || v.asLargestInt() < -100LL * 365 * 86400 ||
        v.asLargestInt() > 100LL * 365 * 86400) {
      return send_json_error(res, 400, "invalid_field", std::string(f.name) + " must be an integer");
    }
    *f.out = v.asLargestInt();
  }
  spec.has_exp_offset = in.isMember("exp_offset_s");
  if (in.isMember("claims")) {
    if (!in["claims"].isObject()) {
      return send_json_error(res, 400, "invalid_field", "claims must be an object");
    }
    spec.extra = in["claims"];
  }
  const Json::Value claims = build_claims(st, spec);
  Json::Value out(Json::objectValue);
  out["token"] = st.sign(claims, kid);
  out["claims"] = claims;
  send_json(res, 200, out);
}

void install_routes(httplib::Server& svr, State& st) {
  svr.Get("/.well-known/jwks.json", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(st.jwks() + "\n", "application/json");
  });
  svr.Get("/sign-in", [&](const httplib::Request& req, httplib::Response& res) {
    handle_sign_in_page(st, req, res);
  });
  svr.Post("/sign-in", [&](const httplib::Request& req, httplib::Response& res) {
    handle_sign_in_post(st, req, res);
  });
  svr.Get("/sign-out", [&](const httplib::Request& req, httplib::Response& res) {
    handle_sign_out(st, req, res);
  });
  svr.Post("/_emulator/token", [&](const httplib::Request& req, httplib::Response& res) {
    handle_make_token(st, req, res);
  });
  svr.Post("/_emulator/rotate-key", [&](const httplib::Request&, httplib::Response& res) {
    auto [kid, previous] = st.rotate();
    Json::Value out(Json::objectValue);
    out["kid"] = kid;
    out["previous_kid"] = previous;
    send_json(res, 200, out);
  });
  svr.Get("/_emulator/health", [&](const httplib::Request&, httplib::Response& res) {
    Json::Value out(Json::objectValue);
    out["ok"] = true;
    send_json(res, 200, out);
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const int status = res.status;
    const bool is_404 = status == 404;
    if (req.path.rfind("/_emulator/", 0) == 0 || req.path.rfind("/.well-known/", 0) == 0) {
      send_json_error(res, status, is_404 ? "not_found" : "bad_request",
                      is_404 ? "no such endpoint" : "request rejected (HTTP " + std::to_string(status) + ")");
    } else {
      send_page(res, status, is_404 ? "Not found (Clerk emulator)" : "Bad request (Clerk emulator)",
                is_404 ? "<p>No such page.</p>\n" : "<p>The request was rejected.</p>\n");
    }
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_json_error(res, 500, "internal", "emulator error");
  });
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "clerk_emulator: %s %s -> %d\n", req.method.c_str(), req.path.c_str(), res.status);
  });
  svr.set_payload_max_length(64 * 1024);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg = parse_flags(argc, argv);
  std::vector<DemoUser> users = load_users(cfg.users_file);
  SigningKey key = load_or_create_key(cfg.key_file);
  const std::string first_kid = key.kid;

  httplib::Server svr;
  const std::string host = "127.0.0.1";
  const int port = emu::bind_port(svr, host, cfg.port);
  if (port <= 0) {
    die(cfg.port == 0 ? "cannot bind to a free port on " + host
                      : "cannot bind to " + host + ":" + std::to_string(cfg.port) + " (in use?)");
  }
  cfg.port = port;
  if (cfg.issuer.empty()) cfg.issuer = "http://" + host + ":" + std::to_string(port);

  State st(cfg, std::move(key), std::move(users));
  install_routes(svr, st);
  emu::print_listening("clerk emulator", host, port);
  std::fprintf(stderr, "clerk_emulator: issuer %s, azp %s, kid %s, token ttl %llds\n",
               cfg.issuer.c_str(), cfg.authorized_party.c_str(), first_kid.c_str(),
               static_cast<long long>(cfg.token_ttl_s));
  if (!svr.listen_after_bind()) die("server stopped with an error");
  return 0;
}
