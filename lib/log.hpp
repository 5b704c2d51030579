/* log.hpp: one structured line per event (logfmt: key=value ...), secrets redacted. */
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace coach::log {

/* Where lines go: a file appended to (opened per line, so several processes
 * can share it and logrotate works), or stderr when path is empty. */
void set_output(const std::string& path);

using Fields = std::vector<std::pair<std::string, std::string>>;

/* Writes "time=... level=... msg=... k=v ...". Values are quoted when needed
 * and passed through redact() first. */
void line(const std::string& level, const std::string& msg, const Fields& fields = {});
inline void info(const std::string& msg, const Fields& f = {}) { line("info", msg, f); }
inline void warn(const std::string& msg, const Fields& f = {}) { line("warn", msg, f); }
inline void error(const std::string& msg, const Fields& f = {}) { line("error", msg, f); }

/* Masks anything that looks like a credential: Bearer tokens, JWTs, values of
 * secret-ish query/JSON keys (token, secret, password, code, key...), sk_/whsec_
 * prefixed keys. */
std::string redact(const std::string& s);

/* "abcd…wxyz" style mask for showing that a secret exists without showing it. */
std::string mask(const std::string& secret);

/* ISO-8601 UTC with milliseconds. */
std::string now_iso8601();

}  // namespace coach::log
