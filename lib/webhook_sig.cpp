/* webhook_sig.cpp: sign and verify Cal.com webhook bodies. */
#include "webhook_sig.hpp"

#include <cctype>

#include "crypto.hpp"

namespace coach::webhook_sig {

std::string sign(std::string_view secret, std::string_view body) { return crypto::hmac_sha256_hex(secret, body); }

namespace {

/* The header as 64 lower-case characters, or "" when it cannot be a signature. */
std::string normalize(std::string_view header) {
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.front()))) header.remove_prefix(1);
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.back()))) header.remove_suffix(1);
  if (header.size() != 64) return "";
  std::string out(header);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool verify(std::string_view header, std::string_view body, std::string_view secret) {
  if (secret.empty()) return false;
  const std::string got = normalize(header);
  if (got.empty()) return false;
  return crypto::constant_time_equal(sign(secret, body), got);
}

std::optional<size_t> verify_any(std::string_view header, std::string_view body,
                                 const std::vector<std::string>& secrets) {
  const std::string got = normalize(header);
  if (got.empty()) return std::nullopt;
  std::optional<size_t> found;
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].empty()) continue;
    bool eq = crypto::constant_time_equal(sign(secrets[i], body), got);
    if (eq && !found) found = i;
  }
  return found;
}

}  // namespace coach::webhook_sig
