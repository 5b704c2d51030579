/* json_util.cpp: jsoncpp helpers. */
#include "json_util.hpp"

#include <memory>

namespace coach::json {

Result<Json::Value> parse(const std::string& text) {
  Json::CharReaderBuilder b;
  b["strictRoot"] = false;
  b["allowComments"] = false;
  b["allowTrailingCommas"] = false;
  b["rejectDupKeys"] = true;
  b["failIfExtra"] = true;
  b["stackLimit"] = 64;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  Json::Value v;
  std::string errs;
  if (text.empty()) return make_error(400, "bad_json", "Request body is empty; expected JSON");
  if (!r->parse(text.data(), text.data() + text.size(), &v, &errs))
    return make_error(400, "bad_json", "Malformed JSON body");
  return v;
}

std::string write(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}

std::string write_pretty(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "  ";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}

Result<std::string> get_string(const Json::Value& obj, const char* field, bool required, size_t max_len) {
  if (!obj.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  if (!obj.isMember(field) || obj[field].isNull()) {
    if (required) return make_error(400, "missing_field", std::string("Missing field '") + field + "'");
    return std::string();
  }
  if (!obj[field].isString())
    return make_error(400, "invalid_field", std::string("Field '") + field + "' must be a string");
  std::string s = obj[field].asString();
  if (s.size() > max_len)
    return make_error(400, "invalid_field", std::string("Field '") + field + "' is too long");
  if (required && s.empty())
    return make_error(400, "missing_field", std::string("Field '") + field + "' must not be empty");
  return s;
}

Result<int64_t> get_int(const Json::Value& obj, const char* field, bool required, int64_t dflt) {
  if (!obj.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  if (!obj.isMember(field) || obj[field].isNull()) {
    if (required) return make_error(400, "missing_field", std::string("Missing field '") + field + "'");
    return dflt;
  }
  if (!obj[field].isInt64())
    return make_error(400, "invalid_field", std::string("Field '") + field + "' must be an integer (64-bit)");
  return obj[field].asInt64();
}

std::string str(const Json::Value& obj, const char* field, const std::string& dflt) {
  if (!obj.isObject() || !obj.isMember(field)) return dflt;
  const auto& v = obj[field];
  if (v.isString()) return v.asString();
  if (v.isInt64()) return std::to_string(v.asInt64());
  return dflt;
}

int64_t num(const Json::Value& obj, const char* field, int64_t dflt) {
  if (!obj.isObject() || !obj.isMember(field)) return dflt;
  const auto& v = obj[field];
  if (v.isInt64()) return v.asInt64();
  if (v.isDouble()) return static_cast<int64_t>(v.asDouble());
  if (v.isString()) {
    try {
      return std::stoll(v.asString());
    } catch (...) {
      return dflt;
    }
  }
  return dflt;
}

}  // namespace coach::json
