#include "connection.h"

#include <openssl/err.h>

#include "openssl_errors.h"

namespace cpnp_dtls {
namespace {

// The largest DTLS record plaintext (RFC 6347 4.1 → RFC 5246 6.2.1: 2^14) plus slack, so an
// oversized record is visible to the caller (who drops it) instead of silently truncated.
constexpr int kReadBuffer = 16384 + 1024;

bool ReadBytes(const Napi::Value& value, Bytes& out) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  out.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  return true;
}

std::string Describe(int sslError, const std::string& queue) {
  if (!queue.empty()) return queue;
  switch (sslError) {
    case SSL_ERROR_SYSCALL:
      return "I/O error in the datagram BIO";
    case SSL_ERROR_SSL:
      return "OpenSSL protocol error";
    default:
      return "OpenSSL error " + std::to_string(sslError);
  }
}

}  // namespace

Napi::Function ConnectionWrap::Init(Napi::Env env) {
  return DefineClass(env, "Connection",
                     {
                         InstanceMethod<&ConnectionWrap::Feed>("feed"),
                         InstanceMethod<&ConnectionWrap::Send>("send"),
                         InstanceMethod<&ConnectionWrap::Shutdown>("shutdown"),
                         InstanceMethod<&ConnectionWrap::TimeoutMs>("timeoutMs"),
                         InstanceMethod<&ConnectionWrap::HandleTimeout>("handleTimeout"),
                         InstanceMethod<&ConnectionWrap::Info>("info"),
                         InstanceMethod<&ConnectionWrap::Free>("free"),
                     });
}

// Only ContextWrap::Listen constructs connections (new Connection(external, context)).
ConnectionWrap::ConnectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsObject()) {
    Napi::TypeError::New(env, "Connection objects are created by Context.listen()").ThrowAsJavaScriptException();
    return;
  }
  auto* pending = info[0].As<Napi::External<PendingConnection>>().Data();
  if (pending == nullptr || pending->ssl == nullptr || !pending->peer) {
    Napi::TypeError::New(env, "Connection: nothing to take over").ThrowAsJavaScriptException();
    return;
  }
  ssl_ = pending->ssl;
  pending->ssl = nullptr;
  peer_ = std::move(pending->peer);
  ERR_clear_error();
  SSL_set_app_data(ssl_, peer_.get());
  ERR_clear_error();
  // Keeps the Context (and so the PSK callback and cookie secrets) alive while this SSL is.
  context_ = Napi::Persistent(info[1].As<Napi::Object>());
}

ConnectionWrap::~ConnectionWrap() { Release(); }

void ConnectionWrap::Release() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);  // frees the BIO and its queues too
    ssl_ = nullptr;
    ERR_clear_error();
  }
  peer_.reset();
  if (!context_.IsEmpty()) context_.Reset();
  closed_ = true;
}

void ConnectionWrap::Fail(const std::string& error) {
  closed_ = true;
  if (error_.empty()) error_ = error;
}

void ConnectionWrap::Drive(std::vector<Bytes>& data) {
  if (closed_ || ssl_ == nullptr) return;
  if (!established_) {
    ERR_clear_error();
    const int status = SSL_do_handshake(ssl_);
    const int sslError = status == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, status);
    std::string queue = DrainErrors();
    ERR_clear_error();
    if (status == 1) {
      established_ = true;
    } else if (sslError != SSL_ERROR_WANT_READ && sslError != SSL_ERROR_WANT_WRITE) {
      if (!peer_->pskError.empty()) queue = peer_->pskError + (queue.empty() ? "" : "; " + queue);
      Fail(Describe(sslError, queue));
      return;
    }
  }
  if (!established_) return;
  // DTLS returns one record per SSL_read: read until OpenSSL wants the next datagram.
  unsigned char buffer[kReadBuffer];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      data.emplace_back(buffer, buffer + n);
      continue;
    }
    const int sslError = SSL_get_error(ssl_, n);
    std::string queue = DrainErrors();
    ERR_clear_error();
    if (sslError == SSL_ERROR_WANT_READ || sslError == SSL_ERROR_WANT_WRITE) return;
    if (sslError == SSL_ERROR_ZERO_RETURN) {
      // close_notify from the peer: answer with ours and stop.
      peerClosed_ = true;
      closed_ = true;
      if (!shutdownSent_) {
        shutdownSent_ = true;
        SSL_shutdown(ssl_);
        ERR_clear_error();
      }
      return;
    }
    Fail(Describe(sslError, queue));
    return;
  }
}

Napi::Array ConnectionWrap::TakeOutbound(Napi::Env env) {
  Napi::Array out = Napi::Array::New(env);
  DatagramQueues* queues = ssl_ == nullptr ? nullptr : QueuesOf(SSL_get_wbio(ssl_));
  if (queues == nullptr) return out;
  uint32_t i = 0;
  for (Bytes& datagram : queues->outbound) {
    out.Set(i++, Napi::Buffer<uint8_t>::Copy(env, datagram.data(), datagram.size()));
  }
  queues->outbound.clear();
  return out;
}

