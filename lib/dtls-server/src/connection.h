// Connection: one peer's SSL object after it passed the cookie exchange. JavaScript feeds it
// the peer's datagrams and gets back datagrams to send, decrypted records and state changes.
#pragma once

#include <napi.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "datagram_bio.h"
#include "peer_info.h"

namespace cpnp_dtls {

// Handed from ContextWrap::Listen to the Connection constructor through a Napi::External.
struct PendingConnection {
  SSL* ssl = nullptr;
  std::unique_ptr<PeerInfo> peer;
};

class ConnectionWrap : public Napi::ObjectWrap<ConnectionWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ConnectionWrap(const Napi::CallbackInfo& info);
  ~ConnectionWrap() override;

 private:
  Napi::Value Feed(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value TimeoutMs(const Napi::CallbackInfo& info);
  Napi::Value HandleTimeout(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Free(const Napi::CallbackInfo& info);

  // Runs the handshake and then reads every decrypted record available.
  void Drive(std::vector<Bytes>& data);
  void Fail(const std::string& error);
  Napi::Object Result(Napi::Env env, const std::vector<Bytes>& data);
  Napi::Array TakeOutbound(Napi::Env env);
  void Release();

  SSL* ssl_ = nullptr;
  std::unique_ptr<PeerInfo> peer_;
  Napi::ObjectReference context_;
  bool established_ = false;
  bool closed_ = false;
  bool peerClosed_ = false;
  bool shutdownSent_ = false;
  std::string error_;
};

}  // namespace cpnp_dtls
