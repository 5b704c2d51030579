/* webhook_sig.hpp: Cal.com webhook signatures (X-Cal-Signature-256): lower-case
 * hex HMAC-SHA256 over the exact raw body, keyed with the webhook secret as
 * UTF-8 bytes, no prefix and no timestamp. Verification compares in constant
 * time against every candidate secret and says which one matched. Pure: no
 * I/O (the secrets come from the caller). */
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coach::webhook_sig {

inline constexpr const char* kHeader = "x-cal-signature-256";   // as Request::headers stores it
inline constexpr const char* kNoSecret = "no-secret-provided";  // what Cal.com sends without a secret

/* hex(HMAC_SHA256(secret, body)), lower case: the header value Cal.com sends. */
std::string sign(std::string_view secret, std::string_view body);

/* True if header is the signature of body under secret. The header is
 * trimmed and case-folded (hex is not secret); comparison is constant-time
 * (crypto::constant_time_equal). Empty secret or header, or the literal
 * "no-secret-provided", never verify. */
bool verify(std::string_view header, std::string_view body, std::string_view secret);

/* Index into secrets of the first one that verifies, or nullopt. Every
 * secret is tried (no early exit on the first mismatch, and each compare is
 * constant-time), so the time does not reveal which secret matched beyond the
 * count tried. */
std::optional<size_t> verify_any(std::string_view header, std::string_view body,
                                 const std::vector<std::string>& secrets);

}  // namespace coach::webhook_sig
