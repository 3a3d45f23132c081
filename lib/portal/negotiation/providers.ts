/**
 * Provider routes for the engine host: a provider's settings (its current row, or the
 * ProviderRevision an open negotiation was approved with) turned into what the transports need.
 * Keys come sealed from the database (secret-box.ts) or, for rows written before the registry,
 * from a PSK key file. Plain UDP is refused for anything but a loopback provider (RFC 8921
 * section 13: CPNP is never sent unprotected over a network). An endpoint is host:port, or an
 * SRV owner name `_cpnp._udp.<domain>` / `_cpnp._tcp.<domain>` (RFC 8921 8.1), resolved here.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Endpoint } from '../../cpnp/transport/transport';
import type { PskCredentials } from '../../cpnp/transport/dtls-client';
import { discoverServers, endpointsOf, type AddressResolver, type SrvResolver } from '../../cpnp/transport/discovery';
import { isLoopbackAddress, unbracket } from '../../cpnp/transport/loopback';
import { parseServer, pskFromText } from '../../cpnp/transport/ping';
import type { TlsCredentials } from '../../cpnp/transport/tls';
import { normalizeAddress } from '../../cpnp/validation/peer';
import type { PortalDbClient } from '../db/client';
import { openSecret, PSK_PURPOSE, TLS_KEY_PURPOSE, type SecretKey } from '../secrets/secret-box';

export type RouteTransport = 'dtls' | 'udp' | 'tls';

export interface ProviderRoute {
  id: string;
  name: string;
  /** The settings revision this route was built from (Provider.revision / ProviderRevision). */
  revision: number;
  endpoint: Endpoint;
  transport: RouteTransport;
  psk?: PskCredentials;
  /** TLS: the portal's client credentials for this provider, and the name its certificate carries. */
  tls?: TlsCredentials & { serverName?: string };
}

export type RouteResult = { ok: true; route: ProviderRoute } | { ok: false; code: 'provider-config'; message: string };

export function endpointKey(e: Endpoint): string {
  return `${normalizeAddress(unbracket(e.address))}|${e.port}`;
}

/** The key of a provider's settings at one revision (routes are kept per revision). */
export function revisionKey(providerId: string, revision: number): string {
  return `${providerId}#${revision}`;
}

/** The columns a route is made of (Provider and ProviderRevision share them). */
export interface ProviderSettings {
  endpoint: string;
  transport: string;
  pskIdentity: string | null;
  pskKeyFile: string | null;
  pskKeyEnc: string | null;
  tlsCaFile: string | null;
  tlsCertFile: string | null;
  tlsKeyEnc: string | null;
}

export interface ProviderRow extends ProviderSettings {
  id: string;
  name: string;
  revision: number;
}

export const SETTINGS_SELECT = {
  endpoint: true,
  transport: true,
  pskIdentity: true,
  pskKeyFile: true,
  pskKeyEnc: true,
  tlsCaFile: true,
  tlsCertFile: true,
  tlsKeyEnc: true,
} as const;

export interface RouteDeps {
  /** The portal secret key, asked for only when a row holds a sealed key (throws if unset). */
  secretKey: () => SecretKey;
  resolveSrv?: SrvResolver;
  resolveAddress?: AddressResolver;
}

const SRV_NAME = /^_cpnp\._(udp|tcp)\.(.+)$/i;

