/* zoom_sig.hpp: Zoom webhook signatures (reference §2.5). Zoom sends
 * x-zm-request-timestamp (unix seconds) and x-zm-signature "v0=" + lower-case
 * hex HMAC-SHA256(secret token, "v0:" + timestamp + ":" + raw body). We verify
 * over the exact raw bytes, in constant time, and reject timestamps further
 * than the tolerance (5 minutes) from now in either direction: Zoom names no
 * window, this is our replay guard. The endpoint.url_validation challenge is
 * answered with {plainToken, encryptedToken = hex HMAC(secret, plainToken)}.
 * Pure: no I/O; the secret and the clock come from the caller. */
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <json/json.h>

namespace coach::zoom_sig {

inline constexpr const char* kSignatureHeader = "x-zm-signature";          // as Request::headers stores it
inline constexpr const char* kTimestampHeader = "x-zm-request-timestamp";
inline constexpr int64_t kToleranceS = 300;

/* "v0=" + hex(HMAC_SHA256(secret, "v0:" + timestamp + ":" + body)). */
std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body);

enum class Verdict { ok, missing, bad_timestamp, stale, mismatch };
const char* to_string(Verdict v);

/* Checks one delivery. missing: no secret, no signature or no timestamp;
 * bad_timestamp: not 1-12 ASCII digits; stale: |now - ts| > tolerance_s;
 * mismatch: the signature is not ours (compared in constant time after
 * trimming; the "v0=" prefix and hex are case-folded, hex is not secret). */
Verdict verify(std::string_view secret, std::string_view signature_header, std::string_view timestamp_header,
               std::string_view body, int64_t now_s, int64_t tolerance_s = kToleranceS);

/* hex(HMAC_SHA256(secret, plain_token)). */
std::string encrypt_token(std::string_view secret, std::string_view plain_token);

/* The JSON reply to endpoint.url_validation: {"plainToken","encryptedToken"}. */
Json::Value url_validation_response(std::string_view secret, const std::string& plain_token);

}  // namespace coach::zoom_sig
