/* stripe_core.hpp: shared pieces of the Stripe emulator: the start-up Config,
 * the in-memory State behind one mutex, the Call/Reply values handlers take
 * and return, Stripe's error envelope (reference §1.7), the bracket-path form
 * decoder (§1.1), ids, money formatting and small JSON helpers.
 *
 * Header-only: the Makefile builds one binary per .cpp in tests/emulators/,
 * so the emulator is the single translation unit stripe_emulator.cpp. */
#pragma once
#include <httplib.h>
#include <json/json.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto.hpp"
#include "emu_common.hpp"
#include "html.hpp"

namespace stripe_emu {

using emu::random_base62;
using emu::real_now_ms;
using emu::starts_with;
using emu::to_lower;
using emu::url_decode;

/* ---------------------------------------------------------------- config */

/* A webhook endpoint: the one from the command line (id "we_default") or one
 * added through /_emulator/webhook-endpoints. enabled_events: "*" or types. */
struct Endpoint {
  std::string id;
  std::string url;
  std::string secret;                 // whsec_...
  std::string old_secret;             // "" = none; else a second v1 (secret roll)
  std::vector<std::string> enabled_events = {"*"};
  bool add_v0 = false;                // also send a v0=<hex> entry (parsers must ignore it)
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  int n_threads = 16;
  std::string base_url;               // "" = http://host:port (hosted pages, receipt_url)
  std::vector<std::string> secret_keys;
  std::string webhook_url;            // "" = no default endpoint
  std::string webhook_secret;
  std::string old_webhook_secret;
  std::string api_version = "2026-10-28.endive";  // when the client pins none
  int64_t webhook_timeout_ms = 10000;
  int64_t retry_base_ms = 1000;       // retries after base, 2*base, 4*base
  int n_retries = 3;
  std::string refund_status = "succeeded";
};

/* ----------------------------------------------------------------- state */

/* Fault injection (POST /_emulator/faults): the next `remaining` requests to
 * a path starting with path_prefix (method matching, when set) answer `kind`:
 * "500" (with Stripe-Should-Retry), "429", "409", "drop" (processed, then the
 * connection is cut before the body) or "slow" (processed after delay_ms,
 * with the idempotency key held in flight meanwhile). */
struct Fault {
  int64_t id = 0;
  std::string path_prefix;
  std::string method;
  std::string kind;
  int remaining = 1;
  int64_t delay_ms = 0;
  bool should_retry = true;
};

/* One stored idempotent request (§1.6). */
struct IdemEntry {
  std::string method_path;
  std::string params_hash;
  bool in_flight = true;
  int status = 0;
  std::string body;
  int64_t created_ms = 0;
  std::string original_request_id;    // the Request-Id of the first request
};

/* One webhook send waiting for its time (the worker's queue). */
struct Delivery {
  std::string event_id;
  std::string endpoint_id;
  int attempt = 1;                    // 1 = first try
  int64_t due_real_ms = 0;
  bool redelivery = false;
  uint64_t epoch = 0;
};

/* One attempt, as GET /_emulator/deliveries lists it. */
struct Attempt {
  int64_t seq = 0;
  std::string event_id, event_type, endpoint_id, url;
  int attempt = 1;
  bool redelivery = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int status = 0;                     // 0 = no HTTP answer
  std::string error;
  std::string outcome;                // ok, http_error, network_error
  int64_t at_s = 0;
  int64_t duration_ms = 0;
  bool will_retry = false;
};

struct Counters {
  int64_t n_requests = 0;             // /v1 requests (controls and pages excluded)
  int64_t n_idempotent_replays = 0;
  int64_t n_idempotency_conflicts = 0;  // 400 different params
  int64_t n_idempotency_in_flight = 0;  // 409 concurrent
  int64_t n_auth_failures = 0;
  int64_t n_validation_errors = 0;
  int64_t n_faults_fired = 0;
  int64_t n_refunds = 0;
  int64_t n_events = 0;
  int64_t n_deliveries_ok = 0;
  int64_t n_deliveries_failed = 0;
  int64_t n_payments_succeeded = 0;
  int64_t n_payments_declined = 0;
};

struct State {
  std::mutex mu;
  // Stripe objects in their API shape, by id. Line items are kept per session.
  std::map<std::string, Json::Value> sessions, payment_intents, charges, refunds, invoices;
  std::map<std::string, Json::Value> line_items;   // cs id -> array of items
  std::map<std::string, Json::Value> pi_data;      // cs id -> payment_intent_data as given
  std::map<std::string, std::string> api_version_of;  // object id -> version pinned at creation
  std::vector<std::string> session_order;          // creation order (lists)
  std::vector<std::string> refund_order;
  // Events: creation order; the exact bytes sent are kept in event_body.
  std::vector<std::string> event_order;
  std::map<std::string, Json::Value> events;
  std::map<std::string, std::string> event_body;
  std::map<std::string, IdemEntry> idempotency;    // api key + "\n" + key
  std::vector<Fault> faults;
  int64_t next_fault_id = 1;
  Counters counters;
  int64_t clock_offset_ms = 0;
  std::string refund_status = "succeeded";
  int64_t next_invoice_number = 1;
  int64_t next_receipt_number = 1000;
  // Webhook delivery.
  std::vector<Endpoint> endpoints;
  std::string delivery_mode = "normal";            // normal duplicate shuffle delay hold
  int64_t delivery_delay_ms = 0;
  std::vector<Delivery> queue;                     // due for sending
  std::set<std::string> busy_endpoints;            // a send to it is in flight
  std::vector<Delivery> held;                      // hold mode
  std::deque<Attempt> attempts;                    // newest last, at most 2000
  int64_t next_attempt_seq = 1;
  int64_t next_endpoint_seq = 1;
  uint64_t epoch = 1;                              // moves on reset
  std::condition_variable cv;
  bool stop = false;
};

/* ------------------------------------------------------------ time, ids */

/* The emulator clock (real time + /_emulator/clock advances). st.mu held. */
inline int64_t now_ms(const State& st) { return real_now_ms() + st.clock_offset_ms; }
inline int64_t now_s(const State& st) { return now_ms(st) / 1000; }

inline std::string new_id(const std::string& prefix) { return prefix + random_base62(24); }

/* ------------------------------------------------------------- JSON */

inline std::string json_compact(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}
/* Stripe answers and signs pretty-printed JSON (two-space indent). */
inline std::string json_pretty(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "  ";
  b["enableYAMLCompatibility"] = true;  // "key": value, as Stripe writes it
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}
inline bool json_parse(const std::string& text, Json::Value& out) {
  Json::CharReaderBuilder b;
  b["failIfExtra"] = true;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  std::string err;
  return r->parse(text.data(), text.data() + text.size(), &out, &err);
}
inline Json::Value jnull() { return Json::Value(Json::nullValue); }
inline Json::Value jobj() { return Json::Value(Json::objectValue); }
inline Json::Value jarr() { return Json::Value(Json::arrayValue); }
inline Json::Value ji(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }

/* ------------------------------------------------------------ call/reply */

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool store_idempotent = false;      // validation passed: keep it for replays
};

