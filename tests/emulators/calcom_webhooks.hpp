/* calcom_webhooks.hpp: webhooks of the Cal.com emulator, reference §7 of
 * shared/reference/calcom-api-v2.md, payload shapes from
 * shared/reference/calcom-webhook-samples/ (webhook version 2021-10-20).
 *
 * Management (§7.1): OAuth-client scope /v2/oauth-clients/{clientId}/webhooks
 * (x-cal-secret-key), user scope /v2/webhooks (Bearer) and event-type scope
 * /v2/event-types/{id}/webhooks (Bearer, the owner). No cal-api-version is
 * required. ids are UUID strings; take/skip lists are bare arrays; the same
 * subscriberUrl twice in one scope is 409.
 *
 * Delivery (§7.3-7.5): a booking action builds, under State::mu, one
 * delivery per active webhook whose scope matches (OAuth client: bookings
 * hosted by that client's managed users; user: bookings the user hosts;
 * event type: bookings of it) and whose triggers name the event. The bytes are
 * final when built: compact JSON {triggerEvent, createdAt, payload} (or the
 * webhook's payloadTemplate applied), X-Cal-Signature-256 = lower-case hex
 * HMAC-SHA256(secret, body) or "no-secret-provided", X-Cal-Webhook-Version.
 * They are sent after the lock is released: by default before the triggering
 * API call answers (synchronous, in request order); with
 * /_emulator/webhook-mode {"delivery":"async"} from the worker thread. One
 * attempt each (at-most-once), 5 s timeouts, redirects not followed, any
 * answer or error only logged. MEETING_STARTED / MEETING_ENDED are scheduled
 * jobs (body stored when scheduled, sent unwrapped by the worker thread once
 * the emulator clock passes start / end, checked every 200 ms; jobs more than
 * a day overdue are dropped unsent).
 *
 * Payload JSON keeps insertion order (class OJ below, not Json::Value, which
 * sorts keys), in the order of the samples. Keys Cal.com leaves undefined are
 * omitted: additionalNotes without notes, description without an event-type
 * description or notes, usernameInOrg outside organisations, platform* for
 * bookings outside the platform client, rescheduledBy when unknown,
 * videoCallData without a video link, videoCallData/appsStatus while a
 * booking is pending. Metadata keys come out sorted (jsoncpp keeps no order),
 * platformClientId last, videoCallUrl first. Synthetic values: bookerUrl
 * https://app.cal.com, the platform redirect URLs (null: the emulator's client
 * has none configured), Zoom password / Cal Video room ids derived from the
 * booking, user uuid and idempotencyKey derived by hashing, attendee row ids
 * booking id * 10 + position.
 *
 * payloadTemplate: only JSON templates (the template text itself parses as
 * JSON, which is when Cal.com sends application/json) with {{path}}
 * placeholders are accepted; anything else (form-encoded templates, block
 * helpers, partials, triple-stash, ../ or @ paths) is a 400 at create/patch.
 * Substitution follows Cal.com's applyTemplate + Handlebars: the data is the
 * payload plus triggerEvent and createdAt, with organizer, attendees and
 * metadata replaced by their JSON text; values are HTML-escaped then &quot;
 * turned back into '"'; the result is re-serialised (JSON.stringify(JSON.parse))
 * or "false" when it is no longer JSON. MEETING_* bodies ignore templates. */
#pragma once
#include <date/tz.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "calcom_slots.hpp"

namespace calcom_emu {

/* ================================================== ordered JSON (OJ) */

/* A JSON value whose objects keep insertion order, serialised like
 * JavaScript's JSON.stringify (compact, same escapes, same number format). */
class OJ {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };
  OJ() = default;
  OJ(std::nullptr_t) {}
  OJ(bool v) : kind_(Kind::boolean), b_(v) {}
  OJ(int v) : kind_(Kind::integer), i_(v) {}
  OJ(long v) : kind_(Kind::integer), i_(v) {}
  OJ(long long v) : kind_(Kind::integer), i_(v) {}
  OJ(double v) : kind_(Kind::number), d_(v) {}
  OJ(const char* v) : kind_(Kind::string), s_(v) {}
  OJ(std::string v) : kind_(Kind::string), s_(std::move(v)) {}

  static OJ obj() { OJ o; o.kind_ = Kind::object; return o; }
  static OJ arr() { OJ o; o.kind_ = Kind::array; return o; }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_object() const { return kind_ == Kind::object; }
  bool is_array() const { return kind_ == Kind::array; }
  const std::string& str() const { return s_; }
  bool boolean() const { return b_; }
  long long integer() const { return i_; }
  double number() const { return d_; }
  const std::vector<OJ>& items() const { return arr_; }
  const std::vector<std::pair<std::string, OJ>>& members() const { return obj_; }

  /* Sets a member: replaces the value in place when the key exists (its
   * position stays, as in JavaScript), else appends. */
  OJ& set(const std::string& key, OJ v) {
    kind_ = Kind::object;
    for (auto& m : obj_) {
      if (m.first == key) { m.second = std::move(v); return *this; }
    }
    obj_.emplace_back(key, std::move(v));
    return *this;
  }
  OJ& push(OJ v) {
    kind_ = Kind::array;
    arr_.push_back(std::move(v));
    return *this;
  }
  const OJ* get(const std::string& key) const {
    for (const auto& m : obj_) if (m.first == key) return &m.second;
    return nullptr;
  }
  OJ* get(const std::string& key) {
    for (auto& m : obj_) if (m.first == key) return &m.second;
    return nullptr;
  }

  std::string dump() const {
    std::string out;
    write(out);
    return out;
  }

  /* jsoncpp -> OJ (object keys come out in jsoncpp's sorted order). */
  static OJ from(const Json::Value& v) {
    switch (v.type()) {
      case Json::nullValue: return OJ();
      case Json::booleanValue: return OJ(v.asBool());
      case Json::intValue: return OJ(static_cast<long long>(v.asInt64()));
      case Json::uintValue:
        if (v.isInt64()) return OJ(static_cast<long long>(v.asInt64()));
        return OJ(v.asDouble());
      case Json::realValue: return OJ(v.asDouble());
      case Json::stringValue: return OJ(v.asString());
      case Json::arrayValue: {
        OJ a = arr();
        for (const auto& x : v) a.push(from(x));
        return a;
      }
      case Json::objectValue: {
        OJ o = obj();
        for (const auto& k : v.getMemberNames()) o.set(k, from(v[k]));
        return o;
      }
    }
    return OJ();
  }

  /* Number.prototype.toString for a finite double (what JSON.stringify writes). */
  static std::string js_number(double d) {
    if (!std::isfinite(d)) return "null";
    if (d == 0) return "0";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]XX, shortest round trip
    std::string sign;
    if (sci[0] == '-') { sign = "-"; sci.erase(0, 1); }
    const size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int k = static_cast<int>(digits.size());
    const int n = std::stoi(sci.substr(e + 1)) + 1;  // decimal point position
    std::string out;
    if (k <= n && n <= 21) {
      out = digits + std::string(static_cast<size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
      out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
    } else if (-6 < n && n <= 0) {
      out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
    } else {
      const int exp = n - 1;
      out = digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + "e" + (exp >= 0 ? "+" : "-") +
            std::to_string(exp >= 0 ? exp : -exp);
    }
    return sign + out;
  }

  static void write_string(std::string& out, const std::string& s) {
    static const char* hex = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    }
    out.push_back('"');
  }

 private:
  void write(std::string& out) const {
    switch (kind_) {
      case Kind::null: out += "null"; break;
      case Kind::boolean: out += b_ ? "true" : "false"; break;
      case Kind::integer: out += std::to_string(i_); break;
      case Kind::number: out += js_number(d_); break;
      case Kind::string: write_string(out, s_); break;
      case Kind::array:
        out.push_back('[');
        for (size_t i = 0; i < arr_.size(); ++i) {
          if (i) out.push_back(',');
          arr_[i].write(out);
        }
        out.push_back(']');
        break;
      case Kind::object:
        out.push_back('{');
        for (size_t i = 0; i < obj_.size(); ++i) {
          if (i) out.push_back(',');
          write_string(out, obj_[i].first);
          out.push_back(':');
          obj_[i].second.write(out);
        }
        out.push_back('}');
        break;
    }
  }

  Kind kind_ = Kind::null;
  bool b_ = false;
  long long i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<OJ> arr_;
  std::vector<std::pair<std::string, OJ>> obj_;
};

/* JSON.parse into an OJ (order kept; a repeated key keeps its first position
 * and takes the last value). Numbers become doubles, as in JavaScript. */
class OJParser {
 public:
  explicit OJParser(const std::string& text) : s_(text) {}
  bool parse(OJ& out) {
    skip_ws();
    if (!value(out, 0)) return false;
    skip_ws();
    return pos_ == s_.size();
  }

