// A BIO that carries whole datagrams between OpenSSL and JavaScript.
//
// OpenSSL 3.0 has no datagram memory BIO, and BIO_s_mem would merge datagrams into one byte
// stream, which DTLS cannot parse. Here every BIO_read returns exactly one queued datagram and
// every BIO_write produces one outgoing datagram; JavaScript owns the UDP socket and moves the
// datagrams in and out.
#pragma once

#include <openssl/bio.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace cpnp_dtls {

using Bytes = std::vector<uint8_t>;

struct DatagramQueues {
  std::deque<Bytes> inbound;   // received from the peer, not yet read by OpenSSL
  std::vector<Bytes> outbound; // written by OpenSSL, not yet handed to JavaScript
};

// A new BIO owning fresh queues (freed with the BIO), or nullptr when OpenSSL fails.
BIO* NewDatagramBio();

// The queues of a BIO made by NewDatagramBio (nullptr for any other BIO).
DatagramQueues* QueuesOf(BIO* bio);

}  // namespace cpnp_dtls