struct Call {
  const httplib::Request& req;
  std::vector<std::string> params;    // regex captures of the route
  State& st;
  const Config& cfg;
  std::string request_id;
  std::string api_key;                // the authenticated key ("" on pages/controls)
  std::string idempotency_key;        // "" = none
  std::string api_version;            // Stripe-Version or the default
  Json::Value form = jobj();          // decoded bracket-path parameters
  std::string base_url;               // this emulator as browsers reach it
  std::vector<std::string> new_events;  // emitted by this call, dispatched by the router

  std::string header(const char* name) const { return req.get_header_value(name); }
};

/* ------------------------------------------------------ error envelope */

/* {"error":{type, code?, param?, message, doc_url?, request_log_url}} */
inline Reply stripe_error(const Call& c, int status, const std::string& type, const std::string& code,
                          const std::string& param, const std::string& message) {
  Json::Value e = jobj();
  if (!code.empty()) {
    e["code"] = code;
    std::string slug = code;
    std::replace(slug.begin(), slug.end(), '_', '-');
    e["doc_url"] = "https://stripe.com/docs/error-codes/" + slug;
  }
  e["message"] = message;
  if (!param.empty()) e["param"] = param;
  e["request_log_url"] = "https://dashboard.stripe.com/test/logs/" + c.request_id;
  e["type"] = type;
  Json::Value env = jobj();
  env["error"] = e;
  Reply r;
  r.status = status;
  r.body = json_pretty(env) + "\n";
  return r;
}