// { out, data, established, closed, peerClosed, unknownIdentity, error? }
Napi::Object ConnectionWrap::Result(Napi::Env env, const std::vector<Bytes>& data) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("out", TakeOutbound(env));
  Napi::Array records = Napi::Array::New(env, data.size());
  for (uint32_t i = 0; i < data.size(); i++) {
    records.Set(i, Napi::Buffer<uint8_t>::Copy(env, data[i].data(), data[i].size()));
  }
  result.Set("data", records);
  result.Set("established", established_);
  result.Set("closed", closed_);
  result.Set("peerClosed", peerClosed_);
  result.Set("unknownIdentity", peer_ != nullptr && peer_->unknownIdentity);
  if (!error_.empty()) result.Set("error", error_);
  return result;
}

// feed(datagram?): queues one datagram from the peer (none: just drive the handshake).
Napi::Value ConnectionWrap::Feed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes datagram;
  if (info.Length() > 0 && !info[0].IsUndefined() && !ReadBytes(info[0], datagram)) {
    Napi::TypeError::New(env, "feed(datagram?: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<Bytes> data;
  if (!closed_ && ssl_ != nullptr) {
    if (!datagram.empty()) {
      DatagramQueues* queues = QueuesOf(SSL_get_rbio(ssl_));
      if (queues != nullptr) queues->inbound.push_back(std::move(datagram));
    }
    Drive(data);
    // Whatever OpenSSL did not read (it never should) is stale once this call returns.
    DatagramQueues* queues = ssl_ == nullptr ? nullptr : QueuesOf(SSL_get_rbio(ssl_));
    if (queues != nullptr) queues->inbound.clear();
  }
  return Result(env, data);
}

// send(data): encrypts one application record (one CPNP message).
Napi::Value ConnectionWrap::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes payload;
  if (info.Length() < 1 || !ReadBytes(info[0], payload)) {
    Napi::TypeError::New(env, "send(data: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<Bytes> none;
  Napi::Object result;
  if (closed_ || ssl_ == nullptr || !established_) {
    result = Result(env, none);
    result.Set("error", closed_ ? "connection is closed" : "handshake not complete");
    return result;
  }
  if (payload.empty()) {
    result = Result(env, none);
    result.Set("error", "empty record");
    return result;
  }
  ERR_clear_error();
  const int n = SSL_write(ssl_, payload.data(), static_cast<int>(payload.size()));
  const int sslError = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, n);
  std::string queue = DrainErrors();
  ERR_clear_error();
  std::string sendError;
  if (n <= 0) {
    sendError = Describe(sslError, queue);
    if (sslError == SSL_ERROR_SYSCALL) Fail(sendError);
  }
  result = Result(env, none);
  if (!sendError.empty()) result.Set("error", sendError);
  return result;
}

// shutdown(): close_notify datagrams to send (none when the handshake never completed).
Napi::Value ConnectionWrap::Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ssl_ != nullptr && established_ && !shutdownSent_ && error_.empty()) {
    shutdownSent_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  closed_ = true;
  return TakeOutbound(env);
}

// timeoutMs(): milliseconds until OpenSSL wants handleTimeout() (handshake retransmission),
// or -1 when no retransmission timer runs.
Napi::Value ConnectionWrap::TimeoutMs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ssl_ == nullptr || closed_) return Napi::Number::New(env, -1);
  struct timeval tv {};
  ERR_clear_error();
  const long running = DTLSv1_get_timeout(ssl_, &tv);
  ERR_clear_error();
  if (running <= 0) return Napi::Number::New(env, -1);
  const double ms = static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>((tv.tv_usec + 999) / 1000);
  return Napi::Number::New(env, ms);
}

// handleTimeout(): retransmits the last flight when its timer expired (RFC 6347 4.2.4).
Napi::Value ConnectionWrap::HandleTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Bytes> none;
  if (ssl_ != nullptr && !closed_) {
    ERR_clear_error();
    const int status = DTLSv1_handle_timeout(ssl_);
    std::string queue = DrainErrors();
    ERR_clear_error();
    if (status < 0) Fail(queue.empty() ? "handshake retransmission limit reached" : queue);
  }
  return Result(env, none);
}

// info(): what the handshake negotiated (nulls before it completes).
Napi::Value ConnectionWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("identity", env.Null());
  result.Set("cipher", env.Null());
  result.Set("cipherOpenssl", env.Null());
  result.Set("version", env.Null());
  result.Set("clientRandom", env.Null());
  if (ssl_ == nullptr) return result;
  ERR_clear_error();
  const char* identity = established_ ? SSL_get_psk_identity(ssl_) : nullptr;
  if (identity != nullptr) result.Set("identity", Napi::Buffer<char>::Copy(env, identity, strnlen(identity, PSK_MAX_IDENTITY_LEN + 1)));
  const SSL_CIPHER* cipher = established_ ? SSL_get_current_cipher(ssl_) : nullptr;
  if (cipher != nullptr) {
    const char* standard = SSL_CIPHER_standard_name(cipher);
    const char* name = SSL_CIPHER_get_name(cipher);
    if (standard != nullptr) result.Set("cipher", standard);
    if (name != nullptr) result.Set("cipherOpenssl", name);
  }
  if (established_) result.Set("version", SSL_get_version(ssl_));
  unsigned char random[SSL3_RANDOM_SIZE];
  const size_t length = SSL_get_client_random(ssl_, random, sizeof random);
  if (length == sizeof random) result.Set("clientRandom", Napi::Buffer<uint8_t>::Copy(env, random, length));
  ERR_clear_error();
  return result;
}

// free(): releases the SSL object now instead of at garbage collection.
Napi::Value ConnectionWrap::Free(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace cpnp_dtls
