/* crypto.cpp: encodings, hashes, HMAC, constant-time compare, random bytes and
 * AES-256-GCM sealing of secrets at rest, on top of OpenSSL 3's EVP API. */
#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace coach::crypto {

namespace {

const char k_hex_digits[] = "0123456789abcdef";
const char k_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char k_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr size_t k_gcm_nonce_len = 12;
constexpr size_t k_gcm_tag_len = 16;
constexpr std::string_view k_seal_prefix = "v1.";

/* OpenSSL wants a non-null pointer even for zero-length input. */
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string base64_encode_with(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                 uint32_t(uint8_t(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t n_left = bytes.size() - i;
  if (n_left == 1) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (n_left == 2) {
    uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

/* Decodes base64 in the given alphabet. Padding is optional, but when present
 * the input must be a whole number of 4-character groups. Rejects any other
 * character, a dangling single character, and non-zero leftover bits, so every
 * byte string has exactly one accepted encoding (a flipped last character can
 * never decode to the same bytes). */
std::optional<std::string> base64_decode_with(std::string_view in, const char* alphabet) {
  size_t n_pad = 0;
  while (n_pad < 2 && !in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++n_pad;
  }
  if (n_pad > 0 && (in.size() + n_pad) % 4 != 0) return std::nullopt;
  if (in.size() % 4 == 1) return std::nullopt;

  int8_t table[256];
  for (auto& t : table) t = -1;
  for (int i = 0; i < 64; ++i) table[uint8_t(alphabet[i])] = int8_t(i);

  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int n_bits = 0;
  for (char c : in) {
    int v = table[uint8_t(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out += char((acc >> n_bits) & 0xff);
    }
  }
  if (n_bits > 0 && (acc & ((1u << n_bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n_out = 0;
  if (EVP_Digest(bytes_of(data), data.size(), out, &n_out, md, nullptr) != 1) {
    std::fprintf(stderr, "crypto: EVP_Digest failed\n");
    std::abort();
  }
  return std::string(reinterpret_cast<char*>(out), n_out);
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Error decrypt_failed(const char* why) {
  return make_error(500, "decrypt_failed", std::string("cannot open sealed value: ") + why);
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    out += k_hex_digits[(uint8_t(c) >> 4) & 15];
    out += k_hex_digits[uint8_t(c) & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char((hi << 4) | lo);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) { return base64_encode_with(bytes, k_b64_std, true); }

std::optional<std::string> base64_decode(std::string_view b64) {
  return base64_decode_with(b64, k_b64_std);
}

std::string base64url_encode(std::string_view bytes) {
  return base64_encode_with(bytes, k_b64_url, false);
}

std::optional<std::string> base64url_decode(std::string_view b64u) {
  return base64_decode_with(b64u, k_b64_url);
}

std::string sha256(std::string_view data) { return digest(EVP_sha256(), data); }

std::string sha1(std::string_view data) { return digest(EVP_sha1(), data); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n_out = 0;
  if (HMAC(EVP_sha256(), bytes_of(key), int(key.size()), bytes_of(data), data.size(), out,
           &n_out) == nullptr) {
    std::fprintf(stderr, "crypto: HMAC failed\n");
    std::abort();
  }
  return std::string(reinterpret_cast<char*>(out), n_out);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return hex_encode(hmac_sha256(key, data));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n)) != 1) {
    std::fprintf(stderr, "crypto: RAND_bytes failed\n");
    std::abort();
  }
  return out;
}

std::string random_hex(size_t n_bytes) { return hex_encode(random_bytes(n_bytes)); }

/* Precondition: key32.size() == 32 (throws std::invalid_argument otherwise: a
 * wrong-sized key is a configuration bug, not bad input). A fresh random nonce
 * is used for every call, so two seals of the same text differ. */
std::string seal(std::string_view key32, std::string_view plaintext, std::string_view aad) {
  if (key32.size() != 32) throw std::invalid_argument("crypto::seal: key must be 32 bytes");
  const std::string nonce = random_bytes(k_gcm_nonce_len);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + k_gcm_tag_len, '\0');
  auto* out_p = reinterpret_cast<unsigned char*>(out.data());
  int n = 0, n_total = 0;
  bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes_of(key32),
                                       bytes_of(nonce), nullptr) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes_of(aad), int(aad.size())) == 1;
  }
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), out_p, &n, bytes_of(plaintext), int(plaintext.size())) == 1;
    n_total = n;
  }
  if (ok) {
    ok = EVP_EncryptFinal_ex(ctx.get(), out_p + n_total, &n) == 1;
    n_total += n;
  }
  if (ok) {
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(k_gcm_tag_len),
                             out_p + n_total) == 1;
  }
  if (!ok || size_t(n_total) != plaintext.size()) {
    std::fprintf(stderr, "crypto: AES-256-GCM encryption failed\n");
    std::abort();
  }
  return std::string(k_seal_prefix) + base64url_encode(nonce) + "." + base64url_encode(out);
}

Result<std::string> open(std::string_view key32, std::string_view sealed, std::string_view aad) {
  if (key32.size() != 32) return decrypt_failed("key is not 32 bytes");
  if (sealed.substr(0, k_seal_prefix.size()) != k_seal_prefix) return decrypt_failed("bad format");
  sealed.remove_prefix(k_seal_prefix.size());
  size_t dot = sealed.find('.');
  if (dot == std::string_view::npos) return decrypt_failed("bad format");
  auto nonce = base64url_decode(sealed.substr(0, dot));
  auto body = base64url_decode(sealed.substr(dot + 1));
  if (!nonce || !body || nonce->size() != k_gcm_nonce_len || body->size() < k_gcm_tag_len) {
    return decrypt_failed("bad format");
  }
  const size_t n_cipher = body->size() - k_gcm_tag_len;
  std::string tag = body->substr(n_cipher);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string plain(n_cipher, '\0');
  auto* plain_p = reinterpret_cast<unsigned char*>(plain.data());
  int n = 0, n_total = 0;
  bool ok = ctx && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes_of(key32),
                                       bytes_of(*nonce), nullptr) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes_of(aad), int(aad.size())) == 1;
  }
  if (ok && n_cipher > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), plain_p, &n, bytes_of(*body), int(n_cipher)) == 1;
    n_total = n;
  }
  if (ok) {
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(k_gcm_tag_len), tag.data()) == 1;
  }
  // The tag is checked here; on mismatch nothing decrypted is returned.
  if (ok) {
    ok = EVP_DecryptFinal_ex(ctx.get(), plain_p + n_total, &n) == 1;
    n_total += n;
  }
  if (!ok || size_t(n_total) != n_cipher) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return decrypt_failed("authentication failed");
  }
  return plain;
}

}  // namespace coach::crypto