export function isSrvName(text: string): boolean {
  return SRV_NAME.test(text.trim());
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** host:port as is; an SRV name → the first advertised target's first address. */
async function resolveEndpoint(text: string, deps: RouteDeps): Promise<{ endpoint: Endpoint; serverName?: string } | string> {
  const direct = parseServer(text);
  if (direct) return { endpoint: direct };
  const srv = SRV_NAME.exec(text);
  if (!srv?.[2]) return `endpoint "${text}" is neither host:port nor an SRV name (_cpnp._udp.<domain>)`;
  try {
    const targets = await discoverServers({ kind: 'srv', domain: srv[2] }, { transport: srv[1]?.toLowerCase() === 'tcp' ? 'tls' : 'dtls', ...(deps.resolveSrv ? { resolveSrv: deps.resolveSrv } : {}) });
    const target = targets[0];
    if (!target) return `no CPNP service advertised at ${text}`;
    const [endpoint] = await endpointsOf(target, deps.resolveAddress);
    if (!endpoint) return `${target.host} has no address`;
    return isIP(target.host) === 0 ? { endpoint, serverName: target.host } : { endpoint };
  } catch (error) {
    return errorText(error);
  }
}

/** Reads one provider's settings into a route, or says plainly what is wrong with them. */
export async function routeOf(row: ProviderRow, deps: RouteDeps): Promise<RouteResult> {
  const bad = (message: string): RouteResult => ({ ok: false, code: 'provider-config', message: `${row.name}: ${message}` });
  const resolved = await resolveEndpoint(row.endpoint.trim(), deps);
  if (typeof resolved === 'string') return bad(resolved);
  const { endpoint } = resolved;
  const base = { id: row.id, name: row.name, revision: row.revision, endpoint };
  if (row.transport === 'udp') {
    if (!isLoopbackAddress(unbracket(endpoint.address))) return bad('plain UDP is allowed for loopback providers only');
    return { ok: true, route: { ...base, transport: 'udp' } };
  }
  try {
    if (row.transport === 'dtls') {
      if (!row.pskIdentity || !(row.pskKeyEnc || row.pskKeyFile)) return bad('DTLS needs a PSK identity and key');
      const key = row.pskKeyEnc
        ? new Uint8Array(openSecret(deps.secretKey(), row.pskKeyEnc, PSK_PURPOSE))
        : pskFromText(readFileSync(/*turbopackIgnore: true*/ row.pskKeyFile ?? '', 'utf8'), row.pskIdentity);
      return { ok: true, route: { ...base, transport: 'dtls', psk: { identity: row.pskIdentity, key } } };
    }
    if (row.transport === 'tls') {
      if (!row.tlsCaFile || !row.tlsCertFile || !row.tlsKeyEnc) return bad('TLS needs a CA file, a client certificate file and a private key');
      const tls = {
        ca: readFileSync(/*turbopackIgnore: true*/ row.tlsCaFile),
        cert: readFileSync(/*turbopackIgnore: true*/ row.tlsCertFile),
        key: openSecret(deps.secretKey(), row.tlsKeyEnc, TLS_KEY_PURPOSE),
        ...(resolved.serverName ? { serverName: resolved.serverName } : {}),
      };
      return { ok: true, route: { ...base, transport: 'tls', tls } };
    }
  } catch (error) {
    // SecretKeyError / SecretDecryptError / file errors: their messages carry no key material.
    return bad(`cannot load its credentials: ${errorText(error)}`);
  }
  return bad(`unknown transport ${row.transport}`);
}

/**
 * Routes by revision key: every provider's current settings, plus the older revisions that open
 * negotiations were approved with (they finish with the endpoint and credentials they started
 * with). `current` maps a provider id to its current revision key.
 */
export interface LoadedRoutes {
  byRevision: Map<string, RouteResult>;
  current: Map<string, string>;
}

export async function loadRoutes(db: PortalDbClient, deps: RouteDeps): Promise<LoadedRoutes> {
  const rows = await db.provider.findMany({ select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
  const byRevision = new Map<string, RouteResult>();
  const current = new Map<string, string>();
  const names = new Map<string, string>();
  for (const r of rows) {
    const key = revisionKey(r.id, r.revision);
    current.set(r.id, key);
    names.set(r.id, r.name);
    byRevision.set(key, await routeOf(r, deps));
  }
  // Older revisions still in use by a negotiation that has not ended.
  const pinned = await db.negotiation.findMany({
    where: { providerRevision: { not: null } },
    select: { providerId: true, providerRevision: true },
    distinct: ['providerId', 'providerRevision'],
  });
  for (const p of pinned) {
    if (p.providerRevision === null) continue;
    const key = revisionKey(p.providerId, p.providerRevision);
    if (byRevision.has(key)) continue;
    const rev = await db.providerRevision.findUnique({ where: { providerId_revision: { providerId: p.providerId, revision: p.providerRevision } }, select: SETTINGS_SELECT });
    if (!rev) continue;
    byRevision.set(key, await routeOf({ id: p.providerId, name: names.get(p.providerId) ?? p.providerId, revision: p.providerRevision, ...rev }, deps));
  }
  return { byRevision, current };
}
