/* zoom_sig.cpp: sign and verify Zoom webhook deliveries; answer URL validation. */
#include "zoom_sig.hpp"

#include <cctype>

#include "crypto.hpp"

namespace coach::zoom_sig {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string msg;
  msg.reserve(4 + timestamp.size() + body.size());
  msg.append("v0:").append(timestamp).append(":").append(body);
  return "v0=" + crypto::hmac_sha256_hex(secret, msg);
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::missing: return "missing";
    case Verdict::bad_timestamp: return "bad_timestamp";
    case Verdict::stale: return "stale";
    case Verdict::mismatch: return "mismatch";
  }
  return "unknown";
}

Verdict verify(std::string_view secret, std::string_view signature_header, std::string_view timestamp_header,
               std::string_view body, int64_t now_s, int64_t tolerance_s) {
  const std::string_view sig = trim(signature_header), ts = trim(timestamp_header);
  if (secret.empty() || sig.empty() || ts.empty()) return Verdict::missing;
  if (ts.size() > 12) return Verdict::bad_timestamp;
  int64_t t = 0;
  for (char c : ts) {
    if (c < '0' || c > '9') return Verdict::bad_timestamp;
    t = t * 10 + (c - '0');
  }
  if (t > now_s + tolerance_s || t < now_s - tolerance_s) return Verdict::stale;
  std::string got(sig);
  for (char& c : got) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // 3 + 64 characters, else it cannot be ours; compare anyway (constant time).
  return crypto::constant_time_equal(sign(secret, ts, body), got) ? Verdict::ok : Verdict::mismatch;
}

std::string encrypt_token(std::string_view secret, std::string_view plain_token) {
  return crypto::hmac_sha256_hex(secret, plain_token);
}

Json::Value url_validation_response(std::string_view secret, const std::string& plain_token) {
  Json::Value v(Json::objectValue);
  v["plainToken"] = plain_token;
  v["encryptedToken"] = encrypt_token(secret, plain_token);
  return v;
}

}  // namespace coach::zoom_sig
