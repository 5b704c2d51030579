/* test_webhook_sig.cpp: Cal.com webhook signatures (lib/webhook_sig) against
 * the reference samples and their README signatures, tampering, several
 * secrets, header normalization; plus the pure parts of lib/webhooks
 * (idempotency keys, payload parsing). No servers. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE webhook_sig
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "crypto.hpp"
#include "json_util.hpp"
#include "webhook_sig.hpp"
#include "webhook_samples.hpp"
#include "webhooks.hpp"

using namespace coach;
using coach::testing::kSampleSecret;
using coach::testing::webhook_sample;
using coach::testing::webhook_samples;

BOOST_AUTO_TEST_CASE(every_sample_has_the_readme_size_and_signature) {
  BOOST_TEST_REQUIRE(webhook_samples().size() == 6u);
  for (const auto& s : webhook_samples()) {
    BOOST_TEST(s.body.size() == s.bytes, s.name);
    BOOST_TEST(webhook_sig::sign(kSampleSecret, s.body) == s.signature, s.name);
    BOOST_TEST(webhook_sig::verify(s.signature, s.body, kSampleSecret), s.name);
  }
}

BOOST_AUTO_TEST_CASE(a_one_byte_change_anywhere_fails) {
  for (const auto& s : webhook_samples()) {
    // First, middle and last byte, flipped; plus one byte appended / removed.
    for (size_t pos : {size_t(0), s.body.size() / 2, s.body.size() - 1}) {
      std::string b = s.body;
      b[pos] = static_cast<char>(b[pos] ^ 0x01);
      BOOST_TEST(!webhook_sig::verify(s.signature, b, kSampleSecret), s.name << " byte " << pos);
    }
    BOOST_TEST(!webhook_sig::verify(s.signature, s.body + "\n", kSampleSecret), s.name);
    BOOST_TEST(!webhook_sig::verify(s.signature, s.body.substr(1), kSampleSecret), s.name);
    // The signature itself, one hex digit changed.
    std::string sig = s.signature;
    sig[10] = sig[10] == 'a' ? 'b' : 'a';
    BOOST_TEST(!webhook_sig::verify(sig, s.body, kSampleSecret), s.name);
  }
}

BOOST_AUTO_TEST_CASE(pretty_printed_json_does_not_verify) {
  const auto& s = webhook_sample("BOOKING_CREATED");
  auto v = json::parse(s.body);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST(!webhook_sig::verify(s.signature, json::write_pretty(*v), kSampleSecret));
}

BOOST_AUTO_TEST_CASE(wrong_empty_or_missing_secret_and_header_fail) {
  const auto& s = webhook_sample("PING");
  BOOST_TEST(!webhook_sig::verify(s.signature, s.body, "whsec_other"));
  BOOST_TEST(!webhook_sig::verify(s.signature, s.body, ""));
  BOOST_TEST(!webhook_sig::verify("", s.body, kSampleSecret));
  BOOST_TEST(!webhook_sig::verify(webhook_sig::kNoSecret, s.body, kSampleSecret));
  BOOST_TEST(!webhook_sig::verify("sha256=" + s.signature, s.body, kSampleSecret));
  BOOST_TEST(!webhook_sig::verify(s.signature.substr(0, 63), s.body, kSampleSecret));
}

BOOST_AUTO_TEST_CASE(header_case_and_surrounding_space_are_tolerated) {
  const auto& s = webhook_sample("PING");
  std::string upper = s.signature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST(webhook_sig::verify(upper, s.body, kSampleSecret));
  BOOST_TEST(webhook_sig::verify("  " + s.signature + " ", s.body, kSampleSecret));
}

BOOST_AUTO_TEST_CASE(verify_any_finds_the_matching_secret_among_many) {
  const auto& s = webhook_sample("BOOKING_CANCELLED");
  std::vector<std::string> secrets = {"configured-secret", "", "whsec_a", kSampleSecret, "whsec_b"};
  auto hit = webhook_sig::verify_any(s.signature, s.body, secrets);
  BOOST_TEST_REQUIRE(hit.has_value());
  BOOST_TEST(*hit == 3u);
  BOOST_TEST(!webhook_sig::verify_any(s.signature, s.body, {"x", "y"}).has_value());
  BOOST_TEST(!webhook_sig::verify_any(s.signature, s.body, {}).has_value());
  BOOST_TEST(!webhook_sig::verify_any("nothex", s.body, secrets).has_value());
  // The same secret twice: the first index.
  BOOST_TEST(*webhook_sig::verify_any(s.signature, s.body, {kSampleSecret, kSampleSecret}) == 0u);
}

/* The comparison goes through crypto::constant_time_equal: its running time
 * does not depend on where two equal-length strings first differ. A coarse
 * check (the medians of many runs within a wide factor), robust on a loaded
 * machine, plus the direct property that it compares every byte. */
