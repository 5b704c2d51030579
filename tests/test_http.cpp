/* test_http.cpp: request parsing, response formatting and the error path. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

#include "fcgi_serve.hpp"
#include "http.hpp"
#include "json_util.hpp"

using namespace coach;

BOOST_AUTO_TEST_CASE(url_decoding_handles_plus_percent_and_garbage) {
  BOOST_TEST(url_decode("a+b%20c") == "a b c");
  BOOST_TEST(url_decode("100%") == "100%");
  BOOST_TEST(url_decode("%zz%4") == "%zz%4");
  BOOST_TEST(url_decode("%E2%82%AC") == "\xE2\x82\xAC");
  BOOST_TEST(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
}

BOOST_AUTO_TEST_CASE(form_parsing_keeps_first_value_and_skips_empty_parts) {
  auto f = parse_urlencoded("a=1&&b=two+words&a=2&c&=x");
  BOOST_TEST(f["a"] == "1");
  BOOST_TEST(f["b"] == "two words");
  BOOST_TEST(f.count("c") == 1u);
  BOOST_TEST(f["c"] == "");
  BOOST_TEST(f.count("") == 0u);
}

BOOST_AUTO_TEST_CASE(cookie_header_parses_quoted_and_spaced_values) {
  auto c = parse_cookies("__session=abc.def.ghi; theme=\"dark\";  x=1");
  BOOST_TEST(c["__session"] == "abc.def.ghi");
  BOOST_TEST(c["theme"] == "dark");
  BOOST_TEST(c["x"] == "1");
}

BOOST_AUTO_TEST_CASE(request_is_built_from_cgi_parameters) {
  auto r = fcgi::build_request({{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/api/cal/coaches/me/refresh?x=1"},
                                {"QUERY_STRING", "x=1"}, {"HTTP_COOKIE", "__session=t"},
                                {"HTTP_X_REQUEST_ID", "abc-123"}, {"CONTENT_TYPE", "application/json"}},
                               "{}", false);
  BOOST_TEST(r.method == "POST");
  BOOST_TEST(r.path == "/api/cal/coaches/me/refresh");
  BOOST_TEST(r.param("x") == "1");
  BOOST_TEST(r.cookies["__session"] == "t");
  BOOST_TEST(r.header("content-type") == "application/json");
  BOOST_TEST(r.request_id == "abc-123");
  BOOST_TEST(r.wants_json());
}

BOOST_AUTO_TEST_CASE(hostile_request_id_is_replaced) {
  auto r = fcgi::build_request({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/"},
                                {"HTTP_X_REQUEST_ID", "bad id\r\nSet-Cookie: x"}}, "", false);
  BOOST_TEST(r.request_id.find(' ') == std::string::npos);
  BOOST_TEST(r.request_id.size() == 16u);
}

BOOST_AUTO_TEST_CASE(response_has_status_with_reason_and_drops_injected_headers) {
  Response resp = json_response(201, "{\"a\":1}");
  resp.headers.emplace_back("X-Ok", "yes");
  resp.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: evil=1");
  std::string out = fcgi::format_response(resp);
  BOOST_TEST(out.rfind("Status: 201 Created\r\n", 0) == 0);
  BOOST_TEST(out.find("X-Ok: yes") != std::string::npos);
  BOOST_TEST(out.find("evil") == std::string::npos);
  BOOST_TEST(out.find("\r\n\r\n{\"a\":1}") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(api_errors_are_json_with_code_and_message) {
  Request req;
  req.path = "/api/cal/coaches";
  req.request_id = "rid1";
  Response r = respond_error(req, 409, "slot_taken", "That slot is gone");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(r.content_type.find("application/json") == 0u);
  auto v = json::parse(r.body);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST((*v)["error"]["code"].asString() == "slot_taken");
  BOOST_TEST((*v)["error"]["message"].asString() == "That slot is gone");
}

BOOST_AUTO_TEST_CASE(page_errors_are_html_and_escaped) {
  Request req;
  req.path = "/cal-oauth-test";
  Response r = respond_error(req, 404, "not_found", "<script>alert(1)</script>");
  BOOST_TEST(r.content_type.find("text/html") == 0u);
  BOOST_TEST(r.body.find("<script>alert(1)") == std::string::npos);
  BOOST_TEST(r.body.find("&lt;script&gt;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_json_is_a_400_naming_json) {
  auto v = json::parse("{\"a\": 1,}");
  BOOST_TEST_REQUIRE(!v.ok());
  BOOST_TEST(v.error().http_status == 400);
  BOOST_TEST(!json::parse("").ok());
  BOOST_TEST(!json::parse("{\"a\":1} trailing").ok());
  BOOST_TEST(!json::parse("{\"a\":1,\"a\":2}").ok());
  Json::Value obj;
  obj["n"] = "x";
  auto f = json::get_int(obj, "n");
  BOOST_TEST_REQUIRE(!f.ok());
  BOOST_TEST(f.error().message.find("'n'") != std::string::npos);
}
