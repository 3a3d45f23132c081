// Node's own TLS code shares OpenSSL's thread-local error queue with this addon, so every
// OpenSSL call here starts and ends with an empty queue: stale errors would otherwise be
// blamed on the wrong call, here or in Node.
#pragma once

#include <openssl/err.h>

#include <string>

namespace cpnp_dtls {

// Empties the error queue into one readable string ("" when it was empty).
inline std::string DrainErrors() {
  std::string text;
  char buffer[256];
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

}  // namespace cpnp_dtls
