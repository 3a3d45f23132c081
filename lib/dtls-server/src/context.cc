#include "context.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "addon.h"
#include "connection.h"
#include "openssl_errors.h"

namespace cpnp_dtls {
namespace {

constexpr size_t kMinSecretLength = 16;

ContextWrap* ContextOf(SSL* ssl) {
  auto* peer = static_cast<PeerInfo*>(SSL_get_app_data(ssl));
  return peer == nullptr ? nullptr : peer->context;
}

unsigned int PskCallback(SSL* ssl, const char* identity, unsigned char* psk, unsigned int maxLength) {
  auto* peer = static_cast<PeerInfo*>(SSL_get_app_data(ssl));
  if (peer == nullptr || peer->context == nullptr) return 0;
  return peer->context->LookupPsk(peer, identity, psk, maxLength);
}

int GenerateCookieCallback(SSL* ssl, unsigned char* cookie, unsigned int* length) {
  ContextWrap* context = ContextOf(ssl);
  auto* peer = static_cast<PeerInfo*>(SSL_get_app_data(ssl));
  if (context == nullptr || !context->MakeCookie(peer->peer, cookie)) return 0;
  *length = kCookieLength;
  return 1;
}

int VerifyCookieCallback(SSL* ssl, const unsigned char* cookie, unsigned int length) {
  ContextWrap* context = ContextOf(ssl);
  auto* peer = static_cast<PeerInfo*>(SSL_get_app_data(ssl));
  return context != nullptr && context->CheckCookie(peer->peer, cookie, length) ? 1 : 0;
}

bool HmacCookie(const Bytes& secret, const std::string& peer, unsigned char* out) {
  if (secret.empty()) return false;
  unsigned int length = 0;
  const unsigned char* digest = HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                                     reinterpret_cast<const unsigned char*>(peer.data()), peer.size(), out, &length);
  return digest != nullptr && length == kCookieLength;
}

bool ReadBytes(const Napi::Value& value, Bytes& out) {
  if (!value.IsTypedArray()) return false;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  out.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  return true;
}

void Wipe(Bytes& bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

Napi::Value ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

Napi::Function ContextWrap::Init(Napi::Env env) {
  return DefineClass(env, "Context",
                     {
                         InstanceMethod<&ContextWrap::Listen>("listen"),
                         InstanceMethod<&ContextWrap::RotateCookieSecret>("rotateCookieSecret"),
                         InstanceMethod<&ContextWrap::CookieFor>("cookieFor"),
                         InstanceMethod<&ContextWrap::VerifyCookie>("verifyCookie"),
                         InstanceMethod<&ContextWrap::Free>("free"),
                     });
}

// new Context({ ciphers, psk, cookieSecret }): the options come from the TypeScript policy layer.
ContextWrap::ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowType(env, "Context: expected an options object");
    return;
  }
  Napi::Object options = info[0].As<Napi::Object>();
  Napi::Value ciphers = options.Get("ciphers");
  Napi::Value psk = options.Get("psk");
  if (env.IsExceptionPending()) return;
  if (!ciphers.IsString()) {
    ThrowType(env, "Context: options.ciphers must be an OpenSSL cipher list string");
    return;
  }
  if (!psk.IsFunction()) {
    ThrowType(env, "Context: options.psk must be a function (identity, peer) => key");
    return;
  }
  if (!ReadBytes(options.Get("cookieSecret"), currentSecret_) || currentSecret_.size() < kMinSecretLength) {
    ThrowType(env, "Context: options.cookieSecret must be a Uint8Array of at least 16 bytes");
    return;
  }
  const std::string cipherList = ciphers.As<Napi::String>().Utf8Value();

  ERR_clear_error();
  ctx_ = SSL_CTX_new(DTLS_server_method());
  bool ok = ctx_ != nullptr;
  // DTLS 1.2 only: DTLS 1.0 ClientHellos are refused with a protocol_version alert.
  ok = ok && SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) == 1;
  ok = ok && SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION) == 1;
  ok = ok && SSL_CTX_set_cipher_list(ctx_, cipherList.c_str()) == 1;
  std::string error = ok ? "" : DrainErrors();
  ERR_clear_error();
  if (!ok) {
    Release();
    Napi::Error::New(env, "Context: OpenSSL refused the configuration: " + error).ThrowAsJavaScriptException();
    return;
  }
  // Server preference picks our AEAD suite even when the client lists CBC first; no
  // renegotiation, tickets or session cache: every association is one full PSK handshake.
  SSL_CTX_set_options(ctx_, SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_psk_server_callback(ctx_, PskCallback);
  SSL_CTX_set_cookie_generate_cb(ctx_, GenerateCookieCallback);
  SSL_CTX_set_cookie_verify_cb(ctx_, VerifyCookieCallback);
  ERR_clear_error();
  psk_ = Napi::Persistent(psk.As<Napi::Function>());
}