/* 400 invalid_request_error: the usual validation failure. */
inline Reply invalid(const Call& c, const std::string& code, const std::string& param, const std::string& message) {
  c.st.counters.n_validation_errors++;
  return stripe_error(c, 400, "invalid_request_error", code, param, message);
}

inline Reply ok_json(const Json::Value& v, int status = 200) {
  Reply r;
  r.status = status;
  r.body = json_pretty(v) + "\n";
  return r;
}

/* 404 for an id in the URL: "No such checkout.session: 'cs_x'". */
inline Reply no_such(const Call& c, const std::string& object, const std::string& id) {
  return stripe_error(c, 404, "invalid_request_error", "resource_missing", "id",
                      "No such " + object + ": '" + id + "'");
}

/* ------------------------------------------------------------ form decode */

/* Splits "a[b][0][]" into {"a","b","0",""}; nullopt when malformed. */
inline std::optional<std::vector<std::string>> split_bracket_key(const std::string& key) {
  std::vector<std::string> segs;
  size_t open = key.find('[');
  segs.push_back(key.substr(0, open));
  if (segs[0].empty()) return std::nullopt;
  while (open != std::string::npos) {
    size_t close = key.find(']', open);
    if (close == std::string::npos) return std::nullopt;
    std::string seg = key.substr(open + 1, close - open - 1);
    if (seg.find('[') != std::string::npos) return std::nullopt;
    segs.push_back(seg);
    if (close + 1 == key.size()) break;
    if (key[close + 1] != '[') return std::nullopt;
    open = close + 1;
  }
  return segs;
}

/* Decodes a=1&b[c]=2&d[0][e]=3&f[]=x into a tree of JSON objects whose leaves
 * are strings; indexed and "[]" arrays become objects keyed "0", "1", ...
 * (see list_items). A key used both as a value and as a container, or a
 * malformed bracket path, gives an error message. */
inline std::optional<std::string> decode_form(const std::string& text, Json::Value& out) {
  out = jobj();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string::npos) amp = text.size();
    std::string pair = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) { if (amp == text.size()) break; continue; }
    size_t eq = pair.find('=');
    std::string key = url_decode(pair.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    auto segs = split_bracket_key(key);
    if (!segs) return "Invalid parameter name: '" + key + "'";
    Json::Value* node = &out;
    std::string path = (*segs)[0];
    for (size_t i = 0; i < segs->size(); ++i) {
      std::string seg = (*segs)[i];
      if (!node->isObject()) return "Invalid hash: " + path + " was given both as a value and with sub-keys";
      if (seg.empty()) seg = std::to_string(node->size());  // "[]": append
      if (i > 0) path += "[" + seg + "]";
      if (i + 1 == segs->size()) {
        if (node->isMember(seg) && (*node)[seg].isObject()) {
          return "Invalid hash: " + path + " was given both as a value and with sub-keys";
        }
        (*node)[seg] = value;  // a repeated scalar key: the last value wins
      } else {
        if (!node->isMember(seg)) (*node)[seg] = jobj();
        node = &(*node)[seg];
      }
    }
    if (amp == text.size()) break;
  }
  return std::nullopt;
}

