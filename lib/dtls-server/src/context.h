// Context: one SSL_CTX (DTLS 1.2 server, PSK, cookie exchange) plus the stateless listener that
// answers ClientHellos (DTLSv1_listen) until a peer proves it owns its address.
#pragma once

#include <napi.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "datagram_bio.h"
#include "peer_info.h"

namespace cpnp_dtls {

constexpr unsigned int kCookieLength = 32;  // HMAC-SHA256

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ContextWrap(const Napi::CallbackInfo& info);
  ~ContextWrap() override;

  // OpenSSL callbacks (called while a JS → C++ call runs, so calling back into JS is allowed).
  unsigned int LookupPsk(PeerInfo* peer, const char* identity, unsigned char* psk, unsigned int maxLength);
  bool MakeCookie(const std::string& peer, unsigned char* out) const;
  bool CheckCookie(const std::string& peer, const unsigned char* cookie, unsigned int length) const;

 private:
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value RotateCookieSecret(const Napi::CallbackInfo& info);
  Napi::Value CookieFor(const Napi::CallbackInfo& info);
  Napi::Value VerifyCookie(const Napi::CallbackInfo& info);
  Napi::Value Free(const Napi::CallbackInfo& info);

  bool EnsureListener();
  void FreeListener();
  void Release();

  SSL_CTX* ctx_ = nullptr;
  SSL* listener_ = nullptr;
  std::unique_ptr<PeerInfo> listenerPeer_;
  Bytes currentSecret_;
  Bytes previousSecret_;
  Napi::FunctionReference psk_;
  bool closed_ = false;
};

}  // namespace cpnp_dtls
