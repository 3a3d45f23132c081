import { lookup as dnsLookup, resolveSrv as dnsResolveSrv } from 'node:dns/promises';
import { isIP } from 'node:net';
import { cryptoRandom, type RandomSource } from '../random';
import type { Transport } from '../validation/peer';
import type { Endpoint } from './transport';

/**
 * Where a CPNP client sends its requests (RFC 8921 section 8.1): a configured address and port,
 * or the SRV records (RFC 2782) a Provider publishes for the service.
 */

/**
 * RFC 8921 names a CPNP_PORT but IANA assigned none (section 14: "no IANA actions"). This
 * implementation uses 8921, the RFC's number (not registered by IANA for CPNP; see
 * docs/transports.md), when a configuration gives no port and no SRV record supplies one.
 */
export const CPNP_PORT = 8921;

/** A server to try: a host (IP literal or DNS name) and a port. */
export interface ServerTarget {
  host: string;
  port: number;
}

/** The fields of node:dns SrvRecord that matter here. */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export type SrvResolver = (name: string) => Promise<SrvRecord[]>;

/** Host name → IP addresses (A and AAAA), in the order to try them. */
export type AddressResolver = (host: string) => Promise<string[]>;

const defaultAddressResolver: AddressResolver = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

// --- "host:port" -----------------------------------------------------------------------------

/** RFC 1123 host names: dot-separated labels of letters, digits and hyphens (no leading or
 * trailing hyphen), 253 characters at most; a final dot is allowed. */
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