 private:
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(const char* word) {
    const size_t n = std::strlen(word);
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  bool hex4(uint32_t& v) {
    if (pos_ + 4 > s_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool string(std::string& out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') { out.push_back(static_cast<char>(c)); continue; }
      if (pos_ >= s_.size()) return false;
      const char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.compare(pos_, 2, "\\u") == 0) {
            const size_t save = pos_;
            pos_ += 2;
            uint32_t lo = 0;
            if (hex4(lo) && lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else pos_ = save;
          }
          put_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool number(OJ& out) {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    } else {
      return false;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) return false;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) return false;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    out = OJ(std::strtod(s_.substr(start, pos_ - start).c_str(), nullptr));
    return true;
  }
  bool value(OJ& out, int depth) {
    if (depth > 200 || pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      out = OJ::obj();
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
      for (;;) {
        skip_ws();
        std::string key;
        if (!string(key)) return false;
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != ':') return false;
        ++pos_;
        skip_ws();
        OJ v;
        if (!value(v, depth + 1)) return false;
        out.set(key, std::move(v));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
        return false;
      }
    }
    if (c == '[') {
      ++pos_;
      out = OJ::arr();
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return true; }
      for (;;) {
        skip_ws();
        OJ v;
        if (!value(v, depth + 1)) return false;
        out.push(std::move(v));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return true; }
        return false;
      }
    }
    if (c == '"') {
      std::string v;
      if (!string(v)) return false;
      out = OJ(std::move(v));
      return true;
    }
    if (literal("true")) { out = OJ(true); return true; }
    if (literal("false")) { out = OJ(false); return true; }
    if (literal("null")) { out = OJ(); return true; }
    return number(out);
  }

  const std::string& s_;
  size_t pos_ = 0;
};

/* ============================================================ basics */

inline constexpr const char* k_webhook_version = "2021-10-20";
inline constexpr const char* k_no_secret_signature = "no-secret-provided";
inline constexpr int64_t k_webhook_job_max_age_ms = 24LL * 3600 * 1000;
inline constexpr size_t k_delivery_log_max = 500;

/* WebhookTriggerEvents (§7.2), in the enum's order. */
inline const std::vector<std::string>& webhook_triggers() {
  static const std::vector<std::string> v = {
      "BOOKING_CREATED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_RESCHEDULED", "BOOKING_REQUESTED",
      "BOOKING_CANCELLED", "BOOKING_REJECTED", "BOOKING_NO_SHOW_UPDATED", "FORM_SUBMITTED", "MEETING_ENDED",
      "MEETING_STARTED", "RECORDING_READY", "INSTANT_MEETING", "RECORDING_TRANSCRIPTION_GENERATED", "OOO_CREATED",
      "AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "FORM_SUBMITTED_NO_EVENT",
      "ROUTING_FORM_FALLBACK_HIT", "DELEGATION_CREDENTIAL_ERROR", "WRONG_ASSIGNMENT_REPORT"};
  return v;
}

inline bool is_webhook_trigger(const std::string& t) {
  const auto& v = webhook_triggers();
  return std::find(v.begin(), v.end(), t) != v.end();
}

inline bool webhook_has_trigger(const Webhook& w, const std::string& t) {
  return std::find(w.triggers.begin(), w.triggers.end(), t) != w.triggers.end();
}

/* "2026-03-10T15:00:00Z" (dayjs .utc().format()). */
inline std::string iso_utc_s(int64_t ms) { return iso_utc_ms(ms).substr(0, 19) + "Z"; }

/* "2026-03-17T15:00:00+00:00" (dayjs .format() on a UTC server). */
inline std::string iso_utc_offset(int64_t ms) { return iso_utc_ms(ms).substr(0, 19) + "+00:00"; }

/* Minutes east of UTC of the zone at that instant (dayjs utcOffset()). */
inline int utc_offset_minutes(const std::string& tz, int64_t ms) {
  try {
    const date::time_zone* z = date::locate_zone(tz);
    const auto info = z->get_info(date::sys_seconds{std::chrono::seconds{ms / 1000}});
    return static_cast<int>(info.offset.count() / 60);
  } catch (const std::exception&) {
    return 0;
  }
}

