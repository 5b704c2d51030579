/* stripe_client.hpp: a typed client for the few Stripe endpoints the payment
 * flow uses (layer 3: nothing about our product). Reference §1.1-1.7:
 *  - bodies are application/x-www-form-urlencoded with bracket paths
 *    (line_items[0][price_data][currency]=usd), values percent-encoded;
 *  - Authorization: Bearer <secret key>, Stripe-Version pinned;
 *  - every POST carries an Idempotency-Key chosen by the caller (a business
 *    key, so a retry after a crash repeats the same request);
 *  - retries like the official library: at most kMaxRetries more attempts on a
 *    connection error, 409, or status >= 500 (unless Stripe-Should-Retry:
 *    false) or when Stripe-Should-Retry: true; never on other 4xx; backoff
 *    min(0.5 s * 2^(n-1), 5 s) * [0.5, 1], at least 0.5 s; same key each time.
 *  - errors: the error envelope {"error":{type,code,param,message}} becomes an
 *    Error. Transient failures (unreachable, 5xx, 429, 409 after the retries)
 *    are http_status 502 with code "stripe_unavailable"; permanent ones
 *    (other 4xx) are http_status 400 with code "stripe_<code or type>" and
 *    Stripe's message. The secret key is never logged.
 * Responses are untrusted JSON: callers read them with json::str/num. */
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <json/json.h>

#include "config.hpp"
#include "result.hpp"

namespace coach::stripe {

inline constexpr const char* kApiVersion = "2026-10-28.endive";
inline constexpr int kMaxRetries = 2;

struct Settings {
  std::string base_url;     // https://api.stripe.com (no trailing slash)
  std::string secret_key;   // sk_test_... / sk_live_...
  long timeout_ms = 10000;
  int max_retries = kMaxRetries;
  bool sleep_between_retries = true;   // tests turn it off
};
Settings settings_from(const Config& cfg);
bool configured(const Config& cfg);   // a base URL and key are set

/* Ordered form parameters; names carry the bracket path already. */
using Params = std::vector<std::pair<std::string, std::string>>;

/* "a=1&b%5Bc%5D=2": names and values percent-encoded (RFC 3986 unreserved
 * characters kept; a space is %20). */
std::string form_encode(const Params& params);

/* True for a failure worth retrying later (the outbox retries it). */
bool is_transient(const Error& e);

/* What Checkout needs for one priced booking. */
struct CheckoutRequest {
  int64_t unit_amount_minor = 0;
  std::string currency;            // ISO, any case (sent lower case)
  std::string product_name;        // "Strategy session with Jane (60 min)"
  std::string success_url, cancel_url;
  std::string customer_email;
  std::string client_reference_id;
  std::vector<std::pair<std::string, std::string>> metadata;  // put on the session AND the payment intent
  int64_t expires_at = 0;          // unix seconds, 30 min .. 24 h ahead
  bool invoice_creation = true;
  std::string description;         // payment_intent_data[description], optional
};
Params checkout_params(const CheckoutRequest& r);

struct RefundRequest {
  std::string payment_intent;      // pi_...
  int64_t amount_minor = 0;        // > 0
  std::string reason = "requested_by_customer";   // duplicate | fraudulent | requested_by_customer
  std::vector<std::pair<std::string, std::string>> metadata;
};

class Client {
 public:
  explicit Client(Settings s) : s_(std::move(s)) {}

  /* One API call with the retry policy above. params go in the body for
   * POST and in the query string for GET. */
  Result<Json::Value> call(const std::string& method, const std::string& path, const Params& params,
                           const std::string& idempotency_key);

  Result<Json::Value> create_checkout_session(const CheckoutRequest& r, const std::string& idempotency_key);
  Result<Json::Value> get_checkout_session(const std::string& id);
  Result<Json::Value> expire_checkout_session(const std::string& id, const std::string& idempotency_key);
  Result<Json::Value> create_refund(const RefundRequest& r, const std::string& idempotency_key);
  Result<Json::Value> get_refund(const std::string& id);
  Result<Json::Value> get_payment_intent(const std::string& id);
  Result<Json::Value> get_charge(const std::string& id);

  int attempts_of_last_call() const { return last_attempts_; }

 private:
  Settings s_;
  int last_attempts_ = 0;
};

}  // namespace coach::stripe
