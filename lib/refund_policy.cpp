/* refund_policy.cpp: see refund_policy.hpp. */
#include "refund_policy.hpp"

#include <algorithm>
#include <cctype>

namespace coach::payments {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<RefundPolicy> parse_policy(const std::string& text_in) {
  std::string text;
  for (char c : text_in)
    if (!std::isspace(static_cast<unsigned char>(c))) text += c;
  RefundPolicy p;
  if (text == "none") return p;
  if (text.empty()) return make_error(400, "invalid_policy", "A refund policy must not be empty (e.g. 24h:100,2h:50 or none)");
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    auto bad = [&] {
      return make_error(400, "invalid_policy",
                        "Refund policy item '" + item + "' is not <number><d|h|m>:<percent 0-100>, e.g. 24h:100");
    };
    size_t colon = item.find(':');
    if (colon == std::string::npos || colon < 2) return bad();
    const char unit = item[colon - 1];
    const std::string num = item.substr(0, colon - 1), pct = item.substr(colon + 1);
    if (num.empty() || num.size() > 6 || pct.empty() || pct.size() > 3 ||
        !std::all_of(num.begin(), num.end(), is_digit) || !std::all_of(pct.begin(), pct.end(), is_digit))
      return bad();
    int64_t mult = unit == 'd' ? 86400 : unit == 'h' ? 3600 : unit == 'm' ? 60 : 0;
    int percent = std::stoi(pct);
    if (!mult || percent > 100) return bad();
    p.tiers.push_back({std::stoll(num) * mult, percent});
    pos = comma + 1;
  }
  std::sort(p.tiers.begin(), p.tiers.end(),
            [](const PolicyTier& a, const PolicyTier& b) { return a.min_seconds_before > b.min_seconds_before; });
  for (size_t i = 1; i < p.tiers.size(); ++i)
    if (p.tiers[i].min_seconds_before == p.tiers[i - 1].min_seconds_before)
      return make_error(400, "invalid_policy", "The refund policy names the same notice twice");
  return p;
}

namespace {
std::string notice_text(int64_t s) {
  if (s % 86400 == 0 && s >= 86400 * 2) return std::to_string(s / 86400) + " days";
  if (s % 3600 == 0) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 60) + " min";
}
}  // namespace

std::string describe_policy(const RefundPolicy& p) {
  if (p.tiers.empty()) return "no refund on cancellation";
  std::string s;
  for (const auto& t : p.tiers) {
    if (!s.empty()) s += ", ";
    s += std::to_string(t.percent) + " % up to " + notice_text(t.min_seconds_before) + " before the start";
  }
  if (p.tiers.back().min_seconds_before > 0) s += ", none after";
  return s;
}

Quote quote_refund(const RefundPolicy& p, int64_t paid_minor, int64_t already_refunded_minor,
                   int64_t seconds_before_start, bool full) {
  Quote q;
  if (full) {
    q.percent = 100;
    q.rule = "full refund (cancelled by the coach)";
  } else {
    q.rule = "no refund this close to the start";
    for (const auto& t : p.tiers) {
      if (seconds_before_start >= t.min_seconds_before) {
        q.percent = t.percent;
        q.rule = std::to_string(t.percent) + " % (cancelled at least " + notice_text(t.min_seconds_before) +
                 " before the start)";
        break;
      }
    }
  }
  const int64_t remainder = std::max<int64_t>(0, paid_minor - already_refunded_minor);
  // Whole minor units, rounded down: never more than the percentage.
  int64_t amount = paid_minor / 100 * q.percent + (paid_minor % 100) * q.percent / 100;
  q.amount_minor = std::max<int64_t>(0, std::min(amount, remainder));
  return q;
}

}  // namespace coach::payments