ContextWrap::~ContextWrap() { Release(); }

void ContextWrap::Release() {
  closed_ = true;
  FreeListener();
  if (ctx_ != nullptr) {
    // Connections still alive hold their own reference to the SSL_CTX.
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  Wipe(currentSecret_);
  Wipe(previousSecret_);
  if (!psk_.IsEmpty()) psk_.Reset();
  ERR_clear_error();
}

void ContextWrap::FreeListener() {
  if (listener_ != nullptr) {
    SSL_free(listener_);  // also frees its BIO and queues
    listener_ = nullptr;
  }
  listenerPeer_.reset();
}

bool ContextWrap::EnsureListener() {
  if (listener_ != nullptr) return true;
  if (ctx_ == nullptr) return false;
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_);
  BIO* bio = ssl == nullptr ? nullptr : NewDatagramBio();
  if (bio == nullptr) {
    if (ssl != nullptr) SSL_free(ssl);
    ERR_clear_error();
    return false;
  }
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by the SSL from now on
  listenerPeer_ = std::make_unique<PeerInfo>();
  listenerPeer_->context = this;
  SSL_set_app_data(ssl, listenerPeer_.get());
  ERR_clear_error();
  listener_ = ssl;
  return true;
}

// listen(peer, datagram, mtu) → { status, out, connection?, error? }
//   'cookie-sent': a HelloVerifyRequest is in `out`; no state was kept (RFC 6347 4.2.1).
//   'accepted':    the ClientHello carried a valid cookie; `connection` continues the handshake.
//   'dropped':     not a ClientHello we answer (garbage, other content, fragmented ClientHello).
//   'error':       OpenSSL failed; the listener is rebuilt on the next call.
Napi::Value ContextWrap::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes datagram;
  if (info.Length() < 3 || !info[0].IsString() || !ReadBytes(info[1], datagram) || !info[2].IsNumber()) {
    return ThrowType(env, "listen(peer: string, datagram: Uint8Array, mtu: number)");
  }
  Napi::Object result = Napi::Object::New(env);
  Napi::Array out = Napi::Array::New(env);
  result.Set("out", out);
  auto fail = [&](const std::string& error) {
    result.Set("status", "error");
    result.Set("error", error);
    return result;
  };
  if (closed_) return fail("context is closed");
  if (datagram.empty()) {
    result.Set("status", "dropped");
    return result;
  }
  if (!EnsureListener()) return fail("cannot create the listener SSL object");

  const int64_t mtu = info[2].As<Napi::Number>().Int64Value();
  listenerPeer_->peer = info[0].As<Napi::String>().Utf8Value();
  listenerPeer_->unknownIdentity = false;
  listenerPeer_->pskError.clear();
  DatagramQueues* queues = QueuesOf(SSL_get_rbio(listener_));
  if (queues == nullptr) return fail("listener BIO is not a datagram BIO");
  queues->inbound.clear();
  queues->outbound.clear();
  queues->inbound.push_back(std::move(datagram));

  ERR_clear_error();
  if (mtu <= 0 || mtu > 65535 || SSL_set_mtu(listener_, static_cast<long>(mtu)) <= 0) {
    ERR_clear_error();
    return fail("mtu out of range");
  }
  BIO_ADDR* client = BIO_ADDR_new();
  const int status = client == nullptr ? -1 : DTLSv1_listen(listener_, client);
  std::string error = status < 0 ? DrainErrors() : "";
  ERR_clear_error();
  if (client != nullptr) BIO_ADDR_free(client);

  uint32_t i = 0;
  for (Bytes& datagram : queues->outbound) {
    out.Set(i++, Napi::Buffer<uint8_t>::Copy(env, datagram.data(), datagram.size()));
  }
  queues->outbound.clear();
  queues->inbound.clear();

  if (status < 0) {
    FreeListener();
    return fail(error.empty() ? "DTLSv1_listen failed" : error);
  }
  if (status == 0) {
    result.Set("status", i > 0 ? "cookie-sent" : "dropped");
    return result;
  }

  // The peer proved it receives at its address: its SSL object becomes a Connection and a
  // fresh listener takes its place on the next call.
  PendingConnection pending;
  pending.ssl = listener_;
  pending.peer = std::move(listenerPeer_);
  listener_ = nullptr;
  DtlsAddon* addon = env.GetInstanceData<DtlsAddon>();
  Napi::Object connection =
      addon->connectionConstructor.New({Napi::External<PendingConnection>::New(env, &pending), Value()});
  if (pending.ssl != nullptr) {  // the constructor did not take ownership
    SSL_free(pending.ssl);
    ERR_clear_error();
  }
  if (env.IsExceptionPending()) {
    Napi::Error caught = env.GetAndClearPendingException();
    return fail("cannot create the connection: " + caught.Message());
  }
  result.Set("status", "accepted");
  result.Set("connection", connection);
  return result;
}

