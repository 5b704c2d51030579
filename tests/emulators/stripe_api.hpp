/* stripe_api.hpp: the /v1 endpoints of the Stripe emulator (reference §1.2 to
 * §1.5, §5.1): Checkout Sessions (create, retrieve with expand, line items,
 * list, expire), PaymentIntents, Charges, Refunds, Invoices and Events, plus
 * the state changes the hosted page and the test controls drive (pay,
 * decline, expire, refund status). Every handler runs with State::mu held. */
#pragma once
#include "stripe_webhooks.hpp"

namespace stripe_emu {

/* ============================================================ parameters */

inline std::string sub_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "[" + key + "]";
}

/* Reads and checks request parameters. Stripe reports one problem at a
 * time, so the first one becomes `error` and later checks are no-ops. */
class Params {
 public:
  explicit Params(Call& c) : c_(c) {}
  std::optional<Reply> error;
  bool failed() const { return error.has_value(); }

  void fail(const std::string& code, const std::string& param, const std::string& message) {
    if (!error) error = invalid(c_, code, param, message);
  }

  /* Every key of `node` must be in `allowed`; else parameter_unknown. */
  void only(const Json::Value& node, const std::string& prefix, std::initializer_list<const char*> allowed) {
    if (failed() || !node.isObject()) return;
    for (const auto& k : node.getMemberNames()) {
      bool known = false;
      for (const char* a : allowed) if (k == a) known = true;
      if (!known) {
        const std::string path = sub_path(prefix, k);
        fail("parameter_unknown", path, "Received unknown parameter: " + path);
        return;
      }
    }
  }

