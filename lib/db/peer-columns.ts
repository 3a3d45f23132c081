/**
 * The transport session 4-tuple (RFC 8921 8.3) as the columns ProviderTransaction and
 * ProviderMessage store it, and back. The authenticated identity is not part of the tuple; an
 * order stores it as ownerIdentity.
 */
import { TRANSPORTS, type PeerTuple, type Transport } from '../cpnp/validation/peer';

export interface PeerColumns {
  transport: string;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
}

export function peerColumns(peer: PeerTuple): PeerColumns {
  return {
    transport: peer.transport,
    clientAddress: peer.clientAddress,
    clientPort: peer.clientPort,
    serverAddress: peer.serverAddress,
    serverPort: peer.serverPort,
  };
}

function isTransport(value: string): value is Transport {
  return (TRANSPORTS as readonly string[]).includes(value);
}

/** The tuple of stored columns; throws on a transport this version does not know. */
export function peerFromColumns(row: PeerColumns): PeerTuple {
  if (!isTransport(row.transport)) throw new Error(`unknown transport ${JSON.stringify(row.transport)} in the database`);
  return {
    transport: row.transport,
    clientAddress: row.clientAddress,
    clientPort: row.clientPort,
    serverAddress: row.serverAddress,
    serverPort: row.serverPort,
  };
}
