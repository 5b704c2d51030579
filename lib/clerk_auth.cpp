/* clerk_auth.cpp: Clerk session-token authentication with a cached JWKS. */
#include "clerk_auth.hpp"

#include <chrono>
#include <exception>
#include <utility>

namespace coach::clerk {

namespace {

constexpr size_t k_max_cookie_candidates = 4;
const std::string k_session_cookie = "__session";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool starts_with_ci(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = char(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = char(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

/* The token in an Authorization header, or "" if it carries none. */
std::string token_from_header(const std::string& authorization_header) {
  const std::string v = trim(authorization_header);
  if (starts_with_ci(v, "bearer ")) return trim(v.substr(7));
  if (v.size() == 6 && starts_with_ci(v, "bearer")) return "";  // "Bearer " trimmed
  // Clerk takes a value without a scheme as the raw token; a value with some
  // other scheme (Basic from a staging proxy) is not ours.
  if (!v.empty() && v.find_first_of(" \t") == std::string::npos) return v;
  return "";
}

/* Session cookie values in the order they are tried: __session, then the
 * suffixed ones (__session_<suffix>, newer SDKs) in name order. */
std::vector<std::string> session_cookies(const std::map<std::string, std::string>& cookies) {
  std::vector<std::string> out;
  auto exact = cookies.find(k_session_cookie);
  if (exact != cookies.end() && !exact->second.empty()) out.push_back(exact->second);
  const std::string prefix = k_session_cookie + "_";
  for (auto it = cookies.lower_bound(prefix); it != cookies.end() && out.size() < k_max_cookie_candidates;
       ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (it->first.size() > prefix.size() && !it->second.empty()) out.push_back(it->second);
  }
  return out;
}

Error signed_out() { return make_error(401, "signed_out", "no session token; please sign in"); }

}  // namespace

std::string token_from_request(const std::string& authorization_header,
                               const std::map<std::string, std::string>& cookies) {
  std::string t = token_from_header(authorization_header);
  if (!t.empty()) return t;
  auto candidates = session_cookies(cookies);
  return candidates.empty() ? std::string() : candidates.front();
}

Verifier::Verifier(VerifierConfig cfg) : cfg_(std::move(cfg)) {}

int64_t Verifier::now_ms() const {
  if (cfg_.now_ms) return cfg_.now_ms();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Result<jwt::SessionClaims> Verifier::authenticate(
    const std::string& authorization_header, const std::map<std::string, std::string>& cookies) {
  const std::string header_token = token_from_header(authorization_header);
  if (!header_token.empty()) return verify_token(header_token);

  const auto candidates = session_cookies(cookies);
  if (candidates.empty()) return signed_out();
  Result<jwt::SessionClaims> first = verify_token(candidates.front());
  if (first.ok() || first.error().http_status != 401) return first;
  // Another Clerk app on the same host (localhost) may have left its own cookie.
  for (size_t i = 1; i < candidates.size(); ++i) {
    auto r = verify_token(candidates[i]);
    if (r.ok()) return r;
  }
  return first;
}

Result<jwt::SessionClaims> Verifier::verify_token(const std::string& token) {
  const int64_t now = now_ms();
  jwt::VerifyOptions opts;
  opts.issuer = cfg_.issuer;
  opts.authorized_parties = cfg_.authorized_parties;
  opts.clock_skew_ms = cfg_.clock_skew_ms;
  opts.now_ms = now;

  // Shape, typ and alg come before the kid check: settle those without keys, so
  // garbage and alg=none/HS256 tokens never cause a fetch.
  auto pre = jwt::verify_session_token(token, {}, opts);
  if (pre.ok() || pre.error().code != "jwk-kid-mismatch") return pre;
  const std::string kid = jwt::peek_kid(token);
  if (kid.empty()) return pre;

  std::vector<jwt::Jwk> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = keys_for_locked(kid, now);
    if (!r) return r.error();
    keys = std::move(*r);  // copies share the EVP_PKEYs; verify outside the lock
  }
  return jwt::verify_session_token(token, keys, opts);
}

bool Verifier::has_kid_locked(const std::string& kid) const {
  for (const auto& k : keys_) {
    if (k.kid == kid) return true;
  }
  return false;
}

Result<std::vector<jwt::Jwk>> Verifier::keys_for_locked(const std::string& kid, int64_t now) {
  auto may_fetch = [&] {
    return !has_attempted_ || now - last_attempt_ms_ >= cfg_.min_fetch_interval_ms ||
           now < last_attempt_ms_;  // the clock went back: don't lock ourselves out
  };
  bool attempted_now = false;
  const bool is_fresh = has_keys_ && now - fetched_at_ms_ < cfg_.cache_ttl_ms;
  if (!is_fresh && may_fetch()) {
    fetch_locked(now);
    attempted_now = true;
  }
  if (!has_kid_locked(kid) && !attempted_now && may_fetch()) {
    fetch_locked(now);  // maybe rotated: one refetch
  }

  const bool is_usable = has_keys_ && now - fetched_at_ms_ < cfg_.cache_ttl_ms + cfg_.max_stale_ms;
  const bool can_decide = is_usable && (has_kid_locked(kid) || !last_attempt_failed_);
  if (!can_decide) {
    return make_error(503, "auth_unavailable",
                      "cannot fetch the session signing keys" +
                          (last_fetch_error_.empty() ? std::string() : " (" + last_fetch_error_ + ")"));
  }
  return keys_;
}

bool Verifier::fetch_locked(int64_t now) {
  has_attempted_ = true;
  last_attempt_ms_ = now;
  last_attempt_failed_ = true;
  if (!cfg_.fetch_jwks) {
    last_fetch_error_ = "no fetch function";
    return false;
  }
  Result<std::string> body = make_error(502, "fetch_failed", "");
  try {
    body = cfg_.fetch_jwks(cfg_.jwks_url);
  } catch (const std::exception&) {
    last_fetch_error_ = "fetch threw";
    return false;
  }
  if (!body) {
    last_fetch_error_ = body.error().code;
    return false;
  }
  auto parsed = jwt::parse_jwks(*body);
  if (!parsed) {
    last_fetch_error_ = parsed.error().code;
    return false;
  }
  if (parsed->empty()) {
    last_fetch_error_ = "jwks-empty";
    return false;
  }
  keys_ = std::move(*parsed);
  has_keys_ = true;
  fetched_at_ms_ = now;
  last_attempt_failed_ = false;
  last_fetch_error_.clear();
  return true;
}

}  // namespace coach::clerk
