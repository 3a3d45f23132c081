// @cpnp/dtls-server: OpenSSL's DTLS 1.2 PSK server (Node's own OpenSSL 3.0) behind a small
// N-API surface. Policy (identities, limits, timers, the socket) lives in TypeScript.
#include "addon.h"

#include <openssl/crypto.h>

#include "connection.h"
#include "context.h"

namespace cpnp_dtls {

DtlsAddon::DtlsAddon(Napi::Env env, Napi::Object exports) {
  Napi::Function connection = ConnectionWrap::Init(env);
  connectionConstructor = Napi::Persistent(connection);
  DefineAddon(exports, {
                           InstanceValue("Context", ContextWrap::Init(env), napi_enumerable),
                           InstanceValue("Connection", connection, napi_enumerable),
                           InstanceValue("opensslVersion", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)),
                                         napi_enumerable),
                       });
}

}  // namespace cpnp_dtls

using CpnpDtlsAddon = cpnp_dtls::DtlsAddon;
NODE_API_ADDON(CpnpDtlsAddon)
