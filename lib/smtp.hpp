/* smtp.hpp: sending a prepared RFC 5322 message over SMTP with libcurl
 * (reference payments-zoom-auth-email.md §4.5), plus the few MIME encoders a
 * message builder needs (quoted-printable, base64 lines, RFC 2047 header
 * words, mailboxes, RFC 5322 dates). libcurl is not a mail queue: callers
 * keep an outbox (the jobs table) and retry. */
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "result.hpp"

namespace coach::smtp {

struct Settings {
  /* smtp://host:port/<EHLO name> or smtps://host:465/<EHLO name>;
   * "user:password@" in the URL authenticates (the mechanism is negotiated).
   * Plain smtp:// to a host other than loopback requires STARTTLS
   * (CURLUSESSL_ALL: fail rather than fall back to clear text). */
  std::string url;
  long connect_timeout_ms = 5000;
  long timeout_ms = 20000;  // whole session; keep it below the job lease
};

/* Sends message (complete headers + body, CRLF line ends, lines of at most
 * 998 octets, NOT dot-stuffed: libcurl does that) from envelope sender
 * from_addr to every rcpt (bare addresses, no display names).
 * Errors: 400 bad_message (bare LF or CR, an over-long line, no recipient, an
 * address with control characters or brackets) before anything is sent;
 * 502 smtp_failed when the server cannot be reached, refuses a command or
 * does not accept the DATA (message names the curl error and last SMTP code). */
Status send(const Settings& s, const std::string& from_addr, const std::vector<std::string>& rcpts,
            const std::string& message);

/* ---- MIME helpers --------------------------------------------------------- */

/* A plausible single address: local@domain, ASCII printable, none of
 * whitespace " ( ) , : ; < > [ \ and at most 254 octets. */
bool is_valid_address(const std::string& addr);

/* "Name <a@b>" -> "a@b"; a bare address is returned as is (trimmed). */
std::string address_of(const std::string& mailbox);

/* "Name" <a@b> for headers: an ASCII name as a quoted string, a non-ASCII
 * one as RFC 2047 encoded words; an empty name gives just <a@b>. */
std::string format_mailbox(const std::string& name, const std::string& addr);

/* A header value: printable ASCII is returned as is, folded (CRLF before a
 * space) where a line would pass 78 characters; anything else (UTF-8)
 * becomes =?UTF-8?B?...?= words of at most 75 characters, never splitting a
 * UTF-8 sequence, joined by CRLF SP (folding). CR/LF never pass through. */
std::string encode_header(const std::string& value);

/* Quoted-printable (RFC 2045 §6.7) of UTF-8 text whose lines end in LF or
 * CRLF: output lines end in CRLF and are at most 76 characters (soft breaks
 * "="), "=" and non-ASCII are =XX, trailing space/tab before a break encoded. */
std::string quoted_printable(const std::string& text);

/* base64 in lines of 76 characters, each ending in CRLF. */
std::string base64_lines(const std::string& bytes);

/* "Sat, 01 Mar 2025 12:00:00 +0000". */
std::string rfc5322_date(std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds> t);

/* A MIME boundary that cannot occur in base64 or quoted-printable output
 * ("=_" is neither base64 nor a valid QP escape) plus 24 random hex digits. */
std::string random_boundary(const std::string& tag);

}  // namespace coach::smtp
