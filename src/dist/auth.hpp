// The job secret that authenticates ranks to the rendezvous store: parsing ZEROTUNE_JOB_SECRET (hex) and the
// HMAC-SHA256 challenge-response primitives (OpenSSL libcrypto).
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace zt::dist {

using Digest = std::array<uint8_t, 32>;
using Nonce = std::array<uint8_t, 32>;

// Decodes a hex job secret (upper or lower case, at least 32 digits = 128 bits, even length) into raw bytes.
// `source` names where it came from (e.g. "ZEROTUNE_JOB_SECRET") for the error message.
std::string parse_secret_hex(const std::string& hex, const std::string& source);
// A fresh random secret as 64 hex digits (what a launcher puts into ZEROTUNE_JOB_SECRET).
std::string generate_secret_hex();

Nonce random_nonce();
// HMAC-SHA256(key, label || a || b).
Digest auth_mac(const std::string& key, const std::string& label, const Nonce& a, const Nonce& b);
// Constant-time comparison.
bool digest_equal(const Digest& x, const Digest& y);

}  // namespace zt::dist
