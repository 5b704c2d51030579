/* stripe_client.cpp: form-encoded Stripe calls with idempotency keys and the
 * official library's retry policy (see stripe_client.hpp). */
#include "stripe_client.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "http.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"

namespace coach::stripe {
namespace {

bool is_id(const std::string& s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

Error bad_id(const std::string& what) { return make_error(400, "stripe_invalid_id", "Not a Stripe " + what + " id"); }

double backoff_s(int n) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  double d = std::min(0.5 * double(1 << std::max(0, n - 1)), 5.0);
  d *= std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  return std::max(d, 0.5);
}

Error error_from(long status, const std::string& body) {
  auto p = json::parse(body);
  std::string type, code, message;
  if (p && (*p)["error"].isObject()) {
    type = json::str((*p)["error"], "type");
    code = json::str((*p)["error"], "code");
    message = json::str((*p)["error"], "message");
  }
  if (message.empty()) message = "Stripe answered HTTP " + std::to_string(status);
  message = log::redact(message).substr(0, 500);
  if (status >= 500 || status == 429 || status == 409)
    return make_error(502, "stripe_unavailable", "Stripe is not available right now: " + message);
  if (status == 401 || status == 403) return make_error(502, "stripe_auth", "Stripe refused our API key: " + message);
  return make_error(400, "stripe_" + (!code.empty() ? code : !type.empty() ? type : std::to_string(status)), message);
}

}  // namespace

Settings settings_from(const Config& cfg) {
  Settings s;
  s.base_url = cfg.stripe_api_base_url;
  s.secret_key = cfg.stripe_secret_key;
  s.timeout_ms = cfg.http_timeout_ms;
  return s;
}

bool configured(const Config& cfg) { return !cfg.stripe_api_base_url.empty() && !cfg.stripe_secret_key.empty(); }

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += url_encode(k);
    out += '=';
    out += url_encode(v);
  }
  return out;
}

bool is_transient(const Error& e) { return e.http_status >= 500; }

Params checkout_params(const CheckoutRequest& r) {
  std::string cur = r.currency;
  std::transform(cur.begin(), cur.end(), cur.begin(), [](unsigned char c) { return std::tolower(c); });
  Params p = {{"mode", "payment"},
              {"line_items[0][quantity]", "1"},
              {"line_items[0][price_data][currency]", cur},
              {"line_items[0][price_data][unit_amount]", std::to_string(r.unit_amount_minor)},
              {"line_items[0][price_data][product_data][name]", r.product_name},
              {"success_url", r.success_url},
              {"cancel_url", r.cancel_url}};
  if (!r.customer_email.empty()) p.emplace_back("customer_email", r.customer_email);
  if (!r.client_reference_id.empty()) p.emplace_back("client_reference_id", r.client_reference_id);
  for (const auto& [k, v] : r.metadata) p.emplace_back("metadata[" + k + "]", v);
  for (const auto& [k, v] : r.metadata) p.emplace_back("payment_intent_data[metadata][" + k + "]", v);
  if (!r.description.empty()) p.emplace_back("payment_intent_data[description]", r.description);
  if (r.expires_at > 0) p.emplace_back("expires_at", std::to_string(r.expires_at));
  if (r.invoice_creation) p.emplace_back("invoice_creation[enabled]", "true");
  return p;
}

Result<Json::Value> Client::call(const std::string& method, const std::string& path, const Params& params,
                                 const std::string& idempotency_key) {
  last_attempts_ = 0;
  if (s_.base_url.empty() || s_.secret_key.empty())
    return make_error(503, "stripe_not_configured", "Payments are not configured (stripe-api-base-url)");
  http_client::HttpRequest req;
  req.method = method;
  req.url = s_.base_url + path;
  req.timeout_ms = s_.timeout_ms;
  const std::string form = form_encode(params);
  if (method == "GET") {
    if (!form.empty()) req.url += (path.find('?') == std::string::npos ? "?" : "&") + form;
  } else {
    req.body = form;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  }
  req.headers.emplace_back("Authorization", "Bearer " + s_.secret_key);
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("Stripe-Version", kApiVersion);
  req.headers.emplace_back("User-Agent", "coach-marketplace/1 (C++)");

  Error last = make_error(502, "stripe_unavailable", "Stripe was not called");
  for (int attempt = 0; attempt <= s_.max_retries; ++attempt) {
    if (attempt > 0 && s_.sleep_between_retries)
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(backoff_s(attempt) * 1000)));
    ++last_attempts_;
    auto r = http_client::perform(req);
    if (!r) {
      last = make_error(502, "stripe_unavailable", "Stripe could not be reached: " + r.error().message);
      log::warn("stripe: transport failure", {{"path", path}, {"attempt", std::to_string(attempt + 1)}});
      continue;
    }
    const std::string request_id = r->headers.count("request-id") ? r->headers.at("request-id") : "";
    const std::string should = r->headers.count("stripe-should-retry") ? r->headers.at("stripe-should-retry") : "";
    if (r->status >= 200 && r->status < 300) {
      auto j = json::parse(r->body);
      if (!j || !j->isObject()) {
        last = make_error(502, "stripe_unavailable", "Stripe answered with something that is not a JSON object");
        continue;
      }
      log::info("stripe call", {{"method", method}, {"path", path}, {"status", std::to_string(r->status)},
                                {"request_id", request_id}, {"replayed", r->headers.count("idempotent-replayed") ? "yes" : "no"}});
      return *j;
    }
    last = error_from(r->status, r->body);
    log::warn("stripe call failed", {{"method", method}, {"path", path}, {"status", std::to_string(r->status)},
                                     {"request_id", request_id}, {"code", last.code}});
    bool retry = should == "true" || ((r->status == 409 || r->status >= 500) && should != "false");
    if (!retry) return last;
  }
  return last;
}

Result<Json::Value> Client::create_checkout_session(const CheckoutRequest& r, const std::string& key) {
  return call("POST", "/v1/checkout/sessions", checkout_params(r), key);
}

Result<Json::Value> Client::get_checkout_session(const std::string& id) {
  if (!is_id(id)) return bad_id("checkout session");
  return call("GET", "/v1/checkout/sessions/" + id, {}, "");
}

Result<Json::Value> Client::expire_checkout_session(const std::string& id, const std::string& key) {
  if (!is_id(id)) return bad_id("checkout session");
  return call("POST", "/v1/checkout/sessions/" + id + "/expire", {}, key);
}

Result<Json::Value> Client::create_refund(const RefundRequest& r, const std::string& key) {
  if (!is_id(r.payment_intent)) return bad_id("payment intent");
  if (r.amount_minor <= 0) return make_error(400, "invalid_amount", "A refund must be a positive amount");
  Params p = {{"payment_intent", r.payment_intent}, {"amount", std::to_string(r.amount_minor)}, {"reason", r.reason}};
  for (const auto& [k, v] : r.metadata) p.emplace_back("metadata[" + k + "]", v);
  return call("POST", "/v1/refunds", p, key);
}

Result<Json::Value> Client::get_refund(const std::string& id) {
  if (!is_id(id)) return bad_id("refund");
  return call("GET", "/v1/refunds/" + id, {}, "");
}

Result<Json::Value> Client::get_payment_intent(const std::string& id) {
  if (!is_id(id)) return bad_id("payment intent");
  return call("GET", "/v1/payment_intents/" + id, {}, "");
}

Result<Json::Value> Client::get_charge(const std::string& id) {
  if (!is_id(id)) return bad_id("charge");
  return call("GET", "/v1/charges/" + id, {}, "");
}

}  // namespace coach::stripe
