// Per-environment data of the addon (worker threads each get their own).
#pragma once

#include <napi.h>

namespace cpnp_dtls {

class DtlsAddon : public Napi::Addon<DtlsAddon> {
 public:
  DtlsAddon(Napi::Env env, Napi::Object exports);
  Napi::FunctionReference connectionConstructor;
};

}  // namespace cpnp_dtls
