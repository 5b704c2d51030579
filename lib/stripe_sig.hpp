/* stripe_sig.hpp: Stripe webhook signatures (reference §1.8), exactly as
 * stripe-node verifies them: header "t=<unix s>,v1=<hex>[,v1=<hex>...][,v0=...]",
 * signed payload = "<t as written>." + raw body, expected = lower-case hex
 * HMAC-SHA256 keyed with the whole secret string (whsec_ prefix included,
 * never decoded), valid if any v1 matches under a constant-time compare,
 * rejected when now - t > tolerance (future timestamps are accepted, as
 * stripe-node does; tolerance 0 turns the age check off). Pure: no I/O. */
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coach::stripe_sig {

inline constexpr const char* kHeader = "stripe-signature";   // as Request::headers stores it
inline constexpr int64_t kDefaultToleranceS = 300;

/* The parts of a Stripe-Signature header. has_t is false when no item "t"
 * holds a decimal integer; v1 lists every v1 value in order (v0 and other
 * schemes are ignored). t_text is the timestamp exactly as written. */
struct Parsed {
  bool has_t = false;
  int64_t t = 0;
  std::string t_text;
  std::vector<std::string> v1;
};
Parsed parse_header(std::string_view header);

enum class Verdict {
  ok,
  no_timestamp,      // "Unable to extract timestamp and signatures from header"
  no_signatures,     // "No signatures found with expected scheme"
  mismatch,          // "No signatures found matching the expected signature for payload"
  too_old,           // "Timestamp outside the tolerance zone"
  no_secret,         // we have no secret configured: never verifies
};
const char* describe(Verdict v);

/* Verifies header over the raw body at time now_s (unix seconds). */
Verdict verify(std::string_view header, std::string_view body, std::string_view secret, int64_t now_s,
               int64_t tolerance_s = kDefaultToleranceS);

/* hex(HMAC_SHA256(secret, "<t>." + body)): one v1 value. */
std::string sign(std::string_view secret, int64_t t, std::string_view body);

/* "t=<t>,v1=<sign(...)>": a complete header (tests, emulators). */
std::string header_for(std::string_view secret, int64_t t, std::string_view body);

}  // namespace coach::stripe_sig
