/* json_util.hpp: jsoncpp helpers: strict parsing of untrusted text, compact
 * UTF-8 writing, and typed field access that names the bad field. */
#pragma once
#include <cstdint>
#include <string>

#include <json/json.h>

#include "result.hpp"

namespace coach::json {

/* Parses untrusted JSON (strict mode, depth-limited). 400 bad_json on failure. */
Result<Json::Value> parse(const std::string& text);

/* Compact, UTF-8 (not \u-escaped), no trailing newline. */
std::string write(const Json::Value& v);
std::string write_pretty(const Json::Value& v);

/* Field getters for request bodies: 400 "missing_field"/"invalid_field"
 * with a message naming the field. */
Result<std::string> get_string(const Json::Value& obj, const char* field, bool required = true,
                               size_t max_len = 1000);
Result<int64_t> get_int(const Json::Value& obj, const char* field, bool required = true,
                        int64_t dflt = 0);

/* Lenient getters for upstream (untrusted) JSON: return a default when absent
 * or of another type instead of throwing. */
std::string str(const Json::Value& obj, const char* field, const std::string& dflt = "");
int64_t num(const Json::Value& obj, const char* field, int64_t dflt = 0);

}  // namespace coach::json
