/* log.cpp: structured log lines with redaction. */
#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>

#include <unistd.h>

namespace coach::log {
namespace {
std::string g_path;
std::mutex g_mu;

std::string quote_if_needed(const std::string& v) {
  bool needs = v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') needs = true;
  if (!needs) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out + "\"";
}
}  // namespace

void set_output(const std::string& path) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_path = path;
}

std::string now_iso8601() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string redact(const std::string& s) {
  static const std::regex bearer(R"((Bearer\s+)[A-Za-z0-9._~+/=-]+)", std::regex::icase);
  static const std::regex jwt(R"(eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)");
  static const std::regex prefixed(R"(\b(sk_(test|live)_|whsec_|rk_(test|live)_)[A-Za-z0-9]+)");
  static const std::regex kv(
      R"(((?:access_?token|refresh_?token|accessToken|refreshToken|token|secret|password|client_secret|clientSecret|code|api_?key|authorization|__session)["']?\s*[:=]\s*["']?)([^"'&\s,}]+))",
      std::regex::icase);
  std::string out = std::regex_replace(s, bearer, "$1[redacted]");
  out = std::regex_replace(out, jwt, "[redacted-jwt]");
  out = std::regex_replace(out, prefixed, "$1[redacted]");
  out = std::regex_replace(out, kv, "$1[redacted]");
  return out;
}

std::string mask(const std::string& secret) {
  if (secret.empty()) return "(none)";
  if (secret.size() < 12) return "****";
  return secret.substr(0, 4) + "…" + secret.substr(secret.size() - 4) + " (" + std::to_string(secret.size()) + " chars)";
}

void line(const std::string& level, const std::string& msg, const Fields& fields) {
  std::string out = "time=" + now_iso8601() + " level=" + level + " pid=" + std::to_string(getpid()) +
                    " msg=" + quote_if_needed(redact(msg));
  for (const auto& [k, v] : fields) out += " " + k + "=" + quote_if_needed(redact(v));
  out += "\n";
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_path.empty()) {
    std::cerr << out << std::flush;
    return;
  }
  // O_APPEND writes of one line are atomic enough for several processes.
  FILE* f = std::fopen(g_path.c_str(), "a");
  if (!f) {
    std::cerr << out << std::flush;
    return;
  }
  std::fwrite(out.data(), 1, out.size(), f);
  std::fclose(f);
}

}  // namespace coach::log