// rotateCookieSecret(secret): the current secret becomes the previous one (still accepted, so a
// cookie issued just before a rotation keeps working); the older one is forgotten.
Napi::Value ContextWrap::RotateCookieSecret(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes secret;
  if (info.Length() < 1 || !ReadBytes(info[0], secret) || secret.size() < kMinSecretLength) {
    return ThrowType(env, "rotateCookieSecret(secret: Uint8Array of at least 16 bytes)");
  }
  if (closed_) return env.Undefined();
  Wipe(previousSecret_);
  previousSecret_ = std::move(currentSecret_);
  currentSecret_ = std::move(secret);
  return env.Undefined();
}

// cookieFor(peer): the cookie a HelloVerifyRequest to `peer` carries now (diagnostics, tests).
Napi::Value ContextWrap::CookieFor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "cookieFor(peer: string)");
  unsigned char cookie[kCookieLength];
  if (closed_ || !MakeCookie(info[0].As<Napi::String>().Utf8Value(), cookie)) return env.Null();
  return Napi::Buffer<uint8_t>::Copy(env, cookie, kCookieLength);
}

// verifyCookie(peer, cookie): whether DTLSv1_listen would accept `cookie` from `peer`.
Napi::Value ContextWrap::VerifyCookie(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes cookie;
  if (info.Length() < 2 || !info[0].IsString() || !ReadBytes(info[1], cookie)) {
    return ThrowType(env, "verifyCookie(peer: string, cookie: Uint8Array)");
  }
  const bool ok = !closed_ && CheckCookie(info[0].As<Napi::String>().Utf8Value(), cookie.data(),
                                          static_cast<unsigned int>(cookie.size()));
  return Napi::Boolean::New(env, ok);
}

Napi::Value ContextWrap::Free(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

bool ContextWrap::MakeCookie(const std::string& peer, unsigned char* out) const {
  if (closed_) return false;
  const bool ok = HmacCookie(currentSecret_, peer, out);
  ERR_clear_error();
  return ok;
}

bool ContextWrap::CheckCookie(const std::string& peer, const unsigned char* cookie, unsigned int length) const {
  if (closed_ || cookie == nullptr || length != kCookieLength) return false;
  unsigned char expected[kCookieLength];
  bool ok = HmacCookie(currentSecret_, peer, expected) && CRYPTO_memcmp(expected, cookie, kCookieLength) == 0;
  if (!ok && !previousSecret_.empty()) {
    ok = HmacCookie(previousSecret_, peer, expected) && CRYPTO_memcmp(expected, cookie, kCookieLength) == 0;
  }
  OPENSSL_cleanse(expected, sizeof expected);
  ERR_clear_error();
  return ok;
}

unsigned int ContextWrap::LookupPsk(PeerInfo* peer, const char* identity, unsigned char* psk, unsigned int maxLength) {
  if (closed_ || psk_.IsEmpty() || identity == nullptr) {
    peer->unknownIdentity = true;
    return 0;
  }
  Napi::Env env = psk_.Env();
  Napi::HandleScope scope(env);
  const size_t identityLength = strnlen(identity, PSK_MAX_IDENTITY_LEN + 1);
  Napi::Value key = psk_.Call({Napi::Buffer<char>::Copy(env, identity, identityLength), Napi::String::New(env, peer->peer)});
  if (env.IsExceptionPending()) {
    Napi::Error caught = env.GetAndClearPendingException();
    peer->pskError = "PSK lookup threw: " + caught.Message();
    return 0;
  }
  Bytes bytes;
  if (key.IsEmpty() || key.IsUndefined() || key.IsNull()) {
    peer->unknownIdentity = true;
    return 0;
  }
  if (!ReadBytes(key, bytes) || bytes.empty() || bytes.size() > maxLength) {
    peer->pskError = "PSK lookup returned no usable key (expected 1.." + std::to_string(maxLength) + " bytes)";
    return 0;
  }
  const auto length = static_cast<unsigned int>(bytes.size());
  std::memcpy(psk, bytes.data(), length);
  Wipe(bytes);
  return length;
}

}  // namespace cpnp_dtls
