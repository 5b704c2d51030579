/* test_stripe_sig.cpp: Stripe-Signature verification (lib/stripe_sig) against
 * the worked example of reference §1.8 and stripe-node's verdicts on it:
 * tolerance at the boundary, future timestamps, several v1, v0 ignored,
 * tampering, missing parts. No servers. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE stripe_sig
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

#include "stripe_sig.hpp"

using namespace coach;
using stripe_sig::Verdict;

namespace coach::stripe_sig {
std::ostream& operator<<(std::ostream& o, Verdict v) { return o << describe(v); }
}  // namespace coach::stripe_sig

namespace {
const std::string kSecret = "whsec_dGVzdF9zZWNyZXRfMTIzNDU2Nzg5MA";
const std::string kBody = R"({"id":"evt_test_001","object":"event","type":"checkout.session.completed"})";
const std::string kSig = "c6453a5c06303d598da3b3f55695814a3248ec95461b11202c571fe155df616f";
const int64_t kT = 1700000000;
const std::string kHeader = "t=1700000000,v1=" + kSig;
}  // namespace

BOOST_AUTO_TEST_CASE(sign_matches_the_reference_example) {
  BOOST_TEST(stripe_sig::sign(kSecret, kT, kBody) == kSig);
  BOOST_TEST(stripe_sig::header_for(kSecret, kT, kBody) == kHeader);
}

BOOST_AUTO_TEST_CASE(valid_signature_within_tolerance) {
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 10) == Verdict::ok);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT) == Verdict::ok);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 300) == Verdict::ok);  // exactly at the edge
}

BOOST_AUTO_TEST_CASE(stale_timestamp_is_rejected) {
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 301) == Verdict::too_old);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 86400) == Verdict::too_old);
  // A custom tolerance, and 0 = no age check.
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 61, 60) == Verdict::too_old);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT + 86400, 0) == Verdict::ok);
}

BOOST_AUTO_TEST_CASE(future_timestamp_is_accepted_like_stripe_node) {
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, kSecret, kT - 3600) == Verdict::ok);
}

BOOST_AUTO_TEST_CASE(several_v1_one_correct_and_v0_ignored) {
  const std::string h = "t=1700000000,v1=" + std::string(64, '0') + ",v1=" + kSig + ",v0=deadbeef";
  BOOST_TEST(stripe_sig::verify(h, kBody, kSecret, kT + 5) == Verdict::ok);
  const std::string h2 = "t=1700000000,v1=" + kSig + ",v1=" + std::string(64, 'f');
  BOOST_TEST(stripe_sig::verify(h2, kBody, kSecret, kT + 5) == Verdict::ok);
  auto p = stripe_sig::parse_header(h);
  BOOST_TEST(p.has_t);
  BOOST_TEST(p.t == kT);
  BOOST_TEST(p.v1.size() == 2u);
}

BOOST_AUTO_TEST_CASE(tampered_body_or_signature_is_rejected) {
  BOOST_TEST(stripe_sig::verify(kHeader, kBody + " ", kSecret, kT + 5) == Verdict::mismatch);
  std::string bad = kSig;
  bad[10] = bad[10] == 'a' ? 'b' : 'a';
  BOOST_TEST(stripe_sig::verify("t=1700000000,v1=" + bad, kBody, kSecret, kT + 5) == Verdict::mismatch);
  // The timestamp is signed: moving it breaks the signature.
  BOOST_TEST(stripe_sig::verify("t=1700000001,v1=" + kSig, kBody, kSecret, kT + 5) == Verdict::mismatch);
  // Another secret, or the secret base64-decoded / without its prefix, does not verify.
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, "whsec_other", kT + 5) == Verdict::mismatch);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, "dGVzdF9zZWNyZXRfMTIzNDU2Nzg5MA", kT + 5) == Verdict::mismatch);
  // Upper-case hex is not what Stripe sends; a truncated signature is no match.
  BOOST_TEST(stripe_sig::verify("t=1700000000,v1=" + kSig.substr(0, 63), kBody, kSecret, kT + 5) == Verdict::mismatch);
}

BOOST_AUTO_TEST_CASE(missing_parts) {
  BOOST_TEST(stripe_sig::verify("", kBody, kSecret, kT) == Verdict::no_timestamp);
  BOOST_TEST(stripe_sig::verify("v1=" + kSig, kBody, kSecret, kT) == Verdict::no_timestamp);
  BOOST_TEST(stripe_sig::verify("t=abc,v1=" + kSig, kBody, kSecret, kT) == Verdict::no_timestamp);
  BOOST_TEST(stripe_sig::verify("t=1700000000", kBody, kSecret, kT) == Verdict::no_signatures);
  BOOST_TEST(stripe_sig::verify("t=1700000000,v0=abc", kBody, kSecret, kT) == Verdict::no_signatures);
  BOOST_TEST(stripe_sig::verify("garbage", kBody, kSecret, kT) == Verdict::no_timestamp);
  BOOST_TEST(stripe_sig::verify(kHeader, kBody, "", kT) == Verdict::no_secret);
}

BOOST_AUTO_TEST_CASE(stale_check_applies_only_to_a_matching_signature) {
  // stripe-node reports the mismatch first; either way it is rejected.
  BOOST_TEST(stripe_sig::verify("t=1600000000,v1=" + kSig, kBody, kSecret, kT) == Verdict::mismatch);
  const std::string old = stripe_sig::header_for(kSecret, kT - 1000, kBody);
  BOOST_TEST(stripe_sig::verify(old, kBody, kSecret, kT) == Verdict::too_old);
}
