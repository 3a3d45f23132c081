/**
 * Provider routes for the engine host: the Provider table (endpoint, transport, PSK identity and
 * key file) turned into what the transports need. Plain UDP is refused for anything but a
 * loopback provider (RFC 8921 section 13: CPNP is never sent unprotected over a network).
 */
import { readFileSync } from 'node:fs';
import type { Endpoint } from '../../cpnp/transport/transport';
import type { PskCredentials } from '../../cpnp/transport/dtls-client';
import { isLoopbackAddress, unbracket } from '../../cpnp/transport/loopback';
import { parseServer, pskFromText } from '../../cpnp/transport/ping';
import { normalizeAddress } from '../../cpnp/validation/peer';
import type { PortalDbClient } from '../db/client';

export type RouteTransport = 'dtls' | 'udp';

export interface ProviderRoute {
  id: string;
  name: string;
  endpoint: Endpoint;
  transport: RouteTransport;
  psk?: PskCredentials;
}

export type RouteResult = { ok: true; route: ProviderRoute } | { ok: false; code: 'provider-config'; message: string };

export function endpointKey(e: Endpoint): string {
  return `${normalizeAddress(unbracket(e.address))}|${e.port}`;
}

export interface ProviderRow {
  id: string;
  name: string;
  endpoint: string;
  transport: string;
  pskIdentity: string | null;
  pskKeyFile: string | null;
}

/** Reads one provider row into a route, or says plainly what is wrong with its configuration. */
export function routeOf(row: ProviderRow): RouteResult {
  const endpoint = parseServer(row.endpoint.trim());
  if (endpoint === undefined) return { ok: false, code: 'provider-config', message: `${row.name}: endpoint "${row.endpoint}" is not host:port` };
  if (row.transport === 'udp') {
    if (!isLoopbackAddress(unbracket(endpoint.address))) {
      return { ok: false, code: 'provider-config', message: `${row.name}: plain UDP is allowed for loopback providers only` };
    }
    return { ok: true, route: { id: row.id, name: row.name, endpoint, transport: 'udp' } };
  }
  if (row.transport !== 'dtls') return { ok: false, code: 'provider-config', message: `${row.name}: transport ${row.transport} is not supported by the portal yet` };
  if (!row.pskIdentity || !row.pskKeyFile) return { ok: false, code: 'provider-config', message: `${row.name}: DTLS needs a PSK identity and key file` };
  try {
    const key = pskFromText(readFileSync(row.pskKeyFile, 'utf8'), row.pskIdentity);
    return { ok: true, route: { id: row.id, name: row.name, endpoint, transport: 'dtls', psk: { identity: row.pskIdentity, key } } };
  } catch (error) {
    return { ok: false, code: 'provider-config', message: `${row.name}: cannot read the PSK: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Every provider row (enabled or not: open negotiations with a disabled provider still finish). */
export async function loadRoutes(db: PortalDbClient): Promise<Map<string, RouteResult>> {
  const rows = await db.provider.findMany({ select: { id: true, name: true, endpoint: true, transport: true, pskIdentity: true, pskKeyFile: true } });
  return new Map(rows.map((r) => [r.id, routeOf(r)]));
}
