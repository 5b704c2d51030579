/* refund_policy.hpp: cancellation refund policies, pure (no I/O), so the
 * config and the session types validate them with the same rules as the
 * payments that apply them: "24h:100,2h:50" = a full refund up to 24 h
 * before the start, half up to 2 h, none after. */
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "result.hpp"

namespace coach::payments {

struct PolicyTier {
  int64_t min_seconds_before = 0;   // applies when the cancellation is at least this long before the start
  int percent = 0;                  // 0..100
};
struct RefundPolicy {
  std::vector<PolicyTier> tiers;    // longest notice first
};

/* "24h:100,2h:50" (units d, h, m; percent 0..100; "none" = no refunds).
 * 400 invalid_policy naming the bad item. */
Result<RefundPolicy> parse_policy(const std::string& text);

/* "100 % up to 24 h before the start, 50 % up to 2 h before, none after". */
std::string describe_policy(const RefundPolicy& p);

struct Quote {
  int64_t amount_minor = 0;         // what would be refunded now
  int percent = 0;                  // the rule applied
  std::string rule;                 // human text
};

/* The refund of a cancellation seconds_before_start ahead (negative: after
 * the start). full (coach/admin) = 100 %. The percentage of paid_minor is
 * rounded down to a whole minor unit, then capped by the remainder
 * paid_minor - already_refunded_minor (never negative). */
Quote quote_refund(const RefundPolicy& p, int64_t paid_minor, int64_t already_refunded_minor,
                   int64_t seconds_before_start, bool full);

}  // namespace coach::payments