BOOST_AUTO_TEST_CASE(comparison_is_constant_time) {
  const std::string a(64, 'a');
  std::string early = a, late = a;
  early[0] = 'b';
  late[63] = 'b';
  BOOST_TEST(!crypto::constant_time_equal(a, early));
  BOOST_TEST(!crypto::constant_time_equal(a, late));
  BOOST_TEST(crypto::constant_time_equal(a, a));
  auto time_it = [&](const std::string& other) {
    std::vector<double> runs;
    for (int r = 0; r < 31; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      bool sink = false;
      for (int i = 0; i < 20000; ++i) sink ^= crypto::constant_time_equal(a, other);
      auto t1 = std::chrono::steady_clock::now();
      BOOST_TEST(!sink);
      runs.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
  };
  double t_early = time_it(early), t_late = time_it(late);
  BOOST_TEST_MESSAGE("median early-diff " << t_early << " us, late-diff " << t_late << " us");
  BOOST_TEST(t_early > t_late / 3.0);
  BOOST_TEST(t_late > t_early / 3.0);
}

BOOST_AUTO_TEST_CASE(webhooks_sign_body_matches_the_readme) {
  for (const auto& s : webhook_samples()) BOOST_TEST(webhooks::sign_body(kSampleSecret, s.body) == s.signature);
  auto g = webhooks::generate_secret();
  BOOST_TEST(g.rfind("whsec_", 0) == 0u);
  BOOST_TEST(g.size() == 6u + 48u);
  BOOST_TEST(g != webhooks::generate_secret());
}

/* ---- idempotency keys ---- */

BOOST_AUTO_TEST_CASE(idempotency_key_ignores_created_at_only) {
  const auto& s = webhook_sample("BOOKING_CREATED");
  auto v = *json::parse(s.body);
  auto k1 = webhooks::idempotency_key(v);
  BOOST_TEST_REQUIRE(k1.ok());
  BOOST_TEST(k1->rfind("BOOKING_CREATED:", 0) == 0u);
  Json::Value later = v;
  later["createdAt"] = "2026-03-02T09:20:00.000Z";  // a redelivery
  BOOST_TEST(*webhooks::idempotency_key(later) == *k1);
  Json::Value other = v;
  other["payload"]["startTime"] = "2026-03-10T16:00:00Z";
  BOOST_TEST(*webhooks::idempotency_key(other) != *k1);
  Json::Value other_trigger = v;
  other_trigger["triggerEvent"] = "BOOKING_PAID";
  BOOST_TEST(*webhooks::idempotency_key(other_trigger) != *k1);
  // Key order in the text does not matter (parsed, then canonical).
  auto reordered = json::parse(R"({"payload":)" + json::write(v["payload"]) +
                               R"(,"createdAt":"x","triggerEvent":"BOOKING_CREATED"})");
  BOOST_TEST(*webhooks::idempotency_key(*reordered) == *k1);
  BOOST_TEST(k1->size() <= 191u);
}

BOOST_AUTO_TEST_CASE(meeting_events_are_keyed_on_the_booking_id) {
  auto v = *json::parse(webhook_sample("MEETING_ENDED").body);
  BOOST_TEST(*webhooks::idempotency_key(v) == "MEETING_ENDED:88377");
  v["triggerEvent"] = "MEETING_STARTED";
  BOOST_TEST(*webhooks::idempotency_key(v) == "MEETING_STARTED:88377");
}

BOOST_AUTO_TEST_CASE(idempotency_key_rejects_bodies_without_a_trigger) {
  struct Case { const char* body; const char* why; };
  const Case cases[] = {
      {R"([1,2])", "not an object"},
      {R"({"payload":{}})", "no triggerEvent"},
      {R"({"triggerEvent":7})", "number"},
      {R"({"triggerEvent":""})", "empty"},
      {R"({"triggerEvent":"BOOKING CREATED"})", "space"},
      {R"({"triggerEvent":"x';DROP TABLE"})", "quote"},
  };
  for (const auto& c : cases) {
    auto r = webhooks::idempotency_key(*json::parse(c.body));
    BOOST_TEST(!r.ok(), c.why);
    if (!r.ok()) BOOST_TEST(r.error().code == "invalid_webhook", c.why);
  }
  std::string long_name(65, 'A');
  BOOST_TEST(!webhooks::idempotency_key(*json::parse(R"({"triggerEvent":")" + long_name + "\"}")).ok());
  BOOST_TEST(webhooks::idempotency_key(*json::parse(R"({"triggerEvent":"SOMETHING_NEW","payload":{}})")).ok());
}

/* ---- payload parsing ---- */

BOOST_AUTO_TEST_CASE(facts_from_the_created_sample) {
  auto f = webhooks::facts_from_webhook(*json::parse(webhook_sample("BOOKING_CREATED").body));
  BOOST_TEST_REQUIRE(f.ok());
  BOOST_TEST(f->uid == "hJ3mZ9qW2xKc7VnT5bRp1L");
  BOOST_TEST(f->cal_booking_id == 88213);
  BOOST_TEST(f->status == "accepted");
  BOOST_TEST(f->start_utc == "2026-03-10 15:00:00");
  BOOST_TEST(f->end_utc == "2026-03-10 16:00:00");
  BOOST_TEST(f->version_at == "2026-03-02 09:14:07.512");
  BOOST_TEST(f->organizer_cal_user_id == 1042);
  BOOST_TEST(f->attendee_email == "sam.carter@client.example");
  BOOST_TEST(f->attendee_time_zone == "America/New_York");
  BOOST_TEST(f->join_url.rfind("https://us06web.zoom.us/j/84512345678", 0) == 0u);
  BOOST_TEST(f->cal_event_type_id == 5531);
}

BOOST_AUTO_TEST_CASE(facts_from_the_other_samples) {
  auto r = webhooks::facts_from_webhook(*json::parse(webhook_sample("BOOKING_RESCHEDULED").body));
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r->uid == "Tq8wR2nV5mC1xZ7kL3pJ9s");
  BOOST_TEST(r->rescheduled_from_uid == "hJ3mZ9qW2xKc7VnT5bRp1L");
  auto c = webhooks::facts_from_webhook(*json::parse(webhook_sample("BOOKING_CANCELLED").body));
  BOOST_TEST_REQUIRE(c.ok());
  BOOST_TEST(c->status == "cancelled");
  BOOST_TEST(c->start_utc == "2026-03-17 15:00:00");  // "+00:00" form
  BOOST_TEST(c->location == "integrations:zoom");
  BOOST_TEST(c->cancellation_reason == "Coach is unwell");
  auto m = webhooks::facts_from_webhook(*json::parse(webhook_sample("MEETING_ENDED").body));
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->meeting_ended_at == "2026-03-12 16:00:00.000");  // ".000Z" form
  BOOST_TEST(m->version_at == "2026-03-09 18:02:43.877");
  BOOST_TEST(m->organizer_cal_user_id == 1042);
  auto n = webhooks::facts_from_webhook(*json::parse(webhook_sample("BOOKING_NO_SHOW_UPDATED").body));
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(n->uid == "Tq8wR2nV5mC1xZ7kL3pJ9s");
  BOOST_TEST_REQUIRE(n->attendee_no_show.has_value());
  BOOST_TEST(*n->attendee_no_show);
  BOOST_TEST(n->status.empty());
}

