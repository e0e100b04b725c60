// Job-secret parsing and the HMAC-SHA256 challenge-response primitives of the rendezvous store (auth.hpp).
// Randomness comes from OpenSSL's CSPRNG; comparisons of MACs are constant time.
#include "dist/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include "core/error.hpp"

namespace zt::dist {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string parse_secret_hex(const std::string& hex, const std::string& source) {
  const std::string hint = "the launcher generates it; to set it by hand give every rank the same value, e.g. from "
                           "`openssl rand -hex 32`";
  check(hex.size() >= 32, source + " is too short (" + std::to_string(hex.size()) +
                              " hex digits): a job secret needs at least 32 hex digits (128 bits)", hint);
  check(hex.size() % 2 == 0, source + " has an odd number of hex digits (" + std::to_string(hex.size()) + ")", hint);
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? 2 * i : 2 * i + 1;
      fail(source + " is not hexadecimal: character " + std::to_string(bad + 1) + " is not 0-9/a-f", hint);
    }
    out[i] = char(hi * 16 + lo);
  }
  return out;
}

std::string generate_secret_hex() {
  unsigned char raw[32];
  check(RAND_bytes(raw, sizeof raw) == 1, "OpenSSL could not produce random bytes for a job secret");
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char b : raw) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

Nonce random_nonce() {
  Nonce n;
  check(RAND_bytes(n.data(), int(n.size())) == 1, "OpenSSL could not produce random bytes for the rendezvous handshake");
  return n;
}

Digest auth_mac(const std::string& key, const std::string& label, const Nonce& a, const Nonce& b) {
  std::vector<uint8_t> msg(label.begin(), label.end());
  msg.insert(msg.end(), a.begin(), a.end());
  msg.insert(msg.end(), b.begin(), b.end());
  Digest d{};
  unsigned int len = 0;
  // An empty key is valid for HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char empty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&empty) : static_cast<const void*>(key.data());
  check(HMAC(EVP_sha256(), k, int(key.size()), msg.data(), msg.size(), d.data(), &len) != nullptr && len == d.size(),
        "OpenSSL HMAC-SHA256 failed");
  return d;
}

bool digest_equal(const Digest& x, const Digest& y) { return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0; }

}  // namespace zt::dist
