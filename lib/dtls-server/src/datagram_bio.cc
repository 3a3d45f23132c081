#include "datagram_bio.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace cpnp_dtls {
namespace {

BIO_METHOD* g_method = nullptr;
int g_type = 0;
std::once_flag g_method_once;

DatagramQueues* Queues(BIO* bio) { return static_cast<DatagramQueues*>(BIO_get_data(bio)); }

int Write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  DatagramQueues* queues = Queues(bio);
  if (queues == nullptr || data == nullptr || len < 0) return -1;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  queues->outbound.emplace_back(bytes, bytes + len);
  return len;
}

int Read(BIO* bio, char* buffer, int size) {
  BIO_clear_retry_flags(bio);
  DatagramQueues* queues = Queues(bio);
  if (queues == nullptr || buffer == nullptr || size < 0) return -1;
  if (queues->inbound.empty()) {
    // Non-blocking: OpenSSL reports SSL_ERROR_WANT_READ and waits for the next datagram.
    BIO_set_retry_read(bio);
    return -1;
  }
  Bytes datagram = std::move(queues->inbound.front());
  queues->inbound.pop_front();
  // Datagram semantics: a datagram larger than the buffer is truncated, never split.
  const size_t n = std::min(datagram.size(), static_cast<size_t>(size));
  if (n > 0) std::memcpy(buffer, datagram.data(), n);
  return static_cast<int>(n);
}

long Ctrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  DatagramQueues* queues = Queues(bio);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return queues != nullptr && !queues->inbound.empty() ? static_cast<long>(queues->inbound.front().size()) : 0;
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      // Peer addresses, MTU queries (SSL_OP_NO_QUERY_MTU: the MTU is set explicitly), timeouts:
      // not supported, which DTLS tolerates.
      return 0;
  }
}

int Create(BIO* bio) {
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 1);
  return 1;
}

int Destroy(BIO* bio) {
  if (bio == nullptr) return 0;
  delete Queues(bio);
  BIO_set_data(bio, nullptr);
  return 1;
}

void MakeMethod() {
  const int index = BIO_get_new_index();
  if (index == -1) return;
  const int type = index | BIO_TYPE_SOURCE_SINK;
  BIO_METHOD* method = BIO_meth_new(type, "cpnp datagram");
  if (method == nullptr) return;
  if (BIO_meth_set_write(method, Write) != 1 || BIO_meth_set_read(method, Read) != 1 ||
      BIO_meth_set_ctrl(method, Ctrl) != 1 || BIO_meth_set_create(method, Create) != 1 ||
      BIO_meth_set_destroy(method, Destroy) != 1) {
    BIO_meth_free(method);
    return;
  }
  g_type = type;
  g_method = method;  // lives as long as the process: BIOs may outlive any one addon instance
}

}  // namespace

BIO* NewDatagramBio() {
  std::call_once(g_method_once, MakeMethod);
  if (g_method == nullptr) return nullptr;
  BIO* bio = BIO_new(g_method);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, new DatagramQueues());
  return bio;
}

DatagramQueues* QueuesOf(BIO* bio) {
  if (bio == nullptr || g_method == nullptr || BIO_method_type(bio) != g_type) return nullptr;
  return Queues(bio);
}

}  // namespace cpnp_dtls
