// What the OpenSSL callbacks of one SSL object need to know (attached with SSL_set_app_data).
#pragma once

#include <string>

namespace cpnp_dtls {

class ContextWrap;

struct PeerInfo {
  // The peer's "ip:port" as JavaScript keys it; the cookie is an HMAC over exactly this text.
  std::string peer;
  // Kept alive by the Connection's reference to the Context object.
  ContextWrap* context = nullptr;
  // The PSK callback found no key for the identity the client offered.
  bool unknownIdentity = false;
  // The JavaScript PSK lookup threw or returned an unusable key.
  std::string pskError;
};

}  // namespace cpnp_dtls
