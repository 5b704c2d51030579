/* smtp.cpp: SMTP submission over libcurl and MIME encoders. */
#include "smtp.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include <curl/curl.h>
#include <date/date.h>

#include "crypto.hpp"

namespace coach::smtp {
namespace {

constexpr size_t k_max_line_octets = 998;  // RFC 5322 §2.1.1, without the CRLF

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t read_cb(char* buf, size_t size, size_t nitems, void* userp) {
  auto* up = static_cast<Upload*>(userp);
  const size_t room = size * nitems;
  const size_t n = std::min(room, up->data->size() - up->offset);
  if (n > 0) std::memcpy(buf, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

/* The URL's host, or "" if libcurl cannot parse the URL. */
std::string host_of(const std::string& url) {
  std::string host;
  CURLU* u = curl_url();
  if (!u) return host;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* h = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h) {
      host = h;
      curl_free(h);
    }
  }
  curl_url_cleanup(u);
  return host;
}

Status check_message(const std::string& msg) {
  size_t line_len = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    const char c = msg[i];
    if (c == '\r') {
      if (i + 1 >= msg.size() || msg[i + 1] != '\n') return make_error(400, "bad_message", "bare CR in message");
      ++i;
      line_len = 0;
      continue;
    }
    if (c == '\n') return make_error(400, "bad_message", "bare LF in message (use CRLF)");
    if (++line_len > k_max_line_octets)
      return make_error(400, "bad_message", "a message line is longer than 998 octets");
  }
  if (msg.size() < 2 || msg.compare(msg.size() - 2, 2, "\r\n") != 0)
    return make_error(400, "bad_message", "message must end with CRLF");
  return ok_status();
}

const char k_hex[] = "0123456789ABCDEF";

bool is_ascii_printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

}  // namespace

Status send(const Settings& s, const std::string& from_addr, const std::vector<std::string>& rcpts,
            const std::string& message) {
  if (rcpts.empty()) return make_error(400, "bad_message", "no recipient");
  if (!is_valid_address(from_addr)) return make_error(400, "bad_message", "invalid sender address");
  for (const auto& r : rcpts)
    if (!is_valid_address(r)) return make_error(400, "bad_message", "invalid recipient address");
  if (auto ok = check_message(message); !ok) return ok;
  if (s.url.rfind("smtp://", 0) != 0 && s.url.rfind("smtps://", 0) != 0)
    return make_error(400, "bad_message", "SMTP URL must start with smtp:// or smtps://");

  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  if (!c) return make_error(502, "smtp_failed", "curl_easy_init failed");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt_list(nullptr, curl_slist_free_all);
  for (const auto& r : rcpts) {
    curl_slist* next = curl_slist_append(rcpt_list.get(), ("<" + r + ">").c_str());
    if (!next) return make_error(502, "smtp_failed", "out of memory");
    (void)rcpt_list.release();
    rcpt_list.reset(next);
  }
  Upload up{&message, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string mail_from = "<" + from_addr + ">";
  curl_easy_setopt(c.get(), CURLOPT_URL, s.url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (s.url.rfind("smtp://", 0) == 0 && !is_loopback(host_of(s.url)))
    curl_easy_setopt(c.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt_list.get());
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &up);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT_MS, s.connect_timeout_ms);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, s.timeout_ms);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
    std::string msg = std::string("SMTP send failed: ") + curl_easy_strerror(rc);
    if (errbuf[0]) msg += " (" + std::string(errbuf) + ")";
    if (code) msg += "; last SMTP reply " + std::to_string(code);
    return make_error(502, "smtp_failed", msg);
  }
  return ok_status();
}

bool is_valid_address(const std::string& a) {
  if (a.empty() || a.size() > 254) return false;
  const size_t at = a.rfind('@');
  if (at == 0 || at == std::string::npos || at + 1 >= a.size()) return false;
  if (a.find('@') != at) return false;
  for (char c : a) {
    if (c <= 0x20 || c >= 0x7F) return false;
    if (std::strchr("\"(),:;<>[\\]", c)) return false;
  }
  return true;
}

std::string address_of(const std::string& mailbox) {
  const size_t lt = mailbox.rfind('<');
  const size_t gt = mailbox.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) return mailbox.substr(lt + 1, gt - lt - 1);
  const size_t b = mailbox.find_first_not_of(" \t");
  const size_t e = mailbox.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : mailbox.substr(b, e - b + 1);
}

std::string format_mailbox(const std::string& name, const std::string& addr) {
  std::string n;
  for (char c : name)
    if (c != '\r' && c != '\n') n += c;
  if (n.empty()) return "<" + addr + ">";
  if (is_ascii_printable(n)) {
    std::string q = "\"";
    for (char c : n) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\" <" + addr + ">";
  }
  return encode_header(n) + " <" + addr + ">";
}

std::string encode_header(const std::string& value) {
  std::string v;
  for (char c : value)
    if (c != '\r' && c != '\n') v += c;
  if (is_ascii_printable(v)) {
    // Fold long values at spaces (RFC 5322 §2.2.3: lines SHOULD stay within
    // 78 characters); "Subject: " takes 9 of the first line.
    std::string out;
    size_t line = 9;
    size_t pos = 0;
    while (pos < v.size()) {
      size_t sp = v.find(' ', pos + 1);
      if (sp == std::string::npos) sp = v.size();
      const std::string word = v.substr(pos, sp - pos);  // starts with its space, except the first
      if (line + word.size() > 78 && !out.empty() && word[0] == ' ') {
        out += "\r\n";
        line = 0;
      }
      out += word;
      line += word.size();
      pos = sp;
    }
    return out;
  }
  // 45 input bytes -> 60 base64 characters; with "=?UTF-8?B?" and "?=" a word is 72.
  constexpr size_t k_chunk = 45;
  std::string out;
  size_t pos = 0;
  while (pos < v.size()) {
    size_t end = std::min(v.size(), pos + k_chunk);
    while (end < v.size() && end > pos + 1 && (static_cast<unsigned char>(v[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + crypto::base64_encode(v.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::string quoted_printable(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t col = 0;
  auto emit = [&](const std::string& tok) {
    if (col + tok.size() > 75) {  // keep room for the soft-break "="
      out += "=\r\n";
      col = 0;
    }
    out += tok;
    col += tok.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // the LF ends the line
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\n' || (text[i + 1] == '\r');
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    if (literal) {
      emit(std::string(1, static_cast<char>(c)));
    } else {
      emit(std::string{'=', k_hex[c >> 4], k_hex[c & 15]});
    }
  }
  if (col > 0) out += "\r\n";
  return out;
}

std::string base64_lines(const std::string& bytes) {
  const std::string b = crypto::base64_encode(bytes);
  std::string out;
  out.reserve(b.size() + b.size() / 76 * 2 + 2);
  for (size_t i = 0; i < b.size(); i += 76) {
    out.append(b, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string rfc5322_date(std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds> t) {
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto d = date::floor<date::days>(t);
  const date::year_month_day ymd{d};
  const auto sod = (t - d).count();
  char b[64];
  std::snprintf(b, sizeof b, "%s, %02u %s %04d %02d:%02d:%02d +0000", days[date::weekday{d}.c_encoding()],
                static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  return b;
}

std::string random_boundary(const std::string& tag) { return "=_" + tag + "_" + crypto::random_hex(12); }

}  // namespace coach::smtp
