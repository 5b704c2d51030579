/* stripe_sig.cpp: verify and produce Stripe-Signature headers (see stripe_sig.hpp). */
#include "stripe_sig.hpp"

#include <cctype>

#include "crypto.hpp"

namespace coach::stripe_sig {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Parsed parse_header(std::string_view header) {
  Parsed p;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = trim(header.substr(pos, comma - pos));
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string_view k = trim(item.substr(0, eq)), v = trim(item.substr(eq + 1));
      if (k == "t") {
        if (all_digits(v)) {
          p.has_t = true;
          p.t_text = std::string(v);
          p.t = std::stoll(p.t_text);
        }
      } else if (k == "v1") {
        p.v1.emplace_back(v);
      }
    }
    pos = comma + 1;
  }
  return p;
}

const char* describe(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::no_timestamp: return "Unable to extract timestamp and signatures from header";
    case Verdict::no_signatures: return "No signatures found with expected scheme";
    case Verdict::mismatch: return "No signatures found matching the expected signature for payload";
    case Verdict::too_old: return "Timestamp outside the tolerance zone";
    case Verdict::no_secret: return "No webhook secret is configured";
  }
  return "unknown";
}

std::string sign(std::string_view secret, int64_t t, std::string_view body) {
  std::string msg = std::to_string(t);
  msg += '.';
  msg.append(body.data(), body.size());
  return crypto::hmac_sha256_hex(secret, msg);
}

std::string header_for(std::string_view secret, int64_t t, std::string_view body) {
  return "t=" + std::to_string(t) + ",v1=" + sign(secret, t, body);
}

Verdict verify(std::string_view header, std::string_view body, std::string_view secret, int64_t now_s,
               int64_t tolerance_s) {
  if (secret.empty()) return Verdict::no_secret;
  Parsed p = parse_header(header);
  if (!p.has_t) return Verdict::no_timestamp;
  if (p.v1.empty()) return Verdict::no_signatures;
  // The timestamp exactly as the header wrote it is what was signed.
  std::string msg = p.t_text;
  msg += '.';
  msg.append(body.data(), body.size());
  const std::string expected = crypto::hmac_sha256_hex(secret, msg);
  bool match = false;
  for (const auto& sig : p.v1) {
    // Every candidate is compared (no early exit); constant_time_equal
    // checks the length first, as CRYPTO_memcmp callers must.
    bool eq = crypto::constant_time_equal(expected, sig);
    match = match || eq;
  }
  if (!match) return Verdict::mismatch;
  if (tolerance_s > 0 && now_s - p.t > tolerance_s) return Verdict::too_old;
  return Verdict::ok;
}

}  // namespace coach::stripe_sig