/* A UUID-shaped string derived from seed (stable: same seed, same id). */
inline std::string derived_uuid(const std::string& seed, char version) {
  std::string h = coach::crypto::hex_encode(coach::crypto::sha256(seed)).substr(0, 32);
  h[12] = version;
  static const char* variant = "89ab";
  h[16] = variant[static_cast<unsigned char>(h[16]) % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

inline std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

/* ==================================================== payload builders */

/* What the payload builders read about one booking. */
struct BookingView {
  const State& st;
  const Config& cfg;
  const Booking& b;
  const EventType* et = nullptr;       // nullptr when the event type was deleted
  const User* host = nullptr;

  BookingView(const State& s, const Config& c, const Booking& bk) : st(s), cfg(c), b(bk) {
    auto e = s.event_types.find(bk.event_type_id);
    if (e != s.event_types.end()) et = &e->second;
    auto h = s.users.find(bk.host_id);
    if (h != s.users.end()) host = &h->second;
  }
  std::string notes() const {
    const Json::Value& n = b.responses["notes"];
    return n.isString() ? n.asString() : "";
  }
  std::string et_description() const { return et ? et_str(*et, "description") : ""; }
  bool et_flag(const char* k) const { return et && et_bool(*et, k); }
  std::string platform_client_id() const {
    const Json::Value& p = b.metadata["platformClientId"];
    return p.isString() ? p.asString() : "";
  }
  /* iCalSequence: how many reschedules led to this booking. */
  int ical_sequence() const {
    int n = 0;
    std::string from = b.rescheduled_from_uid;
    while (!from.empty() && n < 1000) {
      ++n;
      auto it = st.booking_ids.find(from);
      if (it == st.booking_ids.end() || !st.bookings.count(it->second)) break;
      from = st.bookings.at(it->second).rescheduled_from_uid;
    }
    return n;
  }
};

inline std::string organizer_name(const User& u) { return u.name.isString() && !u.name.asString().empty() ? u.name.asString() : "Nameless"; }
inline std::string time_format_name(const User& u) { return u.time_format == 24 ? "HH:mm" : "h:mma"; }
inline std::string user_locale(const User& u) { return u.locale.isString() ? u.locale.asString() : "en"; }
inline OJ language_json(const std::string& locale) { return OJ::obj().set("locale", locale); }

/* The video conference of an accepted booking, when it has a join URL of an
 * integration the emulator knows. */
struct VideoInfo {
  std::string type, app_name, id, password, url;
};

inline std::optional<VideoInfo> booking_video(const Booking& b) {
  if (b.video_call_url.empty()) return std::nullopt;
  const std::string digest = coach::crypto::hex_encode(coach::crypto::sha256(b.video_call_url));
  VideoInfo v;
  v.url = b.video_call_url;
  if (b.location == "integrations:zoom") {
    v.type = "zoom_video";
    v.app_name = "Zoom Video";
    const size_t j = v.url.find("/j/");
    if (j != std::string::npos) {
      const size_t q = v.url.find('?', j);
      v.id = v.url.substr(j + 3, q == std::string::npos ? std::string::npos : q - j - 3);
    }
    for (size_t i = 0; i < 6; ++i) v.password.push_back(static_cast<char>('0' + digest[i] % 10));
  } else if (b.location == "integrations:daily") {
    v.type = "daily_video";
    v.app_name = "Cal Video";
    v.id = digest.substr(0, 20);
    v.password = digest.substr(20, 32);
  } else if (b.location == "integrations:google:meet") {
    v.type = "google_meet_video";
    v.app_name = "Google Meet";
  } else {
    return std::nullopt;
  }
  return v;
}

inline OJ apps_status_json(const std::optional<VideoInfo>& v) {
  OJ a = OJ::arr();
  if (v) {
    a.push(OJ::obj()
               .set("appName", v->app_name)
               .set("type", v->type)
               .set("success", 1)
               .set("failures", 0)
               .set("errors", OJ::arr()));
  }
  return a;
}

/* Booking metadata as webhooks show it: videoCallUrl first (when asked),
 * the client's keys, platformClientId last. */
inline OJ webhook_metadata(const Booking& b, bool with_video_url) {
  OJ m = OJ::obj();
  if (with_video_url && !b.video_call_url.empty()) m.set("videoCallUrl", b.video_call_url);
  for (const auto& k : b.metadata.getMemberNames()) {
    if (k != "platformClientId") m.set(k, OJ::from(b.metadata[k]));
  }
  if (b.metadata.isMember("platformClientId")) m.set("platformClientId", OJ::from(b.metadata["platformClientId"]));
  return m;
}

/* getCalEventResponses: every booking field as {label, value?, isHidden}
 * (system fields labelled with Cal.com's i18n keys unless the event type
 * relabelled them), and the custom ones again in userFieldsResponses. */
inline void labelled_responses(const BookingView& v, OJ& responses, OJ& user_fields) {
  responses = OJ::obj();
  user_fields = OJ::obj();
  const Json::Value fields = v.et && et_get(*v.et, "bookingFields").isArray() ? et_get(*v.et, "bookingFields")
                                                                             : system_booking_fields();
  const Json::Value defaults = system_booking_fields();
  auto find_field = [](const Json::Value& list, const std::string& slug) -> const Json::Value* {
    for (const auto& f : list) {
      if (f["isDefault"].asBool() && f["slug"].asString() == slug) return &f;
    }
    return nullptr;
  };
  auto value_of = [&](const std::string& slug) -> std::optional<OJ> {
    const Json::Value& r = v.b.responses[slug];
    if (r.isNull()) return std::nullopt;
    if (slug == "location" && r.isObject()) {
      return OJ::obj().set("value", OJ::from(r["value"])).set("optionValue", OJ::from(r["optionValue"]));
    }
    return OJ::from(r);
  };
  auto entry = [&](const std::string& label, const std::optional<OJ>& value, bool hidden) {
    OJ e = OJ::obj().set("label", label);
    if (value) e.set("value", *value);
    e.set("isHidden", hidden);
    return e;
  };
  static const std::vector<std::pair<const char*, const char*>> system = {
      {"name", "your_name"},           {"email", "email_address"},
      {"attendeePhoneNumber", "phone_number"}, {"location", "location"},
      {"title", "what_is_this_meeting_about"}, {"notes", "additional_notes"},
      {"guests", "additional_guests"}, {"rescheduleReason", "reason_for_reschedule"}};
  for (const auto& [slug, i18n] : system) {
    const Json::Value* f = find_field(fields, slug);
    const Json::Value* d = find_field(defaults, slug);
    std::string label = i18n;
    bool hidden = std::string(slug) == "attendeePhoneNumber";
    if (f) {
      if (d && (*f)["label"].isString() && (*f)["label"].asString() != (*d)["label"].asString()) {
        label = (*f)["label"].asString();
      }
      hidden = (*f)["hidden"].asBool();
    }
    responses.set(slug, entry(label, value_of(slug), hidden));
  }
  for (const auto& f : fields) {
    if (f["isDefault"].asBool()) continue;
    const std::string slug = f["slug"].asString();
    OJ e = entry(f["label"].asString(), value_of(slug), f["hidden"].asBool());
    responses.set(slug, e);
    user_fields.set(slug, e);
  }
}

/* The CalendarEvent-based payload of BOOKING_CREATED, BOOKING_REQUESTED,
 * BOOKING_RESCHEDULED and BOOKING_REJECTED (samples BOOKING_CREATED.json,
 * BOOKING_RESCHEDULED.json). `previous`: the booking a reschedule replaced. */
inline OJ booking_event_payload(const BookingView& v, const std::string& trigger, const Booking* previous,
                                const std::string& rejection_reason) {
  const Booking& b = v.b;
  const bool accepted = b.status == "accepted";
  const std::optional<VideoInfo> video = accepted ? booking_video(b) : std::nullopt;
  OJ p = OJ::obj();
  p.set("bookerUrl", "https://app.cal.com");
  p.set("title", b.title);
  p.set("startTime", iso_utc_s(b.start_ms));
  p.set("endTime", iso_utc_s(b.end_ms));
  p.set("type", b.event_type_slug);
  if (v.host) {
    const User& u = *v.host;
    OJ o = OJ::obj();
    o.set("id", static_cast<long long>(u.id));
    o.set("name", organizer_name(u));
    o.set("email", u.email);
    o.set("username", u.username);
    if (u.organization_id) o.set("usernameInOrg", u.username);
    o.set("timeZone", u.time_zone);
    o.set("language", language_json(user_locale(u)));
    o.set("timeFormat", time_format_name(u));
    o.set("utcOffset", utc_offset_minutes(u.time_zone, b.start_ms));
    p.set("organizer", o);
  }
  OJ attendees = OJ::arr();
  std::string first_tz = "UTC", first_lang = "en";
  for (const auto& a : b.attendees) {
    OJ aj = OJ::obj();
    aj.set("email", a.email);
    aj.set("name", a.name);
    aj.set("firstName", "");
    aj.set("lastName", "");
    aj.set("timeZone", a.time_zone);
    if (!a.phone.empty()) aj.set("phoneNumber", a.phone);
    aj.set("language", language_json(a.language));
    aj.set("utcOffset", utc_offset_minutes(a.time_zone, b.start_ms));
    attendees.push(aj);
  }
  if (!b.attendees.empty()) {
    first_tz = b.attendees[0].time_zone;
    first_lang = b.attendees[0].language;
  }
  for (const auto& g : b.guests) {
    attendees.push(OJ::obj()
                       .set("email", g)
                       .set("name", "")
                       .set("firstName", "")
                       .set("lastName", "")
                       .set("timeZone", first_tz)
                       .set("language", language_json(first_lang))
                       .set("utcOffset", utc_offset_minutes(first_tz, b.start_ms)));
  }
  p.set("attendees", attendees);
  const std::string notes = v.notes();
  if (!notes.empty()) p.set("additionalNotes", notes);
  const std::string description = !v.et_description().empty() ? v.et_description() : notes;
  if (!description.empty()) p.set("description", description);
  p.set("eventTypeId", static_cast<long long>(b.event_type_id));
  p.set("hideCalendarNotes", v.et_flag("hideCalendarNotes"));
  p.set("hideCalendarEventDetails", v.et_flag("hideCalendarEventDetails"));
  p.set("hideOrganizerEmail", v.et_flag("hideOrganizerEmail"));
  p.set("schedulingType", nullptr);
  const Json::Value seats = v.et ? et_get(*v.et, "seats") : Json::Value();
  p.set("seatsPerTimeSlot", seats.isObject() ? OJ::from(seats["seatsPerTimeSlot"]) : OJ());
  p.set("seatsShowAttendees", seats.isObject() ? seats["showAttendeeInfo"].asBool() : true);
  p.set("seatsShowAvailabilityCount", seats.isObject() ? seats["showAvailabilityCount"].asBool() : true);
  p.set("customReplyToEmail", nullptr);
  auto disabled = [&](const char* k) {
    if (!v.et) return false;
    const Json::Value& d = et_get(*v.et, k);
    return d.isObject() && d["disabled"].asBool();
  };
  p.set("disableRescheduling", disabled("disableRescheduling"));
  p.set("disableCancelling", disabled("disableCancelling"));
  p.set("customInputs", OJ::obj());
  OJ responses, user_fields;
  labelled_responses(v, responses, user_fields);
  p.set("responses", responses);
  p.set("userFieldsResponses", user_fields);
  p.set("location", accepted && !b.video_call_url.empty() ? b.video_call_url : b.location);
  p.set("destinationCalendar", nullptr);
  p.set("iCalUID", b.ics_uid);
  p.set("iCalSequence", v.ical_sequence());
  p.set("requiresConfirmation", v.et && et_get(*v.et, "confirmationPolicy").isObject());
  p.set("oneTimePassword", nullptr);
  const std::string platform = v.platform_client_id();
  if (!platform.empty()) {
    p.set("platformClientId", platform);
    p.set("platformRescheduleUrl", nullptr);
    p.set("platformCancelUrl", nullptr);
    p.set("platformBookingUrl", nullptr);
  }
  p.set("organizationId", v.host && v.host->organization_id ? OJ(static_cast<long long>(v.host->organization_id)) : OJ());
  p.set("hashedLink", nullptr);
  p.set("hideBranding", false);
  p.set("uid", b.uid);
  if (previous && !b.rescheduled_by_email.empty()) p.set("rescheduledBy", b.rescheduled_by_email);
  if (video) {
    p.set("videoCallData", OJ::obj()
                               .set("type", video->type)
                               .set("id", video->id)
                               .set("password", video->password)
                               .set("url", video->url));
  }
  if (accepted) p.set("appsStatus", apps_status_json(video));
  p.set("eventTitle", v.et ? OJ(et_str(*v.et, "title")) : OJ());
  p.set("eventDescription", v.et_description().empty() ? OJ() : OJ(v.et_description()));
  p.set("price", 0);
  p.set("currency", "usd");
  p.set("length", b.duration_min);
  p.set("bookingId", static_cast<long long>(b.id));
  if (previous) {
    p.set("rescheduleId", static_cast<long long>(previous->id));
    p.set("rescheduleUid", previous->uid);
    p.set("rescheduleStartTime", iso_utc_s(previous->start_ms));
    p.set("rescheduleEndTime", iso_utc_s(previous->end_ms));
  }
  p.set("metadata", webhook_metadata(b, accepted));
  if (trigger == "BOOKING_REJECTED") p.set("rejectionReason", rejection_reason.empty() ? OJ() : OJ(rejection_reason));
  p.set("status", trigger == "BOOKING_REJECTED" ? std::string("REJECTED") : upper(b.status));
  return p;
}

/* handleCancelBooking's payload (sample BOOKING_CANCELLED.json). */
inline OJ booking_cancelled_payload(const BookingView& v) {
  const Booking& b = v.b;
  OJ p = OJ::obj();
  p.set("bookerUrl", "https://app.cal.com");
  p.set("title", b.title);
  p.set("length", b.duration_min);
  p.set("type", b.event_type_slug);
  const std::string notes = v.notes();
  p.set("additionalNotes", notes.empty() ? OJ() : OJ(notes));
  const std::string description = !v.et_description().empty() ? v.et_description() : notes;
  p.set("description", description.empty() ? OJ() : OJ(description));
  p.set("customInputs", OJ::obj());
  p.set("eventTypeId", static_cast<long long>(b.event_type_id));
  OJ responses, user_fields;
  labelled_responses(v, responses, user_fields);
  p.set("userFieldsResponses", user_fields);
  p.set("responses", responses);
  p.set("startTime", iso_utc_offset(b.start_ms));
  p.set("endTime", iso_utc_offset(b.end_ms));
  if (v.host) {
    const User& u = *v.host;
    p.set("organizer", OJ::obj()
                           .set("id", static_cast<long long>(u.id))
                           .set("username", u.username)
                           .set("email", u.email)
                           .set("name", organizer_name(u))
                           .set("timeZone", u.time_zone)
                           .set("timeFormat", time_format_name(u))
                           .set("language", language_json(user_locale(u)))
                           .set("utcOffset", utc_offset_minutes(u.time_zone, b.start_ms)));
  }
  OJ attendees = OJ::arr();
  for (const auto& a : b.attendees) {
    attendees.push(OJ::obj()
                       .set("name", a.name)
                       .set("email", a.email)
                       .set("timeZone", a.time_zone)
                       .set("phoneNumber", a.phone.empty() ? OJ() : OJ(a.phone))
                       .set("language", language_json(a.language))
                       .set("utcOffset", utc_offset_minutes(a.time_zone, b.start_ms)));
  }
  const std::string first_tz = b.attendees.empty() ? "UTC" : b.attendees[0].time_zone;
  const std::string first_lang = b.attendees.empty() ? "en" : b.attendees[0].language;
  for (const auto& g : b.guests) {
    attendees.push(OJ::obj()
                       .set("name", "")
                       .set("email", g)
                       .set("timeZone", first_tz)
                       .set("phoneNumber", nullptr)
                       .set("language", language_json(first_lang))
                       .set("utcOffset", utc_offset_minutes(first_tz, b.start_ms)));
  }
  p.set("attendees", attendees);
  p.set("uid", b.uid);
  p.set("bookingId", static_cast<long long>(b.id));
  p.set("location", b.location);
  p.set("destinationCalendar", OJ::arr());
  p.set("cancellationReason", b.cancellation_reason.empty() ? OJ() : OJ(b.cancellation_reason));
  const Json::Value seats = v.et ? et_get(*v.et, "seats") : Json::Value();
  p.set("seatsPerTimeSlot", seats.isObject() ? OJ::from(seats["seatsPerTimeSlot"]) : OJ());
  p.set("seatsShowAttendees", seats.isObject() && seats["showAttendeeInfo"].asBool());
  p.set("iCalUID", b.ics_uid);
  p.set("iCalSequence", v.ical_sequence() + 1);
  const std::string platform = v.platform_client_id();
  if (!platform.empty()) {
    p.set("platformClientId", platform);
    p.set("platformRescheduleUrl", nullptr);
    p.set("platformCancelUrl", nullptr);
  }
  p.set("hideOrganizerEmail", v.et_flag("hideOrganizerEmail"));
  if (!platform.empty()) p.set("platformBookingUrl", nullptr);
  p.set("customReplyToEmail", nullptr);
  p.set("schedulingType", nullptr);
  p.set("hideBranding", false);
  p.set("eventTitle", v.et ? OJ(et_str(*v.et, "title")) : OJ());
  p.set("eventDescription", v.et_description().empty() ? OJ() : OJ(v.et_description()));
  p.set("requiresConfirmation", nullptr);
  p.set("price", nullptr);
  p.set("currency", "usd");
  p.set("status", "CANCELLED");
  p.set("cancelledBy", b.cancelled_by_email.empty() ? OJ() : OJ(b.cancelled_by_email));
  p.set("requestReschedule", false);
  return p;
}

/* handleMarkNoShow's payload (sample BOOKING_NO_SHOW_UPDATED.json); marks:
 * the stored attendee emails of the request with their new absence. */
inline OJ no_show_payload(const BookingView& v, const std::vector<std::pair<std::string, bool>>& marks) {
  std::string message = "No-show status updated for attendees";
  if (marks.size() == 1) message = marks[0].first + (marks[0].second ? " marked as no-show" : " unmarked as no-show");
  OJ attendees = OJ::arr();
  for (const auto& [email, absent] : marks) attendees.push(OJ::obj().set("email", email).set("noShow", absent));
  OJ p = OJ::obj();
  p.set("message", message);
  p.set("attendees", attendees);
  p.set("bookingUid", v.b.uid);
  p.set("bookingId", static_cast<long long>(v.b.id));
  const std::string platform = v.platform_client_id();
  if (!platform.empty()) {
    p.set("platformClientId", platform);
    p.set("platformCancelUrl", nullptr);
    p.set("platformRescheduleUrl", nullptr);
    p.set("platformBookingUrl", nullptr);
    p.set("arePlatformEmailsEnabled", false);
    p.set("areCalendarEventsEnabled", true);
  }
  return p;
}

/* The MEETING_STARTED / MEETING_ENDED body (sample MEETING_ENDED.json): not
 * wrapped; the triggerEvent, then the booking row as stored when the job is
 * scheduled (so no metadata.videoCallUrl), its user and attendee rows. */
inline OJ meeting_body(const BookingView& v, const std::string& trigger) {
  const Booking& b = v.b;
  OJ o = OJ::obj();
  o.set("triggerEvent", trigger);
  o.set("id", static_cast<long long>(b.id));
  o.set("uid", b.uid);
  o.set("idempotencyKey", derived_uuid(iso_utc_ms(b.start_ms) + "." + iso_utc_ms(b.end_ms) + "." +
                                           std::to_string(b.host_id),
                                       '5'));
  o.set("userId", static_cast<long long>(b.host_id));
  o.set("userPrimaryEmail", v.host ? OJ(v.host->email) : OJ());
  o.set("eventTypeId", static_cast<long long>(b.event_type_id));
  o.set("title", b.title);
  o.set("description", b.description.empty() ? OJ() : OJ(b.description));
  o.set("customInputs", OJ::obj());
  OJ responses, user_fields;
  labelled_responses(v, responses, user_fields);
  o.set("responses", responses);
  o.set("startTime", iso_utc_ms(b.start_ms));
  o.set("endTime", iso_utc_ms(b.end_ms));
  o.set("location", b.location.empty() ? OJ() : OJ(b.location));
  o.set("createdAt", iso_utc_ms(b.created_ms));
  o.set("updatedAt", iso_utc_ms(b.updated_ms));
  o.set("status", upper(b.status));
  o.set("paid", false);
  o.set("destinationCalendarId", nullptr);
  o.set("cancellationReason", nullptr);
  o.set("rejectionReason", nullptr);
  o.set("reassignReason", nullptr);
  o.set("reassignById", nullptr);
  o.set("dynamicEventSlugRef", nullptr);
  o.set("dynamicGroupSlugRef", nullptr);
  o.set("rescheduled", nullptr);
  o.set("fromReschedule", b.rescheduled_from_uid.empty() ? OJ() : OJ(b.rescheduled_from_uid));
  o.set("recurringEventId", nullptr);
  o.set("smsReminderNumber", nullptr);
  o.set("scheduledJobs", OJ::arr());
  o.set("metadata", webhook_metadata(b, false));
  o.set("isRecorded", false);
  o.set("iCalUID", b.ics_uid);
  o.set("iCalSequence", v.ical_sequence());
  o.set("rating", nullptr);
  o.set("ratingFeedback", nullptr);
  o.set("noShowHost", b.absent_host);
  o.set("oneTimePassword", nullptr);
  o.set("cancelledBy", nullptr);
  o.set("rescheduledBy", b.rescheduled_by_email.empty() ? OJ() : OJ(b.rescheduled_by_email));
  o.set("creationSource", "API_V2");
  if (v.host) {
    const User& u = *v.host;
    o.set("user", OJ::obj()
                      .set("uuid", derived_uuid("user:" + std::to_string(u.id), '4'))
                      .set("email", u.email)
                      .set("name", u.name.isString() ? OJ(u.name.asString()) : OJ())
                      .set("timeZone", u.time_zone)
                      .set("username", u.username)
                      .set("isPlatformManaged", u.is_platform_managed));
  } else {
    o.set("user", nullptr);
  }
  OJ attendees = OJ::arr();
  long long n = 0;
  auto row = [&](const std::string& email, const std::string& name, const std::string& tz, const std::string& phone,
                 const std::string& locale, bool absent) {
    attendees.push(OJ::obj()
                       .set("id", static_cast<long long>(b.id) * 10 + (++n))
                       .set("email", email)
                       .set("name", name)
                       .set("timeZone", tz)
                       .set("phoneNumber", phone.empty() ? OJ() : OJ(phone))
                       .set("locale", locale)
                       .set("bookingId", static_cast<long long>(b.id))
                       .set("noShow", absent));
  };
  for (const auto& a : b.attendees) row(a.email, a.name, a.time_zone, a.phone, a.language, a.absent);
  const std::string first_tz = b.attendees.empty() ? "UTC" : b.attendees[0].time_zone;
  for (const auto& g : b.guests) row(g, "", first_tz, "", "en", false);
  o.set("attendees", attendees);
  o.set("payment", OJ::arr());
  o.set("references", OJ::arr());
  o.set("appsStatus", apps_status_json(b.status == "accepted" ? booking_video(b) : std::nullopt));
  return o;
}

/* PING (the web UI's test button; sample PING.json). */
inline OJ ping_payload(int64_t now) {
  const std::string t = iso_utc_ms(now);
  const int off = utc_offset_minutes("Europe/London", now);
  OJ p = OJ::obj();
  p.set("type", "Test");
  p.set("title", "Test trigger event");
  p.set("startTime", t);
  p.set("endTime", t);
  p.set("attendees", OJ::arr().push(OJ::obj()
                                        .set("email", "jdoe@example.com")
                                        .set("name", "John Doe")
                                        .set("timeZone", "Europe/London")
                                        .set("language", language_json("en"))
                                        .set("utcOffset", off)));
  p.set("organizer", OJ::obj()
                         .set("name", "Cal")
                         .set("email", "no-reply@cal.com")
                         .set("timeZone", "Europe/London")
                         .set("language", language_json("en"))
                         .set("utcOffset", off));
  return p;
}

/* ===================================================== payload templates */

/* The trimmed inside of each {{...}}; false (with why) when the template uses
 * anything but {{path}} placeholders. */
inline bool template_placeholders(const std::string& t, std::vector<std::pair<size_t, size_t>>* spans,
                                  std::string& why) {
  size_t pos = 0;
  for (;;) {
    const size_t open = t.find("{{", pos);
    if (open == std::string::npos) return true;
    const size_t close = t.find("}}", open + 2);
    if (close == std::string::npos) {
      why = "an unclosed \"{{\"";
      return false;
    }
    const std::string inner = trim(t.substr(open + 2, close - open - 2));
    bool ok = !inner.empty() && inner[0] != '{' && inner != "this" && inner != "else";
    for (unsigned char ch : inner) {
      if (!(std::isalnum(ch) || ch == '_' || ch == '.' || ch == '$' || ch == '-')) ok = false;
    }
    if (!inner.empty() && (inner.front() == '.' || inner.back() == '.')) ok = false;
    if (!ok) {
      why = "the placeholder \"" + t.substr(open, close + 2 - open) + "\"";
      return false;
    }
    if (spans) spans->emplace_back(open, close + 2);
    pos = close + 2;
  }
}

/* nullopt when the emulator can apply the template; else the 400 message. */
inline std::optional<std::string> check_payload_template(const std::string& t) {
  OJ parsed;
  if (!OJParser(t).parse(parsed)) {
    return "payloadTemplate is not JSON: Cal.com would send it as application/x-www-form-urlencoded, which the "
           "Cal.com emulator does not implement. Use a JSON template such as "
           "{\"event\":\"{{triggerEvent}}\",\"title\":\"{{title}}\"}.";
  }
  std::string why;
  if (!template_placeholders(t, nullptr, why)) {
    return "payloadTemplate uses " + why +
           ": the Cal.com emulator implements only {{path}} placeholders (a dotted path into the payload, "
           "triggerEvent or createdAt), not Handlebars helpers, blocks, partials, comments, triple-stash or "
           "../ and @ paths.";
  }
  return std::nullopt;
}

/* How Handlebars prints a value ({{x}} before escaping): JavaScript's String(). */
inline std::string template_text(const OJ& v) {
  switch (v.kind()) {
    case OJ::Kind::null: return "";
    case OJ::Kind::boolean: return v.boolean() ? "true" : "false";
    case OJ::Kind::integer: return std::to_string(v.integer());
    case OJ::Kind::number: return OJ::js_number(v.number());
    case OJ::Kind::string: return v.str();
    case OJ::Kind::object: return "[object Object]";
    case OJ::Kind::array: {
      std::string out;
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out.push_back(',');
        out += template_text(v.items()[i]);
      }
      return out;
    }
  }
  return "";
}

/* Handlebars' lookup of a dotted path; nullopt for undefined. */
inline std::optional<OJ> template_lookup(const OJ& data, const std::string& path) {
  OJ cur = data;
  for (const auto& seg : split(path, '.')) {
    int64_t idx = -1;
    const bool numeric = parse_int64(seg, idx) && idx >= 0 && seg[0] != '-';
    if (cur.is_object()) {
      const OJ* next = cur.get(seg);
      if (!next) return std::nullopt;
      OJ copy = *next;
      cur = std::move(copy);
    } else if (cur.is_array()) {
      if (seg == "length") {
        cur = OJ(static_cast<long long>(cur.items().size()));
      } else if (numeric && static_cast<size_t>(idx) < cur.items().size()) {
        OJ copy = cur.items()[static_cast<size_t>(idx)];
        cur = std::move(copy);
      } else {
        return std::nullopt;
      }
    } else if (cur.is_string()) {
      if (seg == "length") cur = OJ(static_cast<long long>(cur.str().size()));
      else if (numeric && static_cast<size_t>(idx) < cur.str().size()) cur = OJ(cur.str().substr(static_cast<size_t>(idx), 1));
      else return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return cur;
}

/* Cal.com's applyTemplate for a JSON template (see the file comment). */
inline std::string apply_payload_template(const std::string& tmpl, const std::string& trigger,
                                          const std::string& created_at, const OJ& payload) {
  OJ data = payload;
  data.set("triggerEvent", trigger);
  data.set("createdAt", created_at);
  for (const char* k : {"metadata", "organizer", "attendees"}) {
    if (OJ* v = data.get(k)) *v = OJ(v->dump());
  }
  std::vector<std::pair<size_t, size_t>> spans;
  std::string why;
  template_placeholders(tmpl, &spans, why);
  std::string compiled;
  size_t pos = 0;
  for (const auto& [a, z] : spans) {
    compiled += tmpl.substr(pos, a - pos);
    const std::string path = trim(tmpl.substr(a + 2, z - a - 4));
    const std::optional<OJ> v = template_lookup(data, path);
    const std::string text = v ? template_text(*v) : "";
    for (char ch : text) {
      switch (ch) {
        case '&': compiled += "&amp;"; break;
        case '<': compiled += "&lt;"; break;
        case '>': compiled += "&gt;"; break;
        case '"': compiled += "&quot;"; break;
        case '\'': compiled += "&#x27;"; break;
        case '`': compiled += "&#x60;"; break;
        case '=': compiled += "&#x3D;"; break;
        default: compiled.push_back(ch);
      }
    }
    pos = z;
  }
  compiled += tmpl.substr(pos);
  std::string unquoted;
  for (size_t i = 0; i < compiled.size();) {
    if (compiled.compare(i, 6, "&quot;") == 0) { unquoted.push_back('"'); i += 6; }
    else unquoted.push_back(compiled[i++]);
  }
  OJ reparsed;
  if (!OJParser(unquoted).parse(reparsed)) return "false";  // JSON.stringify(jsonParse(x)) when x is not JSON
  return reparsed.dump();
}

/* ================================================================ delivery */

inline std::string webhook_signature(const Webhook& w, const std::string& body) {
  if (!w.secret.isString() || w.secret.asString().empty()) return k_no_secret_signature;
  return coach::crypto::hmac_sha256_hex(w.secret.asString(), body);
}

/* Whether the webhook's scope covers a booking (not its triggers). */
inline bool webhook_covers_booking(const State& st, const Webhook& w, const Booking& b) {
  if (w.scope == "user") return w.user_id == b.host_id;
  if (w.scope == "event-type") return w.event_type_id == b.event_type_id;
  if (w.scope == "oauth-client") {
    auto h = st.users.find(b.host_id);
    return h != st.users.end() && h->second.is_platform_managed && h->second.oauth_client_id == w.oauth_client_id;
  }
  return false;
}

/* The active webhooks subscribed to `trigger` for that booking, oldest first. */
inline std::vector<const Webhook*> webhooks_for_booking(const State& st, const Booking& b, const std::string& trigger) {
  std::vector<const Webhook*> out;
  for (const auto& [id, w] : st.webhooks) {
    if (w.active && webhook_has_trigger(w, trigger) && webhook_covers_booking(st, w, b)) out.push_back(&w);
  }
  std::sort(out.begin(), out.end(), [](const Webhook* a, const Webhook* b) { return a->seq < b->seq; });
  return out;
}

inline OutgoingWebhook make_outgoing(const State& st, const Webhook& w, const std::string& trigger,
                                     const std::string& booking_uid, std::string body) {
  OutgoingWebhook o;
  o.webhook_id = w.id;
  o.trigger = trigger;
  o.booking_uid = booking_uid;
  o.url = w.subscriber_url;
  o.signature = webhook_signature(w, body);
  o.body = std::move(body);
  o.epoch = st.webhook_epoch;
  return o;
}

/* The body one webhook gets: its template applied, else the wrapper. */
inline std::string webhook_body(const Webhook& w, const std::string& trigger, const std::string& created_at,
                                const OJ& payload) {
  if (w.payload_template.isString() && !w.payload_template.asString().empty()) {
    return apply_payload_template(w.payload_template.asString(), trigger, created_at, payload);
  }
  return OJ::obj().set("triggerEvent", trigger).set("createdAt", created_at).set("payload", payload).dump();
}

/* Appends to the delivery log (newest first, bounded). Precondition: st.mu held. */
inline void log_delivery(State& st, const OutgoingWebhook& o, const std::string& outcome, int status,
                         const std::string& error, int64_t duration_ms) {
  DeliveryRecord r;
  r.seq = st.next_delivery_seq++;
  r.out = o;
  r.outcome = outcome;
  r.status = status;
  r.error = error;
  r.attempt_ms = emulator_now(st);
  r.duration_ms = duration_ms;
  st.deliveries.push_front(std::move(r));
  while (st.deliveries.size() > k_delivery_log_max) st.deliveries.pop_back();
}

/* Puts a delivery on the worker's queue. Precondition: st.mu held. */
inline void enqueue_webhook(State& st, OutgoingWebhook o, int64_t due_real_ms) {
  st.webhook_queue.push_back(QueuedWebhook{due_real_ms, st.next_queue_seq++, std::move(o)});
  st.webhook_cv.notify_all();
}

/* Sends the held reorder batch, newest first. Precondition: st.mu held. */
inline std::vector<OutgoingWebhook> release_held_webhooks(State& st) {
  std::vector<OutgoingWebhook> out(st.webhook_held.rbegin(), st.webhook_held.rend());
  st.webhook_held.clear();
  return out;
}

/* Applies the fault mode (POST /_emulator/webhook-mode) to freshly built
 * deliveries and returns the ones to send now, in order. drop / fail are
 * logged here; delay goes to the worker's queue; reorder holds. Precondition:
 * st.mu held. */
inline std::vector<OutgoingWebhook> route_webhooks(State& st, std::vector<OutgoingWebhook> outs) {
  std::vector<OutgoingWebhook> now;
  WebhookMode& m = st.webhook_mode;
  for (auto& o : outs) {
    if (m.mode == "normal" || m.remaining <= 0) {
      now.push_back(std::move(o));
      continue;
    }
    o.mode = m.mode;
    --m.remaining;
    if (m.mode == "drop") {
      st.counters.n_webhook_dropped++;
      log_delivery(st, o, "dropped", 0, "not sent (webhook-mode drop)", 0);
    } else if (m.mode == "fail") {
      st.counters.n_webhook_emulated_failures++;
      auto w = st.webhooks.find(o.webhook_id);
      if (w != st.webhooks.end()) w->second.n_failed++;
      log_delivery(st, o, "failed", 0, "emulated network failure (webhook-mode fail); not retried", 0);
    } else if (m.mode == "duplicate") {
      st.counters.n_webhook_duplicated++;
      now.push_back(o);
      now.push_back(std::move(o));
    } else if (m.mode == "delay") {
      st.counters.n_webhook_delayed++;
      enqueue_webhook(st, std::move(o), real_now_ms() + m.delay_ms);
    } else if (m.mode == "reorder") {
      st.counters.n_webhook_reordered++;
      st.webhook_held.push_back(std::move(o));
      if (m.remaining <= 0) {
        for (auto& r : release_held_webhooks(st)) now.push_back(std::move(r));
      }
    }
    if (m.remaining <= 0) {
      m.mode = "normal";
      m.remaining = 0;
      m.reorder_batch = 0;
      m.delay_ms = 0;
    }
  }
  return now;
}

/* POSTs one delivery to its subscriber, without the state lock: one attempt,
 * 5 s timeouts, no redirects. The outcome goes to the log (and is returned)
 * unless a reset came in between; nothing is sent when the delivery was built
 * before a reset. Precondition: st.mu not held. */
inline DeliveryRecord send_webhook(State& st, const OutgoingWebhook& o) {
  DeliveryRecord rec;
  rec.out = o;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (o.epoch != st.webhook_epoch) {
      rec.outcome = "cancelled";
      rec.error = "cancelled by /_emulator/reset";
      return rec;
    }
    st.webhook_in_flight++;
  }
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  std::string error;
  try {
    size_t scheme_end = o.url.find("://");
    size_t path_start = scheme_end == std::string::npos ? std::string::npos : o.url.find_first_of("/?#", scheme_end + 3);
    const std::string base = o.url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : o.url.substr(path_start);
    if (const size_t hash = path.find('#'); hash != std::string::npos) path.erase(hash);
    if (path.empty() || path[0] == '?') path = "/" + path;
    httplib::Client cli(base);
    if (!cli.is_valid()) {
      error = "invalid subscriber URL";
    } else {
      cli.set_connection_timeout(5, 0);
      cli.set_read_timeout(5, 0);
      cli.set_write_timeout(5, 0);
      cli.set_follow_location(false);
      httplib::Headers headers = {{"X-Cal-Signature-256", o.signature}, {"X-Cal-Webhook-Version", k_webhook_version}};
      auto res = cli.Post(path, headers, o.body, o.content_type);
      if (res) status = res->status;
      else error = httplib::to_string(res.error());
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  rec.status = status;
  rec.error = error;
  rec.duration_ms = ms;
  rec.outcome = status == 0 ? "network_error" : status < 400 ? "delivered" : "http_error";
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (o.epoch == st.webhook_epoch) {
      st.counters.n_webhook_attempts++;
      if (rec.outcome == "delivered") st.counters.n_webhook_delivered++;
      else if (rec.outcome == "http_error") st.counters.n_webhook_http_errors++;
      else st.counters.n_webhook_network_errors++;
      if (o.redelivery_of) st.counters.n_webhook_redeliveries++;
      auto w = st.webhooks.find(o.webhook_id);
      if (w != st.webhooks.end()) {
        w->second.n_attempts++;
        (rec.outcome == "delivered" ? w->second.n_ok : w->second.n_failed)++;
      }
      log_delivery(st, o, rec.outcome, status, error, ms);
      rec.seq = st.deliveries.front().seq;
      rec.attempt_ms = st.deliveries.front().attempt_ms;
    }
    st.webhook_in_flight--;
  }
  std::fprintf(stderr, "calcom_emulator: webhook %s %s -> %s %s%s\n", o.trigger.c_str(), o.url.c_str(),
               rec.outcome.c_str(), status ? std::to_string(status).c_str() : "", error.c_str());
  return rec;
}

/* Hands deliveries to be sent after the state lock is released: before the
 * reply (default) or by the worker thread (delivery "async"). Precondition:
 * st.mu held. */
inline void send_webhooks_later(Call& c, std::vector<OutgoingWebhook> sends) {
  if (sends.empty()) return;
  if (c.st.webhook_mode.async) {
    for (auto& o : sends) enqueue_webhook(c.st, std::move(o), real_now_ms());
    return;
  }
  State* st = &c.st;
  c.deferred.push_back([st, sends = std::move(sends)] {
    for (const auto& o : sends) send_webhook(*st, o);
  });
}

/* ===================================================== booking triggers */

/* Delivers `trigger` for booking b to every matching webhook (payload built
 * once; createdAt = the emulator clock now). previous: the booking a
 * reschedule replaced. Precondition: st.mu held (a handler). */
inline void emit_booking_webhooks(Call& c, const std::string& trigger, const Booking& b,
                                  const Booking* previous = nullptr, const std::string& rejection_reason = "") {
  const auto hooks = webhooks_for_booking(c.st, b, trigger);
  if (hooks.empty()) return;
  const BookingView view(c.st, c.cfg, b);
  const OJ payload = trigger == "BOOKING_CANCELLED" ? booking_cancelled_payload(view)
                                                    : booking_event_payload(view, trigger, previous, rejection_reason);
  const std::string created_at = iso_utc_ms(c.now_ms);
  std::vector<OutgoingWebhook> outs;
  for (const Webhook* w : hooks) {
    outs.push_back(make_outgoing(c.st, *w, trigger, b.uid, webhook_body(*w, trigger, created_at, payload)));
  }
  send_webhooks_later(c, route_webhooks(c.st, std::move(outs)));
}

/* BOOKING_NO_SHOW_UPDATED (attendee changes only). */
inline void emit_no_show_webhooks(Call& c, const Booking& b, const std::vector<std::pair<std::string, bool>>& marks) {
  if (marks.empty()) return;
  const std::string trigger = "BOOKING_NO_SHOW_UPDATED";
  const auto hooks = webhooks_for_booking(c.st, b, trigger);
  if (hooks.empty()) return;
  const OJ payload = no_show_payload(BookingView(c.st, c.cfg, b), marks);
  const std::string created_at = iso_utc_ms(c.now_ms);
  std::vector<OutgoingWebhook> outs;
  for (const Webhook* w : hooks) {
    outs.push_back(make_outgoing(c.st, *w, trigger, b.uid, webhook_body(*w, trigger, created_at, payload)));
  }
  send_webhooks_later(c, route_webhooks(c.st, std::move(outs)));
}

/* Schedules MEETING_STARTED (at start) and MEETING_ENDED (at end) for an
 * accepted booking: for every matching active webhook, or only for `only`
 * (a webhook just created or patched). Existing jobs are kept. Precondition:
 * st.mu held. */
inline void schedule_meeting_jobs(State& st, const Config& cfg, const Booking& b, const Webhook* only = nullptr) {
  if (b.status != "accepted") return;
  const BookingView view(st, cfg, b);
  for (const char* trigger : {"MEETING_STARTED", "MEETING_ENDED"}) {
    std::vector<const Webhook*> hooks;
    if (only) {
      if (webhook_has_trigger(*only, trigger) && webhook_covers_booking(st, *only, b)) hooks.push_back(only);
    } else {
      hooks = webhooks_for_booking(st, b, trigger);
    }
    if (hooks.empty()) continue;
    const std::string body = meeting_body(view, trigger).dump();
    const int64_t start_after = std::string(trigger) == "MEETING_STARTED" ? b.start_ms : b.end_ms;
    for (const Webhook* w : hooks) {
      const bool exists = std::any_of(st.webhook_jobs.begin(), st.webhook_jobs.end(), [&](const WebhookJob& j) {
        return j.webhook_id == w->id && j.trigger == trigger && j.booking_uid == b.uid;
      });
      if (!exists) st.webhook_jobs.push_back(WebhookJob{w->id, trigger, b.uid, start_after, body});
    }
  }
  st.webhook_cv.notify_all();
}

/* Deletes the booking's scheduled MEETING_* jobs (cancel, reschedule). */
inline void delete_meeting_jobs(State& st, const std::string& booking_uid) {
  st.webhook_jobs.erase(std::remove_if(st.webhook_jobs.begin(), st.webhook_jobs.end(),
                                       [&](const WebhookJob& j) { return j.booking_uid == booking_uid; }),
                        st.webhook_jobs.end());
}

/* After a webhook is created or patched (Cal.com's
 * updateTriggerForExistingBookings): jobs for triggers it no longer has go;
 * MEETING_* it has now are scheduled for the accepted bookings it covers that
 * have not started yet. */
inline void sync_webhook_jobs(State& st, const Config& cfg, const Webhook& w, int64_t now) {
  st.webhook_jobs.erase(std::remove_if(st.webhook_jobs.begin(), st.webhook_jobs.end(),
                                       [&](const WebhookJob& j) {
                                         return j.webhook_id == w.id && !webhook_has_trigger(w, j.trigger);
                                       }),
                        st.webhook_jobs.end());
  if (!webhook_has_trigger(w, "MEETING_STARTED") && !webhook_has_trigger(w, "MEETING_ENDED")) return;
  for (const auto& [id, b] : st.bookings) {
    if (b.status == "accepted" && b.start_ms >= now && webhook_covers_booking(st, w, b)) schedule_meeting_jobs(st, cfg, b, &w);
  }
}

/* The worker's share under the lock: queued deliveries that are due (real
 * time) and MEETING_* jobs the emulator clock has reached (jobs whose webhook
 * is gone, inactive or no longer subscribed are dropped; jobs more than a day
 * overdue are logged as expired and dropped). Precondition: st.mu held. */
inline std::vector<OutgoingWebhook> take_due_webhooks(State& st) {
  std::vector<OutgoingWebhook> out;
  const int64_t real = real_now_ms();
  std::stable_sort(st.webhook_queue.begin(), st.webhook_queue.end(), [](const QueuedWebhook& a, const QueuedWebhook& b) {
    return a.due_real_ms != b.due_real_ms ? a.due_real_ms < b.due_real_ms : a.seq < b.seq;
  });
  size_t n_due = 0;
  while (n_due < st.webhook_queue.size() && st.webhook_queue[n_due].due_real_ms <= real) ++n_due;
  for (size_t i = 0; i < n_due; ++i) out.push_back(std::move(st.webhook_queue[i].out));
  st.webhook_queue.erase(st.webhook_queue.begin(), st.webhook_queue.begin() + static_cast<std::ptrdiff_t>(n_due));

  const int64_t emu = emulator_now(st);
  std::stable_sort(st.webhook_jobs.begin(), st.webhook_jobs.end(),
                   [](const WebhookJob& a, const WebhookJob& b) { return a.start_after_ms < b.start_after_ms; });
  std::vector<OutgoingWebhook> fresh;
  for (auto it = st.webhook_jobs.begin(); it != st.webhook_jobs.end();) {
    if (it->start_after_ms > emu) { ++it; continue; }
    auto w = st.webhooks.find(it->webhook_id);
    if (w == st.webhooks.end() || !w->second.active || !webhook_has_trigger(w->second, it->trigger)) {
      it = st.webhook_jobs.erase(it);
      continue;
    }
    OutgoingWebhook o = make_outgoing(st, w->second, it->trigger, it->booking_uid, it->body);
    if (emu - it->start_after_ms > k_webhook_job_max_age_ms) {
      st.counters.n_webhook_jobs_expired++;
      log_delivery(st, o, "expired", 0, "scheduled job more than a day overdue: deleted unsent", 0);
    } else {
      fresh.push_back(std::move(o));
    }
    it = st.webhook_jobs.erase(it);
  }
  for (auto& o : route_webhooks(st, std::move(fresh))) out.push_back(std::move(o));
  return out;
}

/* The delivery worker thread: queued (delayed / async) deliveries and the
 * MEETING_* scheduler, every 200 ms or when woken. Runs until webhook_stop. */
inline void run_webhook_worker(State& st) {
  std::unique_lock<std::mutex> lock(st.mu);
  while (!st.webhook_stop) {
    std::vector<OutgoingWebhook> sends = take_due_webhooks(st);
    if (!sends.empty()) {
      lock.unlock();
      for (const auto& o : sends) send_webhook(st, o);
      lock.lock();
      continue;
    }
    int64_t wake = real_now_ms() + 200;
    for (const auto& q : st.webhook_queue) wake = std::min(wake, q.due_real_ms);
    const int64_t wait = std::max<int64_t>(1, wake - real_now_ms());
    st.webhook_cv.wait_for(lock, std::chrono::milliseconds(wait));
  }
}

/* ============================================================ management */

inline Json::Value webhook_json(const Webhook& w) {
  Json::Value j(Json::objectValue);
  j["id"] = w.id;
  j["subscriberUrl"] = w.subscriber_url;
  j["active"] = w.active;
  j["triggers"] = Json::Value(Json::arrayValue);
  for (const auto& t : w.triggers) j["triggers"].append(t);
  j["payloadTemplate"] = w.payload_template;
  j["secret"] = w.secret;
  if (w.scope == "user") j["userId"] = static_cast<Json::Int64>(w.user_id);
  else if (w.scope == "oauth-client") j["oAuthClientId"] = w.oauth_client_id;
  else j["eventTypeId"] = static_cast<Json::Int64>(w.event_type_id);
  return j;
}

/* Who a webhook request acts for. */
struct WebhookScope {
  std::string kind;                    // "user", "oauth-client", "event-type"
  int64_t user_id = 0;
  std::string client_id;
  int64_t event_type_id = 0;
};

/* Authenticates and resolves the scope: OAuth client -> x-cal-secret-key of
 * the client in the path; user -> Bearer (or client credentials = the
 * platform owner); event type -> Bearer of its owner. */
inline std::optional<Reply> webhook_scope(Call& c, const std::string& kind, WebhookScope& s) {
  s.kind = kind;
  if (kind == "oauth-client") {
    if (auto err = require_client(c, c.params[0])) return err;
    s.client_id = c.params[0];
    return std::nullopt;
  }
  if (auto err = authenticate_user(c, s.user_id)) return err;
  if (kind == "event-type") {
    EventType* et = nullptr;
    if (auto err = find_own_event_type(c, s.user_id, c.params[0], et)) return err;
    s.event_type_id = et->id;
  }
  return std::nullopt;
}

inline bool webhook_in_scope(const Webhook& w, const WebhookScope& s) {
  if (w.scope != s.kind) return false;
  if (s.kind == "user") return w.user_id == s.user_id;
  if (s.kind == "oauth-client") return w.oauth_client_id == s.client_id;
  return w.event_type_id == s.event_type_id;
}

inline std::string scope_noun(const std::string& kind) {
  return kind == "user" ? "user" : kind == "oauth-client" ? "OAuth client" : "event type";
}

/* The webhook {id} of this scope: 404 unknown, 403 another scope's. */
inline std::optional<Reply> find_scoped_webhook(Call& c, const WebhookScope& s, const std::string& id, Webhook*& out) {
  auto it = c.st.webhooks.find(id);
  if (it == c.st.webhooks.end()) return error_reply(c, 404, "Webhook (" + id + ") not found");
  if (!webhook_in_scope(it->second, s)) {
    return error_reply(c, 403, "Webhook (" + id + ") does not belong to this " + scope_noun(s.kind));
  }
  out = &it->second;
  return std::nullopt;
}

struct WebhookInput {
  std::optional<std::string> subscriber_url, secret, payload_template;
  std::optional<bool> active;
  std::optional<std::vector<std::string>> triggers;
};

/* CreateWebhookInputDto / UpdateWebhookInputDto (is_create: subscriberUrl,
 * active and triggers required). Then the emulator's checks: an http(s)
 * subscriberUrl, DELEGATION_CREDENTIAL_ERROR only on OAuth-client webhooks,
 * a payloadTemplate it can apply. */
inline std::optional<Reply> parse_webhook_input(Call& c, const std::string& kind, bool is_create, WebhookInput& in) {
  Json::Value body;
  if (auto err = read_json_body(c, body)) return err;
  BodyChecker chk(body);
  if (auto u = chk.str("subscriberUrl", is_create)) {
    if (is_http_url(*u)) in.subscriber_url = *u;
    else chk.add("subscriberUrl", "isUrl", "subscriberUrl must be a URL address (http or https)");
  }
  in.active = chk.boolean("active", is_create);
  if (const Json::Value* t = chk.array("triggers", is_create)) {
    std::vector<std::string> triggers;
    bool ok = true;
    for (const auto& x : *t) {
      if (x.isString() && is_webhook_trigger(x.asString())) triggers.push_back(x.asString());
      else ok = false;
    }
    if (ok) in.triggers = triggers;
    else chk.add("triggers", "isEnum", "each value in triggers must be one of the following values: " +
                                           join(webhook_triggers(), ", "));
  }
  in.secret = chk.str("secret");
  in.payload_template = chk.str("payloadTemplate");
  if (chk.present("version") && !(chk["version"].isString() && chk["version"].asString() == k_webhook_version)) {
    chk.add("version", "isEnum", std::string("version must be one of the following values: ") + k_webhook_version);
  }
  if (!chk.ok()) return validation_reply(c, chk.errors());
  if (in.triggers && kind != "oauth-client" &&
      std::find(in.triggers->begin(), in.triggers->end(), "DELEGATION_CREDENTIAL_ERROR") != in.triggers->end()) {
    return error_reply(c, 400, "DELEGATION_CREDENTIAL_ERROR is only available for organization webhooks");
  }
  if (in.payload_template) {
    if (auto why = check_payload_template(*in.payload_template)) return error_reply(c, 400, *why);
  }
  return std::nullopt;
}

/* 409 when another webhook of the scope has that subscriberUrl. */
inline std::optional<Reply> check_subscriber_unique(Call& c, const WebhookScope& s, const std::string& url,
                                                    const std::string& self_id) {
  for (const auto& [id, w] : c.st.webhooks) {
    if (id != self_id && webhook_in_scope(w, s) && w.subscriber_url == url) {
      return error_reply(c, 409, "Webhook with this subscriber url already exists for this " + scope_noun(s.kind));
    }
  }
  return std::nullopt;
}

inline Reply create_webhook(Call& c, const std::string& kind) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  WebhookInput in;
  if (auto err = parse_webhook_input(c, kind, true, in)) return *err;
  if (auto err = check_subscriber_unique(c, s, *in.subscriber_url, "")) return *err;
  Webhook w;
  do { w.id = random_uuid(); } while (c.st.webhooks.count(w.id));
  w.seq = c.st.next_webhook_seq++;
  w.scope = kind;
  w.user_id = kind == "user" ? s.user_id : 0;
  w.oauth_client_id = s.client_id;
  w.event_type_id = s.event_type_id;
  w.subscriber_url = *in.subscriber_url;
  w.active = *in.active;
  w.triggers = *in.triggers;
  if (in.payload_template) w.payload_template = *in.payload_template;
  if (in.secret) w.secret = *in.secret;
  w.created_ms = c.now_ms;
  const Webhook& stored = c.st.webhooks[w.id] = w;
  sync_webhook_jobs(c.st, c.cfg, stored, c.now_ms);
  return ok_reply(webhook_json(stored), 201);
}

inline Reply list_webhooks(Call& c, const std::string& kind) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  Json::Value errors(Json::arrayValue);
  auto int_param = [&](const char* name, int64_t lo, int64_t hi, int64_t dflt) {
    auto text = c.query(name);
    if (!text) return dflt;
    int64_t v = 0;
    Json::Value shown(*text);
    if (!parse_int64(*text, v)) {
      errors.append(validation_error(name, &shown, "isNumber",
                                     std::string(name) + " must be a number conforming to the specified constraints"));
    } else if (v < lo) {
      errors.append(validation_error(name, &shown, "min", std::string(name) + " must not be less than " + std::to_string(lo)));
    } else if (v > hi) {
      errors.append(validation_error(name, &shown, "max",
                                     std::string(name) + " must not be greater than " + std::to_string(hi)));
    }
    return v;
  };
  const int64_t take = int_param("take", 1, 250, 250);
  const int64_t skip = int_param("skip", 0, 1LL << 40, 0);
  if (!errors.empty()) return validation_reply(c, errors);
  std::vector<const Webhook*> rows;
  for (const auto& [id, w] : c.st.webhooks) if (webhook_in_scope(w, s)) rows.push_back(&w);
  std::sort(rows.begin(), rows.end(), [](const Webhook* a, const Webhook* b) { return a->seq < b->seq; });
  Json::Value data(Json::arrayValue);
  for (int64_t i = skip; i < static_cast<int64_t>(rows.size()) && i < skip + take; ++i) {
    data.append(webhook_json(*rows[static_cast<size_t>(i)]));
  }
  return ok_reply(data);
}

inline Reply get_webhook(Call& c, const std::string& kind, size_t id_param) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  Webhook* w = nullptr;
  if (auto err = find_scoped_webhook(c, s, c.params[id_param], w)) return *err;
  return ok_reply(webhook_json(*w));
}