function parsePort(text: string, input: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new DiscoveryError(`bad port in "${input}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new DiscoveryError(`port out of range 1..65535 in "${input}"`);
  return port;
}

/**
 * Parses a configured server: "host:port", "host", "192.0.2.1:7777", "[2001:db8::1]:7777",
 * "[2001:db8::1]" or a bare IPv6 literal "2001:db8::1" (no port possible then). A missing port
 * is `defaultPort`. IPv6 hosts are returned without brackets.
 */
export function parseHostPort(input: string, defaultPort: number = CPNP_PORT): ServerTarget {
  const text = input.trim();
  if (text === '') throw new DiscoveryError('empty server address');
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new DiscoveryError(`unclosed "[" in "${input}"`);
    const host = text.slice(1, close);
    if (isIP(host) !== 6) throw new DiscoveryError(`"${host}" in brackets is not an IPv6 address`);
    const rest = text.slice(close + 1);
    if (rest === '') return { host, port: defaultPort };
    if (!rest.startsWith(':')) throw new DiscoveryError(`unexpected "${rest}" after "]" in "${input}"`);
    return { host, port: parsePort(rest.slice(1), input) };
  }
  if (isIP(text) === 6) return { host: text, port: defaultPort };
  const colon = text.lastIndexOf(':');
  if (colon >= 0 && text.indexOf(':') !== colon) {
    throw new DiscoveryError(`ambiguous "${input}": write an IPv6 address with a port as [address]:port`);
  }
  const host = colon < 0 ? text : text.slice(0, colon);
  const port = colon < 0 ? defaultPort : parsePort(text.slice(colon + 1), input);
  if (isIP(host) !== 4 && !isHostName(host)) throw new DiscoveryError(`"${host}" is neither an IP address nor a host name`);
  return { host, port };
}

/** "host:port" with brackets around IPv6, the inverse of parseHostPort. */
export function formatHostPort(target: ServerTarget | Endpoint): string {
  const host = 'host' in target ? target.host : target.address;
  return host.includes(':') ? `[${host}]:${target.port}` : `${host}:${target.port}`;
}

// --- SRV ---------------------------------------------------------------------------------------

/** The SRV owner name of the CPNP service: _cpnp._udp for UDP and DTLS, _cpnp._tcp for TLS. */
export function srvName(domain: string, transport: Transport): string {
  const bare = domain.trim().replace(/\.$/, '');
  if (!isHostName(bare)) throw new DiscoveryError(`"${domain}" is not a domain name`);
  return `_cpnp._${transport === 'tls' ? 'tcp' : 'udp'}.${bare}`;
}

/** A uniform integer in 0..max (max < 2^32) from the random source, by rejection sampling. */
function uniformInt(random: RandomSource, max: number): number {
  if (max === 0) return 0;
  const range = max + 1;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const b = random.bytes(4);
    const value = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    if (value < limit) return value % range;
  }
}

/**
 * The order in which to try SRV targets (RFC 2782, "Usage rules"): lowest priority first;
 * within one priority, repeatedly pick a record at random with probability proportional to its
 * weight — records of weight 0 placed first have a small chance of being picked — and remove it.
 * A lone record whose target is "." means the service is decidedly not available: [] is returned.
 */
export function orderSrvRecords(records: readonly SrvRecord[], random: RandomSource = cryptoRandom): ServerTarget[] {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.' && r.port > 0);
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of usable) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  const ordered: ServerTarget[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // RFC 2782: "arrange all SRV RRs (that have not been ordered yet) in any order, except that
    // all those with weight 0 are placed at the beginning of the list".
    const pending = [...(byPriority.get(priority) ?? [])].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (pending.length > 0) {
      const total = pending.reduce((sum, r) => sum + r.weight, 0);
      const pick = uniformInt(random, total);
      let running = 0;
      let index = pending.findIndex((r) => (running += r.weight) >= pick);
      if (index < 0) index = 0;
      const [chosen] = pending.splice(index, 1);
      if (chosen) ordered.push({ host: chosen.name.replace(/\.$/, ''), port: chosen.port });
    }
  }
  return ordered;
}

// --- putting it together ---------------------------------------------------------------------

/** How a client is configured to find its server(s). */
export type ServerLocator =
  /** One or more configured "host:port" strings, tried in the given order. */
  | { kind: 'static'; servers: readonly string[]; defaultPort?: number }
  /** The Provider's domain: SRV records _cpnp._udp / _cpnp._tcp.<domain> (RFC 8921 8.1). */
  | { kind: 'srv'; domain: string };

export interface DiscoveryOptions {
  transport: Transport;
  /** Default: node:dns/promises resolveSrv. */
  resolveSrv?: SrvResolver;
  /** Default: the operating system CSPRNG (weights must not be predictable to be fair). */
  random?: RandomSource;
}

/** The candidates to try, in order. Throws DiscoveryError when there is none. */
export async function discoverServers(locator: ServerLocator, options: DiscoveryOptions): Promise<ServerTarget[]> {
  if (locator.kind === 'static') {
    if (locator.servers.length === 0) throw new DiscoveryError('no CPNP server configured');
    return locator.servers.map((s) => parseHostPort(s, locator.defaultPort ?? CPNP_PORT));
  }
  const name = srvName(locator.domain, options.transport);
  let records: SrvRecord[];
  try {
    records = await (options.resolveSrv ?? dnsResolveSrv)(name);
  } catch (error) {
    throw new DiscoveryError(`SRV lookup of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const ordered = orderSrvRecords(records, options.random ?? cryptoRandom);
  if (ordered.length === 0) throw new DiscoveryError(`no CPNP service advertised at ${name}`);
  return ordered;
}

/**
 * Tries the candidates in order until `attempt` succeeds (RFC 2782: on failure, try the next
 * target). Rejects with an AggregateError of every failure when all of them fail.
 */
export async function tryInOrder<T>(targets: readonly ServerTarget[], attempt: (target: ServerTarget) => Promise<T>): Promise<T> {
  const failures: unknown[] = [];
  for (const target of targets) {
    try {
      return await attempt(target);
    } catch (error) {
      failures.push(error);
    }
  }
  throw new AggregateError(failures, `every CPNP server failed (${targets.map(formatHostPort).join(', ') || 'none'})`);
}

/**
 * The endpoints of a target: an IP literal as is, a host name resolved to its addresses (each
 * one is a candidate, so callers can fall back across them too). Transports are given IP
 * addresses so that the transport session of RFC 8921 8.3 is compared on addresses.
 */
export async function endpointsOf(target: ServerTarget, resolve: AddressResolver = defaultAddressResolver): Promise<Endpoint[]> {
  if (isIP(target.host) !== 0) return [{ address: target.host, port: target.port }];
  let addresses: string[];
  try {
    addresses = await resolve(target.host);
  } catch (error) {
    throw new DiscoveryError(`cannot resolve ${target.host}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (addresses.length === 0) throw new DiscoveryError(`${target.host} has no address`);
  return addresses.map((address) => ({ address, port: target.port }));
}
