/* test_zoom_sig.cpp: Zoom webhook signatures and the URL-validation answer
 * (lib/zoom_sig) against the worked examples of reference §2.5 (computed
 * with openssl and cross-checked with Zoom's Rivet SDK), tampering of body,
 * timestamp and signature, the timestamp tolerance, and malformed headers;
 * plus the pure parts of lib/zoom_client (meeting bodies and parsing, Zoom
 * URL detection) and the "uses our Zoom" rule of lib/meetings.
 * Pure: no servers. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE zoom_sig
#include <boost/test/unit_test.hpp>

#include <string>

#include "crypto.hpp"
#include "json_util.hpp"
#include "meetings.hpp"
#include "zoom_client.hpp"
#include "zoom_sig.hpp"

using namespace coach;
using zoom_sig::Verdict;

namespace {

const std::string kSecret = "zm_secret_token_EXAMPLE";
const std::string kTs = "1700000000";
const int64_t kNow = 1700000000;
const std::string kStartedBody =
    R"({"event":"meeting.started","event_ts":1700000000123,"payload":{"account_id":"acc_1","object":{"id":"85746065432","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"host_1","topic":"Coaching: Alice x Bob","type":2,"start_time":"2023-11-14T22:13:20Z","timezone":"UTC","duration":60}}})";
const std::string kStartedSig = "v0=51c499f4b1b8d5916378f5df1d812d8b47e5b3f5bdb0336021a70eb7b7e102c7";
const std::string kValidationBody =
    R"({"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1700000000456,"event":"endpoint.url_validation"})";
const std::string kValidationSig = "v0=b7b44b1a2131245b11c1d3a47f2d7c781dcb2c20f7cae00e9045ae74bda3f63d";
const std::string kEncrypted = "17f5966993bf719b691c69b057b48b8139b89c0694f65c7000ff8aa1a5ce5498";

}  // namespace

BOOST_AUTO_TEST_CASE(reference_examples_sign_and_verify) {
  BOOST_TEST(zoom_sig::sign(kSecret, kTs, kStartedBody) == kStartedSig);
  BOOST_TEST(zoom_sig::sign(kSecret, kTs, kValidationBody) == kValidationSig);
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow) == Verdict::ok));
  BOOST_TEST((zoom_sig::verify(kSecret, kValidationSig, kTs, kValidationBody, kNow) == Verdict::ok));
}

BOOST_AUTO_TEST_CASE(url_validation_answer_matches_the_reference) {
  BOOST_TEST(zoom_sig::encrypt_token(kSecret, "qgg8vlvZRS6UYooatFL8Aw") == kEncrypted);
  auto v = zoom_sig::url_validation_response(kSecret, "qgg8vlvZRS6UYooatFL8Aw");
  BOOST_TEST(json::write(v) ==
             R"({"encryptedToken":"17f5966993bf719b691c69b057b48b8139b89c0694f65c7000ff8aa1a5ce5498","plainToken":"qgg8vlvZRS6UYooatFL8Aw"})");
  // Another secret gives another answer (the secret really is the key).
  BOOST_TEST(zoom_sig::encrypt_token("other", "qgg8vlvZRS6UYooatFL8Aw") != kEncrypted);
}

BOOST_AUTO_TEST_CASE(a_one_byte_change_in_the_body_fails) {
  for (size_t pos : {size_t(0), kStartedBody.size() / 2, kStartedBody.size() - 1}) {
    std::string b = kStartedBody;
    b[pos] = static_cast<char>(b[pos] ^ 0x01);
    BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, b, kNow) == Verdict::mismatch), "byte " << pos);
  }
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody + "\n", kNow) == Verdict::mismatch));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody.substr(1), kNow) == Verdict::mismatch));
  // Re-serialized JSON (spaces) is another byte string: it must fail too.
  std::string spaced = kStartedBody;
  spaced.insert(1, " ");
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, spaced, kNow) == Verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(the_timestamp_is_signed) {
  // Reference: Rivet rejects the example once the header says 1700000001.
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "1700000001", kStartedBody, kNow) == Verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(wrong_secret_or_signature_fails) {
  BOOST_TEST((zoom_sig::verify("zm_secret_token_EXAMPLf", kStartedSig, kTs, kStartedBody, kNow) == Verdict::mismatch));
  std::string sig = kStartedSig;
  sig.back() = sig.back() == '7' ? '8' : '7';
  BOOST_TEST((zoom_sig::verify(kSecret, sig, kTs, kStartedBody, kNow) == Verdict::mismatch));
  // Without the v0= prefix, or the bare hex of another scheme.
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig.substr(3), kTs, kStartedBody, kNow) == Verdict::mismatch));
  BOOST_TEST((zoom_sig::verify(kSecret, "v1=" + kStartedSig.substr(3), kTs, kStartedBody, kNow) == Verdict::mismatch));
  // The signature over the body alone (Cal.com style) is not accepted.
  BOOST_TEST((zoom_sig::verify(kSecret, "v0=" + crypto::hmac_sha256_hex(kSecret, kStartedBody), kTs, kStartedBody,
                               kNow) == Verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(header_case_and_spaces_are_tolerated) {
  std::string upper = kStartedSig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST((zoom_sig::verify(kSecret, upper, kTs, kStartedBody, kNow) == Verdict::ok));
  BOOST_TEST((zoom_sig::verify(kSecret, "  " + kStartedSig + "\r\n", " " + kTs + " ", kStartedBody, kNow) == Verdict::ok));
}

BOOST_AUTO_TEST_CASE(timestamp_tolerance_is_five_minutes_both_ways) {
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow + 300) == Verdict::ok));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow - 300) == Verdict::ok));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow + 301) == Verdict::stale));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow - 301) == Verdict::stale));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow + 86400) == Verdict::stale));
  // A custom tolerance.
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, kTs, kStartedBody, kNow + 10, 5) == Verdict::stale));
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_headers) {
  BOOST_TEST((zoom_sig::verify("", kStartedSig, kTs, kStartedBody, kNow) == Verdict::missing));
  BOOST_TEST((zoom_sig::verify(kSecret, "", kTs, kStartedBody, kNow) == Verdict::missing));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "", kStartedBody, kNow) == Verdict::missing));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "17000000x0", kStartedBody, kNow) == Verdict::bad_timestamp));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "-1700000000", kStartedBody, kNow) == Verdict::bad_timestamp));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "1700000000000", kStartedBody, kNow) == Verdict::bad_timestamp));
  BOOST_TEST((zoom_sig::verify(kSecret, kStartedSig, "1.7e9", kStartedBody, kNow) == Verdict::bad_timestamp));
  BOOST_TEST(std::string(zoom_sig::to_string(Verdict::stale)) == "stale");
}

BOOST_AUTO_TEST_CASE(a_fresh_signature_roundtrips) {
  const std::string ts = std::to_string(kNow + 42), body = R"({"event":"meeting.ended"})";
  const std::string s = zoom_sig::sign("s3cret", ts, body);
  BOOST_TEST(s.size() == 67u);
  BOOST_TEST(s.rfind("v0=", 0) == 0u);
  BOOST_TEST((zoom_sig::verify("s3cret", s, ts, body, kNow) == Verdict::ok));
  BOOST_TEST((zoom_sig::verify("s3cret", s, ts, body + " ", kNow) == Verdict::mismatch));
}

BOOST_AUTO_TEST_CASE(meeting_body_and_validation) {
  zoom::MeetingSpec m;
  m.topic = "Coaching";
  m.start_time_utc = "2026-03-10T15:00:00Z";
  m.duration_min = 45;
  m.timezone = "Europe/Berlin";
  m.agenda = "Booking x";
  BOOST_TEST(zoom::validate(m).ok());
  const Json::Value b = zoom::create_body(m);
  BOOST_TEST(b["type"].asInt() == 2);
  BOOST_TEST(b["start_time"].asString() == "2026-03-10T15:00:00Z");
  BOOST_TEST(b["duration"].asInt() == 45);
  BOOST_TEST(b["settings"]["waiting_room"].asBool());
  BOOST_TEST(!b["settings"]["join_before_host"].asBool());
  BOOST_TEST(b["settings"]["auto_recording"].asString() == "none");
  auto bad = [](zoom::MeetingSpec s, const std::string& field) {
    auto v = zoom::validate(s);
    return !v.ok() && v.error().http_status == 400 && v.error().message.find(field) == 0;
  };
  zoom::MeetingSpec x = m;
  x.topic = "";
  BOOST_TEST(bad(x, "topic"));
  x = m;
  x.duration_min = 0;
  BOOST_TEST(bad(x, "duration"));
  x.duration_min = 1441;
  BOOST_TEST(bad(x, "duration"));
  x = m;
  x.auto_recording = "tape";
  BOOST_TEST(bad(x, "auto_recording"));
  for (const char* t : {"2026-03-10 15:00:00Z", "2026-03-10T15:00:00", "2026-3-10T15:00:00Z", "2026-03-10T15:0a:00Z", ""}) {
    x = m;
    x.start_time_utc = t;
    BOOST_TEST(bad(x, "start_time"), t);
  }
}

BOOST_AUTO_TEST_CASE(meeting_ids_and_parsing) {
  BOOST_TEST(zoom::meeting_id_of(Json::Value(Json::Int64(85746065432))) == 85746065432);
  BOOST_TEST(zoom::meeting_id_of(Json::Value("85746065432")) == 85746065432);
  BOOST_TEST(zoom::meeting_id_of(Json::Value("85746x65432")) == 0);
  BOOST_TEST(zoom::meeting_id_of(Json::Value("")) == 0);
  BOOST_TEST(zoom::meeting_id_of(Json::Value(-5)) == 0);
  BOOST_TEST(zoom::meeting_id_of(Json::Value()) == 0);
  auto p = json::parse(R"({"id":85746065432,"uuid":"4444AAAiAAAAAiAiAiiAii==","join_url":"https://us05web.zoom.us/j/85746065432?pwd=x",)"
                       R"("start_url":"https://us05web.zoom.us/s/85746065432?zak=y","duration":60,"status":"waiting",)"
                       R"("settings":{"waiting_room":true,"join_before_host":false,"auto_recording":"cloud"}})");
  BOOST_TEST_REQUIRE(p.ok());
  auto m = zoom::parse_meeting(*p);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->id == 85746065432);
  BOOST_TEST(m->duration_min == 60);
  BOOST_TEST(m->waiting_room);
  BOOST_TEST(m->auto_recording == "cloud");
  BOOST_TEST(!zoom::parse_meeting(Json::Value(Json::objectValue)).ok());  // no id
  BOOST_TEST(!zoom::parse_meeting(Json::Value("x")).ok());
}

BOOST_AUTO_TEST_CASE(zoom_urls) {
  BOOST_TEST(zoom::is_zoom_url("https://us06web.zoom.us/j/84512345678?pwd=Zk9"));
  BOOST_TEST(zoom::is_zoom_url("https://zoom.us/j/1"));
  BOOST_TEST(zoom::is_zoom_url("https://US06WEB.ZOOM.US/j/1"));
  BOOST_TEST(!zoom::is_zoom_url("https://zoom.us.evil.example/j/1"));
  BOOST_TEST(!zoom::is_zoom_url("https://evilzoom.us/j/1"));
  BOOST_TEST(!zoom::is_zoom_url("https://app.cal.com/video/abc"));
  BOOST_TEST(!zoom::is_zoom_url("integrations:zoom"));
  BOOST_TEST(!zoom::is_zoom_url(""));
}

BOOST_AUTO_TEST_CASE(which_session_types_use_our_zoom) {
  BOOST_TEST(meetings::uses_our_zoom("", ""));
  BOOST_TEST(meetings::uses_our_zoom("[]", ""));
  BOOST_TEST(meetings::uses_our_zoom(R"([{"type":"integration","integration":"cal-video"}])", ""));
  BOOST_TEST(meetings::uses_our_zoom(R"([{"type":"integration","integration":"zoom"}])", "integrations:zoom"));
  BOOST_TEST(!meetings::uses_our_zoom(R"([{"type":"integration","integration":"google-meet"}])", ""));
  BOOST_TEST(!meetings::uses_our_zoom(R"([{"type":"address","address":"1 Main St"}])", ""));
  BOOST_TEST(!meetings::uses_our_zoom(R"([{"type":"integration","integration":"zoom"},{"type":"phone","phone":"+1"}])", ""));
  BOOST_TEST(!meetings::uses_our_zoom(R"([{"type":"link","link":"https://x.example"}])", ""));
  // The booking's own location: a place is not a video session.
  BOOST_TEST(!meetings::uses_our_zoom("", "1 Main St, Springfield"));
  BOOST_TEST(meetings::uses_our_zoom("", "https://app.cal.com/video/abc"));
}