inline Reply patch_webhook(Call& c, const std::string& kind, size_t id_param) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  Webhook* w = nullptr;
  if (auto err = find_scoped_webhook(c, s, c.params[id_param], w)) return *err;
  WebhookInput in;
  if (auto err = parse_webhook_input(c, kind, false, in)) return *err;
  if (in.subscriber_url) {
    if (auto err = check_subscriber_unique(c, s, *in.subscriber_url, w->id)) return *err;
    w->subscriber_url = *in.subscriber_url;
  }
  if (in.active) w->active = *in.active;
  if (in.triggers) w->triggers = *in.triggers;
  if (in.payload_template) w->payload_template = *in.payload_template;
  if (in.secret) w->secret = *in.secret;
  sync_webhook_jobs(c.st, c.cfg, *w, c.now_ms);
  return ok_reply(webhook_json(*w));
}

inline void erase_webhook(State& st, const std::string& id) {
  st.webhook_jobs.erase(std::remove_if(st.webhook_jobs.begin(), st.webhook_jobs.end(),
                                       [&](const WebhookJob& j) { return j.webhook_id == id; }),
                        st.webhook_jobs.end());
  st.webhooks.erase(id);
}

inline Reply delete_webhook(Call& c, const std::string& kind, size_t id_param) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  Webhook* w = nullptr;
  if (auto err = find_scoped_webhook(c, s, c.params[id_param], w)) return *err;
  Json::Value data = webhook_json(*w);
  erase_webhook(c.st, w->id);
  return ok_reply(data);
}

