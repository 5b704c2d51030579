/* config.cpp: parse the flat key=value configuration and its secret files. */
#include "config.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "crypto.hpp"
#include "refund_policy.hpp"

extern char** environ;

namespace coach {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Result<std::string> read_secret_file(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(500, "config", key + ": cannot read file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string v = trim(ss.str());
  if (v.empty()) return make_error(500, "config", key + ": file " + path + " is empty");
  return v;
}

bool is_url(const std::string& v) {
  return v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
}

}  // namespace

const std::vector<std::string>& known_config_keys() {
  static const std::vector<std::string> keys = {
      "mode", "public-base-url", "log-file",
      "db-host", "db-port", "db-name", "db-user", "db-password-file",
      "token-encryption-key-file", "csrf-secret-file",
      "cal-api-base-url", "cal-oauth-client-id", "cal-oauth-client-secret-file",
      "cal-webhook-secret-file", "cal-oauth2-authorize-url", "cal-oauth2-client-id",
      "cal-oauth2-client-secret-file",
      "clerk-jwks-url", "clerk-issuer", "clerk-authorized-parties", "clerk-sign-in-url",
      "clerk-sign-out-url",
      "zoom-api-base-url", "zoom-oauth-token-url", "zoom-account-id", "zoom-client-id",
      "zoom-client-secret-file", "zoom-webhook-secret-file",
      "stripe-api-base-url", "stripe-secret-key-file", "stripe-webhook-secret-file",
      "refund-policy", "tax-rate-bps", "tax-name", "invoice-issuer",
      "smtp-url", "mail-from", "http-timeout-ms", "token-refresh-margin-s"};
  return keys;
}

Result<Config> parse_config(const std::string& text, const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  const auto& known = known_config_keys();
  auto is_known = [&](const std::string& k) {
    for (const auto& x : known) if (x == k) return true;
    return false;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos)
      return make_error(500, "config", "line " + std::to_string(lineno) + ": expected key=value");
    std::string k = trim(t.substr(0, eq));
    if (!is_known(k)) return make_error(500, "config", "line " + std::to_string(lineno) + ": unknown key '" + k + "'");
    kv[k] = trim(t.substr(eq + 1));
  }
  // Environment overrides: COACH_DB_PORT overrides db-port, and so on.
  for (const auto& k : known) {
    std::string envk = "COACH_";
    for (char c : k) envk += (c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto it = env.find(envk);
    if (it != env.end()) kv[k] = it->second;
  }

  auto get = [&](const std::string& k) -> std::string {
    auto it = kv.find(k);
    return it == kv.end() ? "" : it->second;
  };
  auto require = [&](const std::string& k) -> Result<std::string> {
    std::string v = get(k);
    if (v.empty()) return make_error(500, "config", k + ": missing");
    return v;
  };
  auto require_url = [&](const std::string& k) -> Result<std::string> {
    auto v = require(k);
    if (!v) return v;
    if (!is_url(*v)) return make_error(500, "config", k + ": not an http(s) URL: '" + *v + "'");
    std::string s = *v;
    while (s.size() > 8 && s.back() == '/') s.pop_back();
    return s;
  };
  auto require_secret = [&](const std::string& k) -> Result<std::string> {
    auto p = require(k);
    if (!p) return p;
    return read_secret_file(k, *p);
  };
  auto require_int = [&](const std::string& k, int lo, int hi, int dflt) -> Result<int> {
    std::string v = get(k);
    if (v.empty()) return dflt;
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < lo || n > hi)
      return make_error(500, "config", k + ": expected a number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + v + "'");
    return static_cast<int>(n);
  };

  Config c;
#define TAKE(field, expr)                  \
  do {                                     \
    auto r_ = (expr);                      \
    if (!r_) return r_.error();            \
    c.field = *r_;                         \
  } while (0)

  c.mode = get("mode").empty() ? "local" : get("mode");
  if (c.mode != "local" && c.mode != "production")
    return make_error(500, "config", "mode: expected local or production, got '" + c.mode + "'");
  TAKE(public_base_url, require_url("public-base-url"));
  c.log_file = get("log-file");
  TAKE(db_host, require("db-host"));
  TAKE(db_port, require_int("db-port", 1, 65535, 3306));
  TAKE(db_name, require("db-name"));
  TAKE(db_user, require("db-user"));
  TAKE(db_password, require_secret("db-password-file"));
  {
    auto hex = require_secret("token-encryption-key-file");
    if (!hex) return hex.error();
    auto raw = crypto::hex_decode(*hex);
    if (!raw || raw->size() != 32)
      return make_error(500, "config", "token-encryption-key-file: must hold 64 hex characters (32 bytes)");
    c.token_encryption_key = *raw;
  }
  TAKE(csrf_secret, require_secret("csrf-secret-file"));
  if (c.csrf_secret.size() < 32) return make_error(500, "config", "csrf-secret-file: must hold at least 32 characters");

  TAKE(cal_api_base_url, require_url("cal-api-base-url"));
  TAKE(cal_oauth_client_id, require("cal-oauth-client-id"));
  TAKE(cal_oauth_client_secret, require_secret("cal-oauth-client-secret-file"));
  TAKE(cal_webhook_secret, require_secret("cal-webhook-secret-file"));
  TAKE(cal_oauth2_authorize_url, require_url("cal-oauth2-authorize-url"));
  TAKE(cal_oauth2_client_id, require("cal-oauth2-client-id"));
  TAKE(cal_oauth2_client_secret, require_secret("cal-oauth2-client-secret-file"));

  TAKE(clerk_jwks_url, require_url("clerk-jwks-url"));
  TAKE(clerk_issuer, require("clerk-issuer"));
  {
    auto parties = require("clerk-authorized-parties");
    if (!parties) return parties.error();
    std::istringstream ps(*parties);
    std::string p;
    while (std::getline(ps, p, ',')) {
      p = trim(p);
      if (p.empty()) continue;
      if (!is_url(p)) return make_error(500, "config", "clerk-authorized-parties: not an origin: '" + p + "'");
      c.clerk_authorized_parties.push_back(p);
    }
  }
  TAKE(clerk_sign_in_url, require_url("clerk-sign-in-url"));
  TAKE(clerk_sign_out_url, require_url("clerk-sign-out-url"));

  // Zoom and Stripe: optional until their features are configured; when a
  // base URL is given its credentials must be complete.
  c.zoom_api_base_url = get("zoom-api-base-url");
  if (!c.zoom_api_base_url.empty()) {
    TAKE(zoom_api_base_url, require_url("zoom-api-base-url"));
    TAKE(zoom_oauth_token_url, require_url("zoom-oauth-token-url"));
    TAKE(zoom_account_id, require("zoom-account-id"));
    TAKE(zoom_client_id, require("zoom-client-id"));
    TAKE(zoom_client_secret, require_secret("zoom-client-secret-file"));
    TAKE(zoom_webhook_secret, require_secret("zoom-webhook-secret-file"));
  }
  c.stripe_api_base_url = get("stripe-api-base-url");
  if (!c.stripe_api_base_url.empty()) {
    TAKE(stripe_api_base_url, require_url("stripe-api-base-url"));
    TAKE(stripe_secret_key, require_secret("stripe-secret-key-file"));
    TAKE(stripe_webhook_secret, require_secret("stripe-webhook-secret-file"));
  }

  if (!get("refund-policy").empty()) {
    c.refund_policy = get("refund-policy");
    if (auto p = payments::parse_policy(c.refund_policy); !p)
      return make_error(500, "config", "refund-policy: " + p.error().message + " (e.g. 24h:100,2h:50 or none)");
  }
  TAKE(tax_rate_bps, require_int("tax-rate-bps", 0, 10000, 0));
  if (!get("tax-name").empty()) c.tax_name = get("tax-name");
  if (!get("invoice-issuer").empty()) c.invoice_issuer = get("invoice-issuer");

  TAKE(smtp_url, require("smtp-url"));
  if (c.smtp_url.rfind("smtp://", 0) != 0 && c.smtp_url.rfind("smtps://", 0) != 0)
    return make_error(500, "config", "smtp-url: expected smtp:// or smtps://, got '" + c.smtp_url + "'");
  TAKE(mail_from, require("mail-from"));
  TAKE(http_timeout_ms, require_int("http-timeout-ms", 100, 120000, 10000));
  TAKE(token_refresh_margin_s, require_int("token-refresh-margin-s", 0, 3000, 300));
#undef TAKE
  return c;
}

Result<Config> load_config(const std::string& path_in) {
  std::string path = path_in;
  if (path.empty()) {
    const char* p = std::getenv("COACH_CONFIG");
    if (!p || !*p) return make_error(500, "config", "COACH_CONFIG is not set (path of the key=value config file)");
    path = p;
  }
  std::ifstream in(path);
  if (!in) return make_error(500, "config", "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string s = *e;
    if (s.rfind("COACH_", 0) != 0) continue;
    size_t eq = s.find('=');
    if (eq != std::string::npos) env[s.substr(0, eq)] = s.substr(eq + 1);
  }
  env.erase("COACH_CONFIG");
  return parse_config(ss.str(), env);
}

Config load_config_or_die() {
  auto c = load_config();
  if (!c) {
    std::cerr << "config: " << c.error().message << std::endl;
    std::exit(78);
  }
  return *c;
}

}  // namespace coach