BOOST_AUTO_TEST_CASE(malformed_payloads_name_the_field) {
  auto v = *json::parse(webhook_sample("BOOKING_CREATED").body);
  struct Case { std::string field; Json::Value value; std::string expect; };
  const std::vector<Case> cases = {
      {"startTime", "not-a-date", "payload.startTime"},
      {"endTime", Json::Value(), "payload.endTime"},
      {"uid", Json::Value(), "payload.uid"},
      {"uid", 42, "payload.uid"},
      {"status", "MAYBE", "payload.status"},
      {"endTime", "2026-03-10T14:00:00Z", "payload.endTime"},  // before start
  };
  for (const auto& c : cases) {
    Json::Value b = v;
    if (c.value.isNull()) b["payload"].removeMember(c.field);
    else b["payload"][c.field] = c.value;
    auto f = webhooks::facts_from_webhook(b);
    BOOST_TEST_REQUIRE(!f.ok(), c.field);
    BOOST_TEST(f.error().code == "invalid_payload");
    BOOST_TEST(f.error().message.find(c.expect) == 0u, f.error().message);
  }
  Json::Value nopayload = v;
  nopayload.removeMember("payload");
  BOOST_TEST(!webhooks::facts_from_webhook(nopayload).ok());
}

BOOST_AUTO_TEST_CASE(facts_from_an_api_booking) {
  auto b = *json::parse(R"({"id":88213,"uid":"u1","status":"cancelled","start":"2026-03-10T15:00:00.000Z",
    "end":"2026-03-10T16:00:00.000Z","eventTypeId":5531,"hosts":[{"id":1042,"email":"m+c@x.example"}],
    "attendees":[{"name":"Sam","email":"sam@x.example","timeZone":"America/New_York","absent":true}],
    "location":"https://zoom.example/j/1","rescheduledToUid":"u2","cancellationReason":"",
    "absentHost":false,"createdAt":"2026-03-02T09:14:06.901Z","updatedAt":"2026-03-02T09:14:07.480Z"})");
  auto f = webhooks::facts_from_api_booking(b);
  BOOST_TEST_REQUIRE(f.ok());
  BOOST_TEST(f->status == "cancelled");
  BOOST_TEST(f->version_at == "2026-03-02 09:14:07.480");
  BOOST_TEST(f->rescheduled_to_uid == "u2");
  BOOST_TEST(f->cancellation_reason.empty());
  BOOST_TEST(*f->attendee_no_show);
  BOOST_TEST(!*f->host_no_show);
  BOOST_TEST(f->organizer_cal_user_id == 1042);
  b["status"] = "weird";
  BOOST_TEST(!webhooks::facts_from_api_booking(b).ok());
}

BOOST_AUTO_TEST_CASE(handled_triggers_are_valid_cal_triggers) {
  for (const auto& t : webhooks::handled_triggers()) BOOST_TEST(webhooks::is_valid_trigger(t), t);
  BOOST_TEST(!webhooks::is_valid_trigger("PING"));
  BOOST_TEST(!webhooks::is_valid_trigger("BOOKING_CONFIRMED"));
  BOOST_TEST(webhooks::handled_triggers().size() == 15u);
}