/* DELETE (all) -> data "N webhooks deleted". */
inline Reply delete_all_webhooks(Call& c, const std::string& kind) {
  WebhookScope s;
  if (auto err = webhook_scope(c, kind, s)) return *err;
  std::vector<std::string> ids;
  for (const auto& [id, w] : c.st.webhooks) if (webhook_in_scope(w, s)) ids.push_back(id);
  for (const auto& id : ids) erase_webhook(c.st, id);
  return ok_reply(Json::Value(std::to_string(ids.size()) + " webhooks deleted"));
}

/* Route handlers. OAuth client: params {clientId, webhookId}; user:
 * {webhookId}; event type: {eventTypeId, webhookId}. */
inline Reply handle_create_oauth_client_webhook(Call& c) { return create_webhook(c, "oauth-client"); }
inline Reply handle_list_oauth_client_webhooks(Call& c) { return list_webhooks(c, "oauth-client"); }
inline Reply handle_delete_all_oauth_client_webhooks(Call& c) { return delete_all_webhooks(c, "oauth-client"); }
inline Reply handle_get_oauth_client_webhook(Call& c) { return get_webhook(c, "oauth-client", 1); }
inline Reply handle_patch_oauth_client_webhook(Call& c) { return patch_webhook(c, "oauth-client", 1); }
inline Reply handle_delete_oauth_client_webhook(Call& c) { return delete_webhook(c, "oauth-client", 1); }
inline Reply handle_create_user_webhook(Call& c) { return create_webhook(c, "user"); }
inline Reply handle_list_user_webhooks(Call& c) { return list_webhooks(c, "user"); }
inline Reply handle_get_user_webhook(Call& c) { return get_webhook(c, "user", 0); }
inline Reply handle_patch_user_webhook(Call& c) { return patch_webhook(c, "user", 0); }
inline Reply handle_delete_user_webhook(Call& c) { return delete_webhook(c, "user", 0); }
inline Reply handle_create_event_type_webhook(Call& c) { return create_webhook(c, "event-type"); }
inline Reply handle_list_event_type_webhooks(Call& c) { return list_webhooks(c, "event-type"); }
inline Reply handle_delete_all_event_type_webhooks(Call& c) { return delete_all_webhooks(c, "event-type"); }
inline Reply handle_get_event_type_webhook(Call& c) { return get_webhook(c, "event-type", 1); }
inline Reply handle_patch_event_type_webhook(Call& c) { return patch_webhook(c, "event-type", 1); }
inline Reply handle_delete_event_type_webhook(Call& c) { return delete_webhook(c, "event-type", 1); }

}  // namespace calcom_emu
