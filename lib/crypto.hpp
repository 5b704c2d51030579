/* crypto.hpp: encodings, hashes, HMAC, constant-time compare, random bytes and
 * AES-256-GCM sealing of secrets at rest (OpenSSL). All strings are byte strings. */
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace coach::crypto {

std::string hex_encode(std::string_view bytes);                 // lower-case
std::optional<std::string> hex_decode(std::string_view hex);    // nullopt on bad input
std::string base64_encode(std::string_view bytes);              // standard, padded
std::optional<std::string> base64_decode(std::string_view b64); // accepts missing padding
std::string base64url_encode(std::string_view bytes);           // no padding
std::optional<std::string> base64url_decode(std::string_view b64u);

std::string sha256(std::string_view data);                      // 32 raw bytes
std::string sha1(std::string_view data);                        // 20 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/* Compares in time that depends only on the lengths. */
bool constant_time_equal(std::string_view a, std::string_view b);

/* Cryptographically random bytes (RAND_bytes); aborts if the RNG fails. */
std::string random_bytes(size_t n);
std::string random_hex(size_t n_bytes);                         // 2*n_bytes chars

/* AES-256-GCM. key must be 32 bytes. The sealed text is printable:
 * "v1." + base64url(12-byte nonce) + "." + base64url(ciphertext || 16-byte tag).
 * aad (associated data, e.g. "calendar_integration:42:access") is authenticated
 * but not stored: open() must be given the same aad. */
std::string seal(std::string_view key32, std::string_view plaintext, std::string_view aad = {});
/* Fails with code "decrypt_failed" on a wrong key, wrong aad, tampering or bad format. */
Result<std::string> open(std::string_view key32, std::string_view sealed, std::string_view aad = {});

}  // namespace coach::crypto