/* The entries of an array parameter (an object keyed by decimal indexes), in
 * index order, with the index as sent. nullopt when a key is not an index. */
inline std::optional<std::vector<std::pair<std::string, const Json::Value*>>> list_items(const Json::Value& v) {
  if (!v.isObject()) return std::nullopt;
  std::vector<std::pair<int64_t, std::string>> keys;
  for (const auto& k : v.getMemberNames()) {
    if (k.empty() || k.size() > 6 || k.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    keys.emplace_back(std::stoll(k), k);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<std::string, const Json::Value*>> out;
  for (const auto& [n, k] : keys) out.emplace_back(k, &v[k]);
  return out;
}

/* ------------------------------------------------------------ money */

inline int currency_exponent(const std::string& cur) {
  static const std::set<std::string> zero = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
                                             "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"};
  static const std::set<std::string> three = {"bhd", "jod", "kwd", "omr", "tnd"};
  if (zero.count(cur)) return 0;
  if (three.count(cur)) return 3;
  return 2;
}

inline bool is_supported_currency(const std::string& cur) {
  static const std::set<std::string> known = {
      "usd", "eur", "gbp", "jpy", "cad", "aud", "nzd", "chf", "sek", "nok", "dkk", "pln", "czk", "huf",
      "ron", "bgn", "mxn", "brl", "sgd", "hkd", "inr", "krw", "clp", "vnd", "zar", "aed", "ils", "thb",
      "myr", "php", "idr", "try", "isk", "twd", "bhd", "jod", "kwd", "omr", "tnd", "xaf", "xof", "ugx"};
  return known.count(cur) > 0;
}

/* Stripe's minimum charge amount in the currency's minor unit (approximate
 * for currencies not listed). */
inline int64_t minimum_amount(const std::string& cur) {
  if (cur == "gbp") return 30;
  if (cur == "jpy") return 50;
  if (cur == "krw") return 100;
  if (cur == "vnd" || cur == "clp") return 1000;
  if (currency_exponent(cur) == 3) return 500;
  return 50;
}

/* 500000 jpy -> "¥500,000"; 5000 usd -> "$50.00"; 1234 sek -> "12.34 SEK". */
inline std::string format_money(int64_t minor, const std::string& cur) {
  const int exp = currency_exponent(cur);
  int64_t scale = 1;
  for (int i = 0; i < exp; ++i) scale *= 10;
  const bool neg = minor < 0;
  const int64_t a = neg ? -minor : minor;
  std::string whole = std::to_string(a / scale), grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  std::string num = grouped;
  if (exp > 0) {
    std::string frac = std::to_string(a % scale);
    while (static_cast<int>(frac.size()) < exp) frac = "0" + frac;
    num += "." + frac;
  }
  std::string sym;
  if (cur == "usd") sym = "$";
  else if (cur == "eur") sym = "\xE2\x82\xAC";
  else if (cur == "gbp") sym = "\xC2\xA3";
  else if (cur == "jpy") sym = "\xC2\xA5";
  std::string upper = cur;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!sym.empty()) return (neg ? "-" : "") + sym + num;
  return (neg ? "-" : "") + num + " " + upper;
}

/* "sk_test_****1234": the key's prefix up to its last '_' and the last 4. */
inline std::string mask_key(const std::string& key) {
  const std::string last4 = key.size() >= 4 ? key.substr(key.size() - 4) : key;
  size_t us = key.rfind('_', key.size() > 4 ? key.size() - 5 : 0);
  std::string prefix = us == std::string::npos ? "" : key.substr(0, us + 1);
  if (prefix.size() > 12) prefix = prefix.substr(0, 12);
  return prefix + "****" + last4;
}

}  // namespace stripe_emu