  /* A string leaf. An empty optional value means "not given". */
  std::optional<std::string> str(const Json::Value& node, const char* key, const std::string& path, bool required,
                                 size_t max_len = 5000) {
    if (failed()) return std::nullopt;
    if (!node.isMember(key)) {
      if (required) fail("parameter_missing", path, "Missing required param: " + path + ".");
      return std::nullopt;
    }
    const Json::Value& v = node[key];
    if (!v.isString()) {
      fail("", path, "Invalid string: " + path + " must be a string, not a hash");
      return std::nullopt;
    }
    const std::string s = v.asString();
    if (s.empty()) {
      if (required) {
        fail("parameter_invalid_empty", path,
             "You passed an empty string for '" + path + "'. We assume empty values are an attempt to unset a "
             "parameter; however '" + path + "' cannot be unset. You should remove '" + path +
             "' from your request or supply a non-empty value.");
      }
      return std::nullopt;
    }
    if (s.size() > max_len) {
      fail("", path, "Invalid string: " + path + " must be at most " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::string> one_of(const Json::Value& node, const char* key, const std::string& path, bool required,
                                    std::initializer_list<const char*> values) {
    auto s = str(node, key, path, required);
    if (!s) return s;
    std::string list;
    for (const char* v : values) {
      if (*s == v) return s;
      list += std::string(list.empty() ? "" : ", ") + v;
    }
    fail("", path, "Invalid " + path + ": must be one of " + list);
    return std::nullopt;
  }

  std::optional<int64_t> integer(const Json::Value& node, const char* key, const std::string& path, bool required,
                                 int64_t min, int64_t max) {
    auto s = str(node, key, path, required, 40);
    if (!s) return std::nullopt;
    const std::string& t = *s;
    size_t i = t[0] == '-' ? 1 : 0;
    if (i == t.size() || t.size() > 19 || t.find_first_not_of("0123456789", i) != std::string::npos) {
      fail("parameter_invalid_integer", path, "Invalid integer: " + t);
      return std::nullopt;
    }
    const int64_t v = std::stoll(t);
    if (v < min) {
      fail("parameter_invalid_integer", path,
           min == 0 ? "Invalid non-negative integer" : min == 1 ? "Invalid positive integer"
                                                             : "This value must be greater than or equal to " +
                                                                   std::to_string(min) + ".");
      return std::nullopt;
    }
    if (v > max) {
      fail("parameter_invalid_integer", path, "This value must be less than or equal to " + std::to_string(max) + ".");
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const Json::Value& node, const char* key, const std::string& path, bool required) {
    auto s = str(node, key, path, required, 10);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    fail("", path, "Invalid boolean: " + *s);
    return std::nullopt;
  }

  /* A nested hash; a string where a hash belongs -> "Invalid object". */
  const Json::Value* hash(const Json::Value& node, const char* key, const std::string& path, bool required) {
    if (failed()) return nullptr;
    if (!node.isMember(key)) {
      if (required) fail("parameter_missing", path, "Missing required param: " + path + ".");
      return nullptr;
    }
    if (!node[key].isObject()) {
      if (node[key].isString() && node[key].asString().empty() && !required) return nullptr;  // "" unsets
      fail("", path, "Invalid object");
      return nullptr;
    }
    return &node[key];
  }

  /* An array parameter (a[0]=..., a[]=...). */
  std::optional<std::vector<std::pair<std::string, const Json::Value*>>> list(const Json::Value& node, const char* key,
                                                                              const std::string& path, bool required) {
    if (failed()) return std::nullopt;
    if (!node.isMember(key)) {
      if (required) fail("parameter_missing", path, "Missing required param: " + path + ".");
      return std::nullopt;
    }
    auto items = list_items(node[key]);
    if (!items) {
      fail("", path, "Invalid array");
      return std::nullopt;
    }
    return items;
  }

  /* metadata: string -> string, at most 50 keys of at most 40 characters,
   * values of at most 500; an empty value unsets the key (left out here). */
  Json::Value metadata(const Json::Value& node, const char* key, const std::string& path) {
    Json::Value out = jobj();
    const Json::Value* m = hash(node, key, path, false);
    if (!m) return out;
    if (m->size() > 50) {
      fail("", path, "Invalid metadata: metadata can have at most 50 keys");
      return out;
    }
    for (const auto& k : m->getMemberNames()) {
      const std::string kp = path + "[" + k + "]";
      if (!(*m)[k].isString()) {
        fail("", kp, "Invalid string: metadata values must be strings");
        return out;
      }
      if (k.size() > 40) {
        fail("", kp, "Metadata keys can have up to 40 characters; '" + k + "' has " + std::to_string(k.size()) + ".");
        return out;
      }
      const std::string v = (*m)[k].asString();
      if (v.size() > 500) {
        fail("", kp, "Metadata values can have up to 500 characters, but you passed in a value that is " +
                         std::to_string(v.size()) + " characters.");
        return out;
      }
      if (!v.empty()) out[k] = v;
    }
    return out;
  }

  /* expand / expand[] against the expandable paths of the endpoint. */
  std::vector<std::string> expand(const Json::Value& node, std::initializer_list<const char*> allowed) {
    std::vector<std::string> out;
    auto items = list(node, "expand", "expand", false);
    if (!items) return out;
    for (const auto& [idx, v] : *items) {
      if (!v->isString()) {
        fail("", "expand[" + idx + "]", "Invalid string: expand[" + idx + "] must be a string");
        return out;
      }
      const std::string e = v->asString();
      bool ok = false;
      for (const char* a : allowed) if (e == a) ok = true;
      if (!ok) {
        fail("", "expand[" + idx + "]", "This property cannot be expanded (" + e + ").");
        return out;
      }
      out.push_back(e);
    }
    return out;
  }

 private:
  Call& c_;
};

inline bool is_valid_email(const std::string& e) {
  const size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || at != e.rfind('@') || e.size() > 800) return false;
  const std::string domain = e.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == domain.size()) return false;
  for (unsigned char ch : e) if (ch <= ' ' || ch == '<' || ch == '>' || ch == '"' || ch == ',') return false;
  return true;
}

inline bool is_valid_url(const std::string& u) {
  size_t host_start = starts_with(u, "https://") ? 8 : starts_with(u, "http://") ? 7 : 0;
  if (host_start == 0 || u.size() > 5000) return false;
  if (host_start == u.size() || u[host_start] == '/' || u[host_start] == '?' || u[host_start] == '#') return false;
  for (unsigned char ch : u) if (ch <= ' ' || ch == 0x7f) return false;
  return true;
}

inline bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/* ========================================================== rendering */

inline Json::Value list_object(const std::string& url, const Json::Value& data, bool has_more) {
  Json::Value l = jobj();
  l["object"] = "list";
  l["data"] = data;
  l["has_more"] = has_more;
  l["url"] = url;
  return l;
}

inline Json::Value refunds_of_charge(const State& st, const std::string& ch_id) {
  Json::Value data = jarr();
  for (auto it = st.refund_order.rbegin(); it != st.refund_order.rend(); ++it) {
    const Json::Value& r = st.refunds.at(*it);
    if (r["charge"].asString() == ch_id) data.append(r);
  }
  return data;
}

inline Json::Value render_charge(const State& st, const Json::Value& ch, const std::vector<std::string>& expand) {
  Json::Value out = ch;
  if (has(expand, "refunds")) {
    const Json::Value data = refunds_of_charge(st, ch["id"].asString());
    out["refunds"] = list_object("/v1/charges/" + ch["id"].asString() + "/refunds", data, false);
  }
  if (has(expand, "payment_intent") && ch["payment_intent"].isString()) {
    auto pi = st.payment_intents.find(ch["payment_intent"].asString());
    if (pi != st.payment_intents.end()) out["payment_intent"] = pi->second;
  }
  return out;
}

inline Json::Value render_payment_intent(const State& st, const Json::Value& pi, const std::vector<std::string>& expand) {
  Json::Value out = pi;
  if (has(expand, "latest_charge") && pi["latest_charge"].isString()) {
    auto ch = st.charges.find(pi["latest_charge"].asString());
    if (ch != st.charges.end()) out["latest_charge"] = ch->second;
  }
  return out;
}

inline Json::Value render_session(const State& st, const Json::Value& s, const std::vector<std::string>& expand) {
  Json::Value out = s;
  const std::string id = s["id"].asString();
  if (has(expand, "line_items")) {
    auto li = st.line_items.find(id);
    out["line_items"] = list_object("/v1/checkout/sessions/" + id + "/line_items",
                                    li == st.line_items.end() ? jarr() : li->second, false);
  }
  if ((has(expand, "payment_intent") || has(expand, "payment_intent.latest_charge")) && s["payment_intent"].isString()) {
    auto pi = st.payment_intents.find(s["payment_intent"].asString());
    if (pi != st.payment_intents.end()) {
      std::vector<std::string> sub;
      if (has(expand, "payment_intent.latest_charge")) sub.push_back("latest_charge");
      out["payment_intent"] = render_payment_intent(st, pi->second, sub);
    }
  }
  if (has(expand, "invoice") && s["invoice"].isString()) {
    auto in = st.invoices.find(s["invoice"].asString());
    if (in != st.invoices.end()) out["invoice"] = in->second;
  }
  return out;
}

/* limit (1..100, default 10), starting_after, ending_before over ids listed
 * newest first. */
inline std::vector<std::string> paginate(Params& p, const Json::Value& f, const std::vector<std::string>& newest_first,
                                         const std::string& object_name, bool& has_more) {
  has_more = false;
  std::vector<std::string> out;
  const int64_t limit = p.integer(f, "limit", "limit", false, 1, 100).value_or(10);
  auto after = p.str(f, "starting_after", "starting_after", false);
  auto before = p.str(f, "ending_before", "ending_before", false);
  if (p.failed()) return out;
  size_t begin = 0, end = newest_first.size();
  if (after) {
    auto it = std::find(newest_first.begin(), newest_first.end(), *after);
    if (it == newest_first.end()) {
      p.fail("resource_missing", "starting_after", "No such " + object_name + ": '" + *after + "'");
      return out;
    }
    begin = static_cast<size_t>(it - newest_first.begin()) + 1;
  }
  if (before) {
    auto it = std::find(newest_first.begin(), newest_first.end(), *before);
    if (it == newest_first.end()) {
      p.fail("resource_missing", "ending_before", "No such " + object_name + ": '" + *before + "'");
      return out;
    }
    end = static_cast<size_t>(it - newest_first.begin());
    // ending_before pages backwards: the `limit` items just before it.
    size_t start = end > static_cast<size_t>(limit) ? end - static_cast<size_t>(limit) : 0;
    has_more = start > begin;
    for (size_t i = std::max(start, begin); i < end; ++i) out.push_back(newest_first[i]);
    return out;
  }
  for (size_t i = begin; i < end && out.size() < static_cast<size_t>(limit); ++i) out.push_back(newest_first[i]);
  has_more = begin + out.size() < end;
  return out;
}

/* ========================================================= checkout */

inline Json::Value new_payment_intent(const State& st, const Json::Value& session, const Json::Value& pi_data) {
  Json::Value pi = jobj();
  const std::string id = new_id("pi_");
  pi["id"] = id;
  pi["object"] = "payment_intent";
  pi["amount"] = session["amount_total"];
  pi["amount_capturable"] = 0;
  pi["amount_details"] = jobj();
  pi["amount_details"]["tip"] = jobj();
  pi["amount_received"] = 0;
  pi["application"] = jnull();
  pi["application_fee_amount"] = jnull();
  pi["automatic_payment_methods"] = jnull();
  pi["canceled_at"] = jnull();
  pi["cancellation_reason"] = jnull();
  pi["capture_method"] = pi_data.isMember("capture_method") ? pi_data["capture_method"] : Json::Value("automatic_async");
  pi["client_secret"] = id + "_secret_" + random_base62(24);
  pi["confirmation_method"] = "automatic";
  pi["created"] = ji(now_s(st));
  pi["currency"] = session["currency"];
  pi["customer"] = jnull();
  pi["description"] = pi_data.isMember("description") ? pi_data["description"] : jnull();
  pi["last_payment_error"] = jnull();
  pi["latest_charge"] = jnull();
  pi["livemode"] = false;
  pi["metadata"] = pi_data.isMember("metadata") ? pi_data["metadata"] : jobj();
  pi["next_action"] = jnull();
  pi["on_behalf_of"] = jnull();
  pi["payment_method"] = jnull();
  Json::Value types = jarr();
  types.append("card");
  pi["payment_method_types"] = types;
  pi["processing"] = jnull();
  pi["receipt_email"] = pi_data.isMember("receipt_email") ? pi_data["receipt_email"] : jnull();
  pi["setup_future_usage"] = jnull();
  pi["shipping"] = jnull();
  pi["statement_descriptor"] = pi_data.isMember("statement_descriptor") ? pi_data["statement_descriptor"] : jnull();
  pi["statement_descriptor_suffix"] =
      pi_data.isMember("statement_descriptor_suffix") ? pi_data["statement_descriptor_suffix"] : jnull();
  pi["status"] = "requires_payment_method";
  pi["transfer_data"] = jnull();
  pi["transfer_group"] = jnull();
  return pi;
}

inline Json::Value new_charge(const State& st, const Json::Value& pi, const std::string& email, const std::string& name,
                              const std::string& pm_id, bool success, const std::string& base_url) {
  Json::Value ch = jobj();
  const std::string id = new_id("ch_");
  const int64_t amount = pi["amount"].asInt64();
  ch["id"] = id;
  ch["object"] = "charge";
  ch["amount"] = ji(amount);
  ch["amount_captured"] = ji(success ? amount : 0);
  ch["amount_refunded"] = 0;
  ch["application"] = jnull();
  ch["application_fee"] = jnull();
  ch["application_fee_amount"] = jnull();
  ch["balance_transaction"] = success ? Json::Value(new_id("txn_")) : jnull();
  Json::Value bd = jobj();
  bd["address"] = jnull();
  bd["email"] = email.empty() ? jnull() : Json::Value(email);
  bd["name"] = name.empty() ? jnull() : Json::Value(name);
  bd["phone"] = jnull();
  ch["billing_details"] = bd;
  ch["calculated_statement_descriptor"] = "EMULATOR";
  ch["captured"] = success;
  ch["created"] = ji(now_s(st));
  ch["currency"] = pi["currency"];
  ch["customer"] = jnull();
  ch["description"] = pi["description"];
  ch["disputed"] = false;
  ch["failure_balance_transaction"] = jnull();
  ch["failure_code"] = success ? jnull() : Json::Value("card_declined");
  ch["failure_message"] = success ? jnull() : Json::Value("Your card was declined.");
  ch["livemode"] = false;
  ch["metadata"] = pi["metadata"];
  Json::Value outcome = jobj();
  outcome["network_status"] = success ? "approved_by_network" : "declined_by_network";
  outcome["reason"] = success ? jnull() : Json::Value("generic_decline");
  outcome["risk_level"] = "normal";
  outcome["seller_message"] = success ? "Payment complete." : "The bank did not return any further details with this decline.";
  outcome["type"] = success ? "authorized" : "issuer_declined";
  ch["outcome"] = outcome;
  ch["paid"] = success;
  ch["payment_intent"] = pi["id"];
  ch["payment_method"] = pm_id;
  Json::Value pmd = jobj();
  pmd["type"] = "card";
  Json::Value card = jobj();
  card["brand"] = "visa";
  card["country"] = "US";
  card["exp_month"] = 12;
  card["exp_year"] = 2034;
  card["funding"] = "credit";
  card["last4"] = success ? "4242" : "0002";
  pmd["card"] = card;
  ch["payment_method_details"] = pmd;
  ch["receipt_email"] = pi["receipt_email"];
  ch["receipt_number"] = jnull();
  ch["receipt_url"] = success ? Json::Value(base_url + "/receipts/" + id) : jnull();
  ch["refunded"] = false;
  ch["statement_descriptor"] = jnull();
  ch["status"] = success ? "succeeded" : "failed";
  return ch;
}

inline Json::Value new_invoice(State& st, const Json::Value& session, const Json::Value& pi, const Json::Value& ch,
                               const std::string& email, const std::string& name, const std::string& base_url) {
  Json::Value in = jobj();
  const std::string id = new_id("in_");
  const Json::Value& data = session["invoice_creation"]["invoice_data"];
  char number[32];
  std::snprintf(number, sizeof number, "EMU-%04lld", static_cast<long long>(st.next_invoice_number++));
  in["id"] = id;
  in["object"] = "invoice";
  in["amount_due"] = session["amount_total"];
  in["amount_paid"] = session["amount_total"];
  in["amount_remaining"] = 0;
  in["billing_reason"] = "manual";
  in["charge"] = ch["id"];
  in["collection_method"] = "charge_automatically";
  in["created"] = ji(now_s(st));
  in["currency"] = session["currency"];
  in["custom_fields"] = data["custom_fields"];
  in["customer"] = jnull();
  in["customer_email"] = email;
  in["customer_name"] = name.empty() ? jnull() : Json::Value(name);
  in["description"] = data["description"];
  in["footer"] = data["footer"];
  in["hosted_invoice_url"] = base_url + "/invoices/" + id;
  in["invoice_pdf"] = base_url + "/invoices/" + id + "/pdf";
  Json::Value lines = jarr();
  auto li = st.line_items.find(session["id"].asString());
  if (li != st.line_items.end()) {
    for (const auto& item : li->second) {
      Json::Value l = jobj();
      l["id"] = new_id("il_");
      l["object"] = "line_item";
      l["amount"] = item["amount_total"];
      l["currency"] = item["currency"];
      l["description"] = item["description"];
      l["quantity"] = item["quantity"];
      lines.append(l);
    }
  }
  in["lines"] = list_object("/v1/invoices/" + id + "/lines", lines, false);
  in["livemode"] = false;
  in["metadata"] = data["metadata"];
  in["number"] = number;
  in["paid"] = true;
  in["payment_intent"] = pi["id"];
  in["status"] = "paid";
  in["subtotal"] = session["amount_subtotal"];
  in["total"] = session["amount_total"];
  return in;
}

/* Expires an open session (status expired, url null); a PaymentIntent left
 * from a declined attempt is canceled. Emits payment_intent.canceled and
 * checkout.session.expired. Precondition: the session is open. st.mu held. */
inline void expire_session(State& st, const std::string& id, const Origin& origin, std::vector<std::string>& batch) {
  Json::Value& s = st.sessions.at(id);
  if (s["payment_intent"].isString()) {
    auto pi = st.payment_intents.find(s["payment_intent"].asString());
    if (pi != st.payment_intents.end() && pi->second["status"].asString() != "succeeded") {
      pi->second["status"] = "canceled";
      pi->second["canceled_at"] = ji(now_s(st));
      pi->second["cancellation_reason"] = "abandoned";
      emit_event(st, batch, "payment_intent.canceled", pi->second, jnull(), origin);
    }
  }
  s["status"] = "expired";
  s["url"] = jnull();
  emit_event(st, batch, "checkout.session.expired", s, jnull(), origin);
}

/* Expires every open session past its expires_at (Stripe's background job;
 * the events carry request null). Returns the ids. st.mu held. */
inline std::vector<std::string> sweep_expired(State& st, const Config& cfg, std::vector<std::string>& batch) {
  std::vector<std::string> done;
  const int64_t now = now_s(st);
  for (const auto& id : st.session_order) {
    const Json::Value& s = st.sessions.at(id);
    if (s["status"].asString() == "open" && s["expires_at"].asInt64() <= now) {
      expire_session(st, id, background_origin(st, cfg, id), batch);
      done.push_back(id);
    }
  }
  return done;
}

struct PayResult {
  int status = 200;                   // 4xx when the session cannot be paid
  std::string error;
  std::string redirect_url;           // success: success_url with the id filled in
  bool paid = false;
};

/* The customer pays (success) or the card is declined on the hosted page
 * (reference §5.1 "pay"). success: PaymentIntent + Charge (+ Invoice), the
 * session complete/paid, events payment_intent.created, charge.succeeded,
 * payment_intent.succeeded, [invoice.*], checkout.session.completed.
 * decline: a failed Charge, the intent back to requires_payment_method with
 * last_payment_error card_declined, events charge.failed and
 * payment_intent.payment_failed; the session stays open. st.mu held. */
inline PayResult pay_session(State& st, const Config& cfg, const std::string& base_url, const std::string& cs_id,
                             bool success, std::string email, const std::string& name, std::vector<std::string>& batch) {
  PayResult r;
  auto it = st.sessions.find(cs_id);
  if (it == st.sessions.end()) return {404, "No such checkout.session: '" + cs_id + "'", "", false};
  sweep_expired(st, cfg, batch);
  Json::Value& s = it->second;
  const std::string status = s["status"].asString();
  if (status == "expired") return {409, "This Checkout Session has expired.", "", false};
  if (status == "complete") return {409, "This Checkout Session is already complete.", "", false};
  if (email.empty() && s["customer_email"].isString()) email = s["customer_email"].asString();
  if (success && !is_valid_email(email)) return {400, "Enter a valid e-mail address.", "", false};
  const Origin origin = background_origin(st, cfg, cs_id);
  const Json::Value& pi_data = st.pi_data[cs_id];
  std::string pi_id = s["payment_intent"].isString() ? s["payment_intent"].asString() : "";
  if (pi_id.empty()) {
    Json::Value pi = new_payment_intent(st, s, pi_data);
    pi_id = pi["id"].asString();
    st.payment_intents[pi_id] = pi;
    st.api_version_of[pi_id] = origin.api_version;
    s["payment_intent"] = pi_id;
    emit_event(st, batch, "payment_intent.created", pi, jnull(), origin);
  }
  Json::Value& pi = st.payment_intents[pi_id];
  const std::string pm_id = new_id("pm_");
  Json::Value ch = new_charge(st, pi, email, name, pm_id, success, base_url);
  const std::string ch_id = ch["id"].asString();
  st.charges[ch_id] = ch;
  st.api_version_of[ch_id] = origin.api_version;
  pi["latest_charge"] = ch_id;
  pi["payment_method"] = pm_id;
  if (!success) {
    Json::Value err = jobj();
    err["charge"] = ch_id;
    err["code"] = "card_declined";
    err["decline_code"] = "generic_decline";
    err["doc_url"] = "https://stripe.com/docs/error-codes/card-declined";
    err["message"] = "Your card was declined.";
    err["type"] = "card_error";
    pi["last_payment_error"] = err;
    pi["status"] = "requires_payment_method";
    emit_event(st, batch, "charge.failed", ch, jnull(), origin);
    emit_event(st, batch, "payment_intent.payment_failed", pi, jnull(), origin);
    st.counters.n_payments_declined++;
    r.status = 402;
    r.error = "Your card was declined.";
    return r;
  }
  pi["status"] = "succeeded";
  pi["amount_received"] = pi["amount"];
  pi["last_payment_error"] = jnull();
  emit_event(st, batch, "charge.succeeded", ch, jnull(), origin);
  emit_event(st, batch, "payment_intent.succeeded", pi, jnull(), origin);
  Json::Value invoice_id = jnull();
  if (s["invoice_creation"].isObject() && s["invoice_creation"]["enabled"].asBool()) {
    Json::Value in = new_invoice(st, s, pi, ch, email, name, base_url);
    invoice_id = in["id"];
    st.invoices[in["id"].asString()] = in;
    Json::Value draft = in, open = in;
    draft["status"] = "draft";
    draft["paid"] = false;
    draft["amount_paid"] = 0;
    draft["amount_remaining"] = in["amount_due"];
    draft["number"] = jnull();
    open["status"] = "open";
    open["paid"] = false;
    open["amount_paid"] = 0;
    open["amount_remaining"] = in["amount_due"];
    emit_event(st, batch, "invoice.created", draft, jnull(), origin);
    emit_event(st, batch, "invoice.finalized", open, jnull(), origin);
    emit_event(st, batch, "invoice.paid", in, jnull(), origin);
  }
  Json::Value cd = jobj();
  cd["address"] = jnull();
  cd["email"] = email;
  cd["name"] = name.empty() ? jnull() : Json::Value(name);
  cd["phone"] = jnull();
  cd["tax_exempt"] = "none";
  cd["tax_ids"] = jarr();
  s["customer_details"] = cd;
  s["invoice"] = invoice_id;
  s["payment_status"] = "paid";
  s["status"] = "complete";
  s["url"] = jnull();
  emit_event(st, batch, "checkout.session.completed", s, jnull(), origin);
  st.counters.n_payments_succeeded++;
  std::string url = s["success_url"].asString();
  const std::string placeholder = "{CHECKOUT_SESSION_ID}";
  for (size_t p = url.find(placeholder); p != std::string::npos; p = url.find(placeholder, p + cs_id.size())) {
    url.replace(p, placeholder.size(), cs_id);
  }
  r.redirect_url = url;
  r.paid = true;
  return r;
}

/* POST /v1/checkout/sessions (§1.2, §5.1). */
inline Reply handle_create_session(Call& c) {
  Params p(c);
  const Json::Value& f = c.form;
  p.only(f, "", {"mode", "line_items", "success_url", "cancel_url", "customer_email", "customer", "client_reference_id",
                 "metadata", "payment_intent_data", "expires_at", "invoice_creation", "payment_method_types", "locale",
                 "submit_type", "expand", "ui_mode", "currency", "allow_promotion_codes", "billing_address_collection",
                 "customer_creation"});
  auto mode = p.one_of(f, "mode", "mode", true, {"payment", "setup", "subscription"});
  if (mode && *mode != "payment") {
    p.fail("", "mode", "The Stripe emulator implements mode=payment only (got mode=" + *mode + ").");
  }
  auto ui_mode = p.one_of(f, "ui_mode", "ui_mode", false, {"hosted", "hosted_page", "embedded", "embedded_page", "custom", "elements", "form"});
  if (ui_mode && *ui_mode != "hosted" && *ui_mode != "hosted_page") {
    p.fail("", "ui_mode", "The Stripe emulator implements the hosted page only; leave ui_mode unset.");
  }
  // Line items.
  Json::Value items = jarr();
  std::string currency;
  int64_t subtotal = 0;
  auto list = p.list(f, "line_items", "line_items", true);
  if (list && list->empty()) p.fail("parameter_missing", "line_items", "Missing required param: line_items.");
  if (list && list->size() > 100) p.fail("", "line_items", "You may only specify up to 100 line items.");
  if (list) {
    for (const auto& [idx, node] : *list) {
      if (p.failed()) break;
      const std::string lp = "line_items[" + idx + "]";
      if (!node->isObject()) { p.fail("", lp, "Invalid object"); break; }
      p.only(*node, lp, {"price_data", "price", "quantity"});
      if (auto price = p.str(*node, "price", lp + "[price]", false)) {
        p.fail("resource_missing", lp + "[price]", "No such price: '" + *price + "'");
        break;
      }
      const Json::Value* pd = p.hash(*node, "price_data", lp + "[price_data]", false);
      if (!pd) {
        if (!p.failed()) p.fail("", lp, "You must specify either `price` or `price_data` for each line item.");
        break;
      }
      const std::string pp = lp + "[price_data]";
      p.only(*pd, pp, {"currency", "unit_amount", "unit_amount_decimal", "product_data", "product", "tax_behavior", "recurring"});
      if (pd->isMember("recurring")) { p.fail("", pp + "[recurring]", "Recurring prices need mode=subscription."); break; }
      auto cur = p.str(*pd, "currency", pp + "[currency]", true, 3);
      std::string cur_l;
      if (cur) {
        cur_l = *cur;
        for (auto& ch : cur_l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!is_supported_currency(cur_l)) { p.fail("", pp + "[currency]", "Invalid currency: " + *cur); break; }
      }
      std::optional<int64_t> unit = p.integer(*pd, "unit_amount", pp + "[unit_amount]", false, 0, 99999999);
      if (!p.failed() && !unit) {
        if (auto dec = p.str(*pd, "unit_amount_decimal", pp + "[unit_amount_decimal]", false, 30)) {
          std::string d = *dec;
          size_t dot = d.find('.');
          std::string whole = d.substr(0, dot), frac = dot == std::string::npos ? "" : d.substr(dot + 1);
          if (whole.empty() || whole.size() > 8 || whole.find_first_not_of("0123456789") != std::string::npos ||
              frac.find_first_not_of("0") != std::string::npos) {
            p.fail("", pp + "[unit_amount_decimal]",
                   "Invalid decimal: " + d + " (the emulator needs a whole number of minor units)");
          } else {
            unit = std::stoll(whole);
          }
        } else if (!p.failed()) {
          p.fail("parameter_missing", pp + "[unit_amount]", "Missing required param: " + pp + "[unit_amount].");
        }
      }
      p.one_of(*pd, "tax_behavior", pp + "[tax_behavior]", false, {"exclusive", "inclusive", "unspecified"});
      if (auto prod = p.str(*pd, "product", pp + "[product]", false)) {
        p.fail("resource_missing", pp + "[product]", "No such product: '" + *prod + "'");
        break;
      }
      const Json::Value* prod = p.hash(*pd, "product_data", pp + "[product_data]", true);
      std::optional<std::string> name, description;
      Json::Value prod_meta = jobj();
      if (prod) {
        const std::string dp = pp + "[product_data]";
        p.only(*prod, dp, {"name", "description", "images", "metadata", "tax_code", "unit_label"});
        name = p.str(*prod, "name", dp + "[name]", true, 250);
        description = p.str(*prod, "description", dp + "[description]", false, 40000);
        if (auto imgs = p.list(*prod, "images", dp + "[images]", false)) {
          if (imgs->size() > 8) p.fail("", dp + "[images]", "You can pass up to 8 images.");
          for (const auto& [ii, img] : *imgs) {
            if (!img->isString() || !is_valid_url(img->asString())) {
              p.fail("url_invalid", dp + "[images][" + ii + "]", "Not a valid URL");
            }
          }
        }
        prod_meta = p.metadata(*prod, "metadata", dp + "[metadata]");
        p.str(*prod, "tax_code", dp + "[tax_code]", false);
        p.str(*prod, "unit_label", dp + "[unit_label]", false, 12);
      }
      auto qty = p.integer(*node, "quantity", lp + "[quantity]", true, 1, 999999);
      if (p.failed()) break;
      if (currency.empty()) currency = cur_l;
      if (cur_l != currency) {
        p.fail("", pp + "[currency]", "All line items must use the same currency (" + currency + "), got " + cur_l + ".");
        break;
      }
      Json::Value price = jobj();
      price["id"] = new_id("price_");
      price["object"] = "price";
      price["active"] = false;
      price["currency"] = cur_l;
      price["livemode"] = false;
      price["product"] = new_id("prod_");
      price["type"] = "one_time";
      price["unit_amount"] = ji(*unit);
      price["unit_amount_decimal"] = std::to_string(*unit);
      Json::Value item = jobj();
      item["id"] = new_id("li_");
      item["object"] = "item";
      item["amount_discount"] = 0;
      item["amount_subtotal"] = ji(*unit * *qty);
      item["amount_tax"] = 0;
      item["amount_total"] = ji(*unit * *qty);
      item["currency"] = cur_l;
      item["description"] = *name;
      item["price"] = price;
      item["quantity"] = ji(*qty);
      items.append(item);
      subtotal += *unit * *qty;
    }
  }
  if (auto cur = p.str(f, "currency", "currency", false, 3)) {
    std::string l = *cur;
    for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!currency.empty() && l != currency) p.fail("", "currency", "currency must match the line items' currency (" + currency + ").");
  }
  auto success_url = p.str(f, "success_url", "success_url", true);
  if (success_url && !is_valid_url(*success_url)) p.fail("url_invalid", "success_url", "Not a valid URL");
  auto cancel_url = p.str(f, "cancel_url", "cancel_url", false);
  if (cancel_url && !is_valid_url(*cancel_url)) p.fail("url_invalid", "cancel_url", "Not a valid URL");
  if (auto customer = p.str(f, "customer", "customer", false)) {
    p.fail("resource_missing", "customer", "No such customer: '" + *customer + "'");
  }
  auto email = p.str(f, "customer_email", "customer_email", false, 800);
  if (email && !is_valid_email(*email)) p.fail("email_invalid", "customer_email", "Invalid email address: " + *email);
  auto client_ref = p.str(f, "client_reference_id", "client_reference_id", false, 200);
  Json::Value metadata = p.metadata(f, "metadata", "metadata");
  // payment_intent_data
  Json::Value pi_data = jobj();
  if (const Json::Value* pid = p.hash(f, "payment_intent_data", "payment_intent_data", false)) {
    const std::string pp = "payment_intent_data";
    p.only(*pid, pp, {"metadata", "description", "receipt_email", "statement_descriptor", "statement_descriptor_suffix",
                      "capture_method"});
    pi_data["metadata"] = p.metadata(*pid, "metadata", pp + "[metadata]");
    if (auto d = p.str(*pid, "description", pp + "[description]", false, 1000)) pi_data["description"] = *d;
    if (auto re = p.str(*pid, "receipt_email", pp + "[receipt_email]", false, 800)) {
      if (!is_valid_email(*re)) p.fail("email_invalid", pp + "[receipt_email]", "Invalid email address: " + *re);
      pi_data["receipt_email"] = *re;
    }
    if (auto sd = p.str(*pid, "statement_descriptor", pp + "[statement_descriptor]", false, 22)) pi_data["statement_descriptor"] = *sd;
    if (auto sd = p.str(*pid, "statement_descriptor_suffix", pp + "[statement_descriptor_suffix]", false, 22)) {
      pi_data["statement_descriptor_suffix"] = *sd;
    }
    if (auto cm = p.one_of(*pid, "capture_method", pp + "[capture_method]", false, {"automatic", "automatic_async", "manual"})) {
      if (*cm == "manual") p.fail("", pp + "[capture_method]", "The Stripe emulator does not implement manual capture.");
      pi_data["capture_method"] = *cm;
    }
  }
  const int64_t now = now_s(c.st);
  auto expires_at = p.integer(f, "expires_at", "expires_at", false, 0, int64_t{1} << 40);
  // A few seconds of grace below 30 min: a client computing now+1800 should
  // not fail on the second that passes in transit.
  if (expires_at && *expires_at < now + 1800 - 5) {
    p.fail("", "expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.");
  }
  if (expires_at && *expires_at > now + 86400) {
    p.fail("", "expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.");
  }
  Json::Value invoice_creation = jobj();
  invoice_creation["enabled"] = false;
  Json::Value invoice_data = jobj();
  invoice_data["account_tax_ids"] = jnull();
  invoice_data["custom_fields"] = jnull();
  invoice_data["description"] = jnull();
  invoice_data["footer"] = jnull();
  invoice_data["issuer"] = jnull();
  invoice_data["metadata"] = jobj();
  invoice_data["rendering_options"] = jnull();
  if (const Json::Value* ic = p.hash(f, "invoice_creation", "invoice_creation", false)) {
    p.only(*ic, "invoice_creation", {"enabled", "invoice_data"});
    auto enabled = p.boolean(*ic, "enabled", "invoice_creation[enabled]", true);
    if (enabled) invoice_creation["enabled"] = *enabled;
    if (const Json::Value* id = p.hash(*ic, "invoice_data", "invoice_creation[invoice_data]", false)) {
      const std::string dp = "invoice_creation[invoice_data]";
      p.only(*id, dp, {"description", "footer", "metadata", "custom_fields"});
      if (auto d = p.str(*id, "description", dp + "[description]", false, 1500)) invoice_data["description"] = *d;
      if (auto d = p.str(*id, "footer", dp + "[footer]", false, 5000)) invoice_data["footer"] = *d;
      invoice_data["metadata"] = p.metadata(*id, "metadata", dp + "[metadata]");
      if (auto cf = p.list(*id, "custom_fields", dp + "[custom_fields]", false)) {
        if (cf->size() > 4) p.fail("", dp + "[custom_fields]", "You can pass up to 4 custom fields.");
        Json::Value fields = jarr();
        for (const auto& [ci, fnode] : *cf) {
          const std::string fp = dp + "[custom_fields][" + ci + "]";
          if (!fnode->isObject()) { p.fail("", fp, "Invalid object"); break; }
          p.only(*fnode, fp, {"name", "value"});
          auto n = p.str(*fnode, "name", fp + "[name]", true, 40);
          auto v = p.str(*fnode, "value", fp + "[value]", true, 140);
          if (n && v) {
            Json::Value cfj = jobj();
            cfj["name"] = *n;
            cfj["value"] = *v;
            fields.append(cfj);
          }
        }
        invoice_data["custom_fields"] = fields;
      }
    }
  }
  invoice_creation["invoice_data"] = invoice_data;
  Json::Value pm_types = jarr();
  if (auto pmt = p.list(f, "payment_method_types", "payment_method_types", false)) {
    for (const auto& [pi_idx, v] : *pmt) {
      const std::string tp = "payment_method_types[" + pi_idx + "]";
      if (!v->isString() || v->asString().empty()) { p.fail("", tp, "Invalid string"); break; }
      static const std::set<std::string> known = {"card", "link", "us_bank_account", "sepa_debit", "ideal",
                                                  "bancontact", "paypal", "klarna", "affirm", "cashapp"};
      if (!known.count(v->asString())) {
        p.fail("", tp, "Invalid payment_method_types[" + pi_idx + "]: unknown payment method type " + v->asString());
        break;
      }
      pm_types.append(v->asString());
    }
  }
  if (pm_types.empty()) pm_types.append("card");
  auto locale = p.str(f, "locale", "locale", false, 10);
  auto submit_type = p.one_of(f, "submit_type", "submit_type", false, {"auto", "book", "donate", "pay", "subscribe"});
  auto promo = p.boolean(f, "allow_promotion_codes", "allow_promotion_codes", false);
  auto bac = p.one_of(f, "billing_address_collection", "billing_address_collection", false, {"auto", "required"});
  auto customer_creation = p.one_of(f, "customer_creation", "customer_creation", false, {"always", "if_required"});
  auto expand = p.expand(f, {"payment_intent", "line_items", "invoice", "payment_intent.latest_charge"});
  if (!p.failed() && subtotal < minimum_amount(currency)) {
    p.fail("amount_too_small", "line_items",
           "The Checkout Session's total amount due must add up to at least " +
               format_money(minimum_amount(currency), currency) + " " + currency);
  }
  if (p.failed()) return *p.error;

  // Validated: from here on the request executes and is kept for replays.
  Json::Value s = jobj();
  const std::string id = "cs_test_" + random_base62(58);
  s["id"] = id;
  s["object"] = "checkout.session";
  s["after_expiration"] = jnull();
  s["allow_promotion_codes"] = promo ? Json::Value(*promo) : jnull();
  s["amount_subtotal"] = ji(subtotal);
  s["amount_total"] = ji(subtotal);
  Json::Value at = jobj();
  at["enabled"] = false;
  at["liability"] = jnull();
  at["status"] = jnull();
  s["automatic_tax"] = at;
  s["billing_address_collection"] = bac ? Json::Value(*bac) : jnull();
  s["cancel_url"] = cancel_url ? Json::Value(*cancel_url) : jnull();
  s["client_reference_id"] = client_ref ? Json::Value(*client_ref) : jnull();
  s["client_secret"] = jnull();
  s["created"] = ji(now);
  s["currency"] = currency;
  s["custom_fields"] = jarr();
  s["customer"] = jnull();
  s["customer_creation"] = customer_creation ? *customer_creation : std::string("if_required");
  s["customer_details"] = email ? [&] {
    Json::Value cd = jobj();
    cd["address"] = jnull();
    cd["email"] = *email;
    cd["name"] = jnull();
    cd["phone"] = jnull();
    cd["tax_exempt"] = "none";
    cd["tax_ids"] = jnull();
    return cd;
  }() : jnull();
  s["customer_email"] = email ? Json::Value(*email) : jnull();
  s["expires_at"] = ji(expires_at.value_or(now + 86400));
  s["invoice"] = jnull();
  s["invoice_creation"] = invoice_creation;
  s["livemode"] = false;
  s["locale"] = locale ? Json::Value(*locale) : jnull();
  s["metadata"] = metadata;
  s["mode"] = "payment";
  s["payment_intent"] = jnull();
  s["payment_link"] = jnull();
  s["payment_method_collection"] = "if_required";
  s["payment_method_types"] = pm_types;
  s["payment_status"] = "unpaid";
  Json::Value pnc = jobj();
  pnc["enabled"] = false;
  s["phone_number_collection"] = pnc;
  s["recovered_from"] = jnull();
  s["setup_intent"] = jnull();
  s["shipping_address_collection"] = jnull();
  s["status"] = "open";
  s["submit_type"] = submit_type ? Json::Value(*submit_type) : jnull();
  s["subscription"] = jnull();
  s["success_url"] = *success_url;
  Json::Value td = jobj();
  td["amount_discount"] = 0;
  td["amount_shipping"] = 0;
  td["amount_tax"] = 0;
  s["total_details"] = td;
  s["ui_mode"] = ui_mode ? Json::Value(*ui_mode) : Json::Value("hosted");
  s["url"] = c.base_url + "/pay/" + id;
  c.st.sessions[id] = s;
  c.st.line_items[id] = items;
  c.st.pi_data[id] = pi_data;
  c.st.api_version_of[id] = c.api_version;
  c.st.session_order.push_back(id);
  Reply r = ok_json(render_session(c.st, s, expand));
  r.store_idempotent = true;
  return r;
}

/* GET /v1/checkout/sessions/:id */
inline Reply handle_get_session(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  auto expand = p.expand(c.form, {"payment_intent", "line_items", "invoice", "payment_intent.latest_charge"});
  if (p.failed()) return *p.error;
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return no_such(c, "checkout.session", c.params[0]);
  return ok_json(render_session(c.st, it->second, expand));
}

/* GET /v1/checkout/sessions/:id/line_items */
inline Reply handle_get_line_items(Call& c) {
  Params p(c);
  p.only(c.form, "", {"limit", "starting_after", "ending_before", "expand"});
  if (p.failed()) return *p.error;
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return no_such(c, "checkout.session", c.params[0]);
  const Json::Value& items = c.st.line_items[c.params[0]];
  std::vector<std::string> ids;  // line items list in their given order
  std::map<std::string, Json::Value> by_id;
  for (const auto& li : items) { ids.push_back(li["id"].asString()); by_id[li["id"].asString()] = li; }
  bool more = false;
  auto page = paginate(p, c.form, ids, "line_item", more);
  if (p.failed()) return *p.error;
  Json::Value data = jarr();
  for (const auto& id : page) data.append(by_id[id]);
  return ok_json(list_object("/v1/checkout/sessions/" + c.params[0] + "/line_items", data, more));
}

/* GET /v1/checkout/sessions (filters payment_intent, status). */
inline Reply handle_list_sessions(Call& c) {
  Params p(c);
  p.only(c.form, "", {"limit", "starting_after", "ending_before", "payment_intent", "status", "expand", "created"});
  auto pi = p.str(c.form, "payment_intent", "payment_intent", false);
  auto status = p.one_of(c.form, "status", "status", false, {"open", "complete", "expired"});
  std::vector<std::string> expand;
  if (auto ex = p.list(c.form, "expand", "expand", false)) {
    for (const auto& [i, v] : *ex) {
      const std::string e = v->isString() ? v->asString() : "";
      if (!starts_with(e, "data.")) { p.fail("", "expand[" + i + "]", "This property cannot be expanded (" + e + ")."); break; }
      const std::string inner = e.substr(5);
      if (inner != "payment_intent" && inner != "line_items" && inner != "invoice") {
        p.fail("", "expand[" + i + "]", "This property cannot be expanded (" + e + ").");
        break;
      }
      expand.push_back(inner);
    }
  }
  if (c.form.isMember("created")) p.fail("", "created", "The Stripe emulator does not filter sessions by created.");
  if (p.failed()) return *p.error;
  std::vector<std::string> ids;
  for (auto it = c.st.session_order.rbegin(); it != c.st.session_order.rend(); ++it) {
    const Json::Value& s = c.st.sessions.at(*it);
    if (pi && s["payment_intent"].asString() != *pi) continue;
    if (status && s["status"].asString() != *status) continue;
    ids.push_back(*it);
  }
  bool more = false;
  auto page = paginate(p, c.form, ids, "checkout.session", more);
  if (p.failed()) return *p.error;
  Json::Value data = jarr();
  for (const auto& id : page) data.append(render_session(c.st, c.st.sessions.at(id), expand));
  return ok_json(list_object("/v1/checkout/sessions", data, more));
}

/* POST /v1/checkout/sessions/:id/expire: only while open. */
inline Reply handle_expire_session(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  auto expand = p.expand(c.form, {"payment_intent", "line_items", "invoice"});
  if (p.failed()) return *p.error;
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return no_such(c, "checkout.session", c.params[0]);
  sweep_expired(c.st, c.cfg, c.new_events);
  const std::string status = it->second["status"].asString();
  if (status != "open") {
    return invalid(c, "", "",
                   "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a "
                   "status of \"" + status + "\".");
  }
  expire_session(c.st, c.params[0], api_origin(c), c.new_events);
  Reply r = ok_json(render_session(c.st, it->second, expand));
  r.store_idempotent = true;
  return r;
}

/* ==================================================== payment intents */

inline Reply handle_get_payment_intent(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand", "client_secret"});
  auto expand = p.expand(c.form, {"latest_charge"});
  if (p.failed()) return *p.error;
  auto it = c.st.payment_intents.find(c.params[0]);
  if (it == c.st.payment_intents.end()) return no_such(c, "payment_intent", c.params[0]);
  return ok_json(render_payment_intent(c.st, it->second, expand));
}

/* POST /v1/payment_intents/:id/{confirm,cancel}: a Checkout Session's
 * intent can be neither confirmed nor canceled through the API (§1.3). */
inline Reply handle_pi_action_refused(Call& c) {
  auto it = c.st.payment_intents.find(c.params[0]);
  if (it == c.st.payment_intents.end()) return no_such(c, "payment_intent", c.params[0]);
  return invalid(c, "payment_intent_unexpected_state", "",
                 "This PaymentIntent belongs to a Checkout Session and cannot be confirmed or canceled through "
                 "the API. Expire the Checkout Session instead.");
}

/* ============================================================ charges */

inline Reply handle_get_charge(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  auto expand = p.expand(c.form, {"refunds", "payment_intent"});
  if (p.failed()) return *p.error;
  auto it = c.st.charges.find(c.params[0]);
  if (it == c.st.charges.end()) return no_such(c, "charge", c.params[0]);
  return ok_json(render_charge(c.st, it->second, expand));
}

inline Reply handle_get_invoice(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  auto expand = p.expand(c.form, {"payment_intent", "charge"});
  if (p.failed()) return *p.error;
  auto it = c.st.invoices.find(c.params[0]);
  if (it == c.st.invoices.end()) return no_such(c, "invoice", c.params[0]);
  Json::Value out = it->second;
  if (has(expand, "payment_intent")) out["payment_intent"] = c.st.payment_intents[out["payment_intent"].asString()];
  if (has(expand, "charge")) out["charge"] = c.st.charges[out["charge"].asString()];
  return ok_json(out);
}

/* ============================================================ refunds */

inline Json::Value render_refund(const State& st, const Json::Value& re, const std::vector<std::string>& expand) {
  Json::Value out = re;
  if (has(expand, "charge")) out["charge"] = st.charges.at(re["charge"].asString());
  if (has(expand, "payment_intent") && re["payment_intent"].isString()) {
    out["payment_intent"] = st.payment_intents.at(re["payment_intent"].asString());
  }
  return out;
}

/* POST /v1/refunds (§1.5). */
inline Reply handle_create_refund(Call& c) {
  Params p(c);
  const Json::Value& f = c.form;
  p.only(f, "", {"payment_intent", "charge", "amount", "reason", "metadata", "expand", "instructions_email"});
  auto pi_id = p.str(f, "payment_intent", "payment_intent", false);
  auto ch_id = p.str(f, "charge", "charge", false);
  auto amount = p.integer(f, "amount", "amount", false, 1, 99999999);
  auto reason = p.one_of(f, "reason", "reason", false, {"duplicate", "fraudulent", "requested_by_customer"});
  Json::Value metadata = p.metadata(f, "metadata", "metadata");
  auto ie = p.str(f, "instructions_email", "instructions_email", false, 800);
  if (ie && !is_valid_email(*ie)) p.fail("email_invalid", "instructions_email", "Invalid email address: " + *ie);
  auto expand = p.expand(f, {"charge", "payment_intent"});
  if (!p.failed() && !pi_id && !ch_id) {
    p.fail("parameter_missing", "", "One of the following params should be provided for this request: payment_intent or charge.");
  }
  if (p.failed()) return *p.error;
  std::string charge_id;
  if (pi_id) {
    auto pi = c.st.payment_intents.find(*pi_id);
    if (pi == c.st.payment_intents.end()) {
      return invalid(c, "resource_missing", "payment_intent", "No such payment_intent: '" + *pi_id + "'");
    }
    const Json::Value& latest = pi->second["latest_charge"];
    if (pi->second["status"].asString() != "succeeded" || !latest.isString()) {
      return invalid(c, "", "payment_intent", "This PaymentIntent (" + *pi_id + ") does not have a successful charge to refund.");
    }
    charge_id = latest.asString();
    if (ch_id && *ch_id != charge_id) {
      return invalid(c, "", "charge", "The charge '" + *ch_id + "' does not belong to PaymentIntent '" + *pi_id + "'.");
    }
  } else {
    charge_id = *ch_id;
    if (!c.st.charges.count(charge_id)) {
      return invalid(c, "resource_missing", "charge", "No such charge: '" + charge_id + "'");
    }
  }
  Json::Value& ch = c.st.charges.at(charge_id);
  if (ch["status"].asString() != "succeeded") {
    return invalid(c, "", "charge", "Charge " + charge_id + " has not succeeded and cannot be refunded.");
  }
  const int64_t captured = ch["amount_captured"].asInt64();
  const int64_t refunded = ch["amount_refunded"].asInt64();
  const int64_t remaining = captured - refunded;
  const std::string cur = ch["currency"].asString();
  if (remaining <= 0) {
    return invalid(c, "charge_already_refunded", "", "Charge " + charge_id + " has already been refunded.");
  }
  if (amount && *amount > remaining) {
    return invalid(c, "amount_too_large", "amount",
                   "Refund amount (" + format_money(*amount, cur) + ") is greater than unrefunded amount on charge (" +
                       format_money(remaining, cur) + ")");
  }
  const int64_t n = amount.value_or(remaining);
  Json::Value re = jobj();
  const std::string re_id = new_id("re_");
  re["id"] = re_id;
  re["object"] = "refund";
  re["amount"] = ji(n);
  re["balance_transaction"] = new_id("txn_");
  re["charge"] = charge_id;
  re["created"] = ji(now_s(c.st));
  re["currency"] = cur;
  Json::Value dd = jobj();
  dd["type"] = "card";
  Json::Value dcard = jobj();
  dcard["reference_status"] = "pending";
  dcard["reference_type"] = "acquirer_reference_number";
  dcard["type"] = "refund";
  dd["card"] = dcard;
  re["destination_details"] = dd;
  re["metadata"] = metadata;
  re["payment_intent"] = ch["payment_intent"];
  re["reason"] = reason ? Json::Value(*reason) : jnull();
  re["receipt_number"] = jnull();
  re["source_transfer_reversal"] = jnull();
  re["status"] = c.st.refund_status;
  re["transfer_reversal"] = jnull();
  c.st.refunds[re_id] = re;
  c.st.refund_order.push_back(re_id);
  c.st.api_version_of[re_id] = c.api_version;
  Json::Value prev = jobj();
  prev["amount_refunded"] = ji(refunded);
  if (refunded + n == captured) prev["refunded"] = false;
  ch["amount_refunded"] = ji(refunded + n);
  ch["refunded"] = refunded + n == captured;
  c.st.counters.n_refunds++;
  const Origin origin = api_origin(c);
  emit_event(c.st, c.new_events, "charge.refunded", ch, prev, origin);
  emit_event(c.st, c.new_events, "refund.created", re, jnull(), origin);
  Reply r = ok_json(render_refund(c.st, re, expand));
  r.store_idempotent = true;
  return r;
}

inline Reply handle_get_refund(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  auto expand = p.expand(c.form, {"charge", "payment_intent"});
  if (p.failed()) return *p.error;
  auto it = c.st.refunds.find(c.params[0]);
  if (it == c.st.refunds.end()) return no_such(c, "refund", c.params[0]);
  return ok_json(render_refund(c.st, it->second, expand));
}

/* GET /v1/refunds (filters charge, payment_intent). */
inline Reply handle_list_refunds(Call& c) {
  Params p(c);
  p.only(c.form, "", {"limit", "starting_after", "ending_before", "charge", "payment_intent", "expand", "created"});
  auto ch = p.str(c.form, "charge", "charge", false);
  auto pi = p.str(c.form, "payment_intent", "payment_intent", false);
  if (c.form.isMember("created")) p.fail("", "created", "The Stripe emulator does not filter refunds by created.");
  if (c.form.isMember("expand")) p.fail("", "expand", "The Stripe emulator does not expand refund lists.");
  if (p.failed()) return *p.error;
  std::vector<std::string> ids;
  for (auto it = c.st.refund_order.rbegin(); it != c.st.refund_order.rend(); ++it) {
    const Json::Value& r = c.st.refunds.at(*it);
    if (ch && r["charge"].asString() != *ch) continue;
    if (pi && r["payment_intent"].asString() != *pi) continue;
    ids.push_back(*it);
  }
  bool more = false;
  auto page = paginate(p, c.form, ids, "refund", more);
  if (p.failed()) return *p.error;
  Json::Value data = jarr();
  for (const auto& id : page) data.append(c.st.refunds.at(id));
  return ok_json(list_object("/v1/refunds", data, more));
}

/* pending -> succeeded | failed, or succeeded -> failed (a refund can fail
 * late). Failing gives the amount back to the charge. Emits refund.updated
 * (previous status) and, when failed, refund.failed. An error message when
 * the move is not allowed. st.mu held. */
inline std::optional<std::string> set_refund_status(State& st, const Config& cfg, const std::string& re_id,
                                                    const std::string& status, const std::string& failure_reason,
                                                    std::vector<std::string>& batch) {
  auto it = st.refunds.find(re_id);
  if (it == st.refunds.end()) return "No such refund: '" + re_id + "'";
  Json::Value& re = it->second;
  const std::string from = re["status"].asString();
  if (status != "succeeded" && status != "failed") return "status must be succeeded or failed";
  if (from == status) return "the refund is already " + status;
  if (from == "failed" || from == "canceled") return "a " + from + " refund cannot change status";
  const Origin origin = background_origin(st, cfg, re_id);
  Json::Value prev = jobj();
  prev["status"] = from;
  re["status"] = status;
  if (status == "failed") {
    re["failure_reason"] = failure_reason.empty() ? "expired_or_canceled_card" : failure_reason;
    re["failure_balance_transaction"] = new_id("txn_");
    Json::Value& ch = st.charges.at(re["charge"].asString());
    ch["amount_refunded"] = ji(ch["amount_refunded"].asInt64() - re["amount"].asInt64());
    ch["refunded"] = false;
  } else {
    re["destination_details"]["card"]["reference_status"] = "available";
    re["destination_details"]["card"]["reference"] = random_base62(23);
  }
  emit_event(st, batch, "refund.updated", re, prev, origin);
  if (status == "failed") emit_event(st, batch, "refund.failed", re, jnull(), origin);
  return std::nullopt;
}

/* ============================================================= events */

inline Reply handle_get_event(Call& c) {
  Params p(c);
  p.only(c.form, "", {"expand"});
  p.expand(c.form, {});
  if (p.failed()) return *p.error;
  auto it = c.st.events.find(c.params[0]);
  if (it == c.st.events.end()) return no_such(c, "event", c.params[0]);
  return ok_json(it->second);
}

inline bool type_matches(const std::string& pattern, const std::string& type) {
  if (pattern == type) return true;
  if (!pattern.empty() && pattern.back() == '*') return starts_with(type, pattern.substr(0, pattern.size() - 1));
  return false;
}

/* GET /v1/events: type (with a trailing * wildcard) or types[], created
 * (an integer or gt/gte/lt/lte), delivery_success, pagination; newest first. */
inline Reply handle_list_events(Call& c) {
  Params p(c);
  const Json::Value& f = c.form;
  p.only(f, "", {"type", "types", "created", "limit", "starting_after", "ending_before", "delivery_success", "expand"});
  std::vector<std::string> types;
  if (auto t = p.str(f, "type", "type", false)) types.push_back(*t);
  if (auto ts = p.list(f, "types", "types", false)) {
    if (!types.empty()) p.fail("", "types", "You may pass either type or types, but not both.");
    if (ts->size() > 20) p.fail("", "types", "You may pass up to 20 types.");
    for (const auto& [i, v] : *ts) {
      if (!v->isString()) { p.fail("", "types[" + i + "]", "Invalid string"); break; }
      types.push_back(v->asString());
    }
  }
  std::optional<int64_t> gt, gte, lt, lte;
  if (f.isMember("created")) {
    if (f["created"].isString()) {
      gte = lte = p.integer(f, "created", "created", false, 0, int64_t{1} << 40);
    } else if (const Json::Value* cr = p.hash(f, "created", "created", false)) {
      p.only(*cr, "created", {"gt", "gte", "lt", "lte"});
      gt = p.integer(*cr, "gt", "created[gt]", false, 0, int64_t{1} << 40);
      gte = p.integer(*cr, "gte", "created[gte]", false, 0, int64_t{1} << 40);
      lt = p.integer(*cr, "lt", "created[lt]", false, 0, int64_t{1} << 40);
      lte = p.integer(*cr, "lte", "created[lte]", false, 0, int64_t{1} << 40);
    }
  }
  auto ds = p.boolean(f, "delivery_success", "delivery_success", false);
  p.expand(f, {});
  if (p.failed()) return *p.error;
  std::vector<std::string> ids;
  for (auto it = c.st.event_order.rbegin(); it != c.st.event_order.rend(); ++it) {
    const Json::Value& e = c.st.events.at(*it);
    const std::string type = e["type"].asString();
    const int64_t created = e["created"].asInt64();
    if (!types.empty()) {
      bool m = false;
      for (const auto& t : types) if (type_matches(t, type)) m = true;
      if (!m) continue;
    }
    if ((gt && !(created > *gt)) || (gte && !(created >= *gte)) || (lt && !(created < *lt)) || (lte && !(created <= *lte))) continue;
    if (ds && (*ds != (e["pending_webhooks"].asInt() == 0))) continue;
    ids.push_back(*it);
  }
  bool more = false;
  auto page = paginate(p, f, ids, "event", more);
  if (p.failed()) return *p.error;
  Json::Value data = jarr();
  for (const auto& id : page) data.append(c.st.events.at(id));
  return ok_json(list_object("/v1/events", data, more));
}

}  // namespace stripe_emu
