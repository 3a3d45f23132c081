import type { Clock } from '../clock';
import { fromHex, toHex } from '../hex';
import type { MethodCode } from '../method';

/**
 * The answer cache of RFC 8921 11.4: "a partner could also store the last incoming packet and
 * the associated answer" so that a retransmitted request gets the same answer again (same
 * bytes, same sequence number) without being processed a second time.
 *
 * Entries are keyed by the request they answer (Transaction-ID, sequence number, method) and
 * grouped by peer. Memory is bounded twice, because the peer controls how many requests it
 * sends: each peer keeps at most `maxEntriesPerPeer` entries (least recently used goes first),
 * and at most `maxPeers` peers are tracked (least recently used peer goes first). An entry
 * also expires `ttlMs` after it was stored: a request repeated that late is no retransmission
 * any more (11.4 speaks of retransmissions within a transaction, seconds apart). Time comes from
 * the injected clock.
 */

export interface ResponseCacheConfig {
  maxEntriesPerPeer: number;
  maxPeers: number;
  ttlMs: number;
}

export const DEFAULT_RESPONSE_CACHE_CONFIG: Readonly<ResponseCacheConfig> = {
  maxEntriesPerPeer: 256,
  maxPeers: 4096,
  ttlMs: 5 * 60_000,
};

export function responseCacheConfig(overrides: Partial<ResponseCacheConfig> = {}): ResponseCacheConfig {
  const config = { ...DEFAULT_RESPONSE_CACHE_CONFIG, ...overrides };
  for (const key of ['maxEntriesPerPeer', 'maxPeers'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw new RangeError(`${key} must be a positive integer`);
  }
  if (!Number.isFinite(config.ttlMs) || config.ttlMs <= 0) throw new RangeError('ttlMs must be a positive number of milliseconds');
  return config;
}

/** The key of the request an answer belongs to: a retransmission repeats all three (11.4). */
export function requestKey(txid: string, seq: number, method: MethodCode): string {
  return `${txid.toLowerCase()}/${seq}/${method}`;
}

interface Entry {
  bytes: Uint8Array;
  storedAt: number;
}

/** Plain JSON form, in least-recently-used-first order (peers and entries). */
export interface ResponseCacheSnapshot {
  peers: { peer: string; entries: { key: string; bytes: string; storedAt: number }[] }[];
}

export class ResponseCache {
  /** Map iteration order is the recency order: first = least recently used. */
  private readonly peers = new Map<string, Map<string, Entry>>();
  /** When each peer's entries were last swept for expired ones (see put). */
  private readonly swept = new WeakMap<Map<string, Entry>, number>();
  readonly config: ResponseCacheConfig;

  constructor(
    private readonly clock: Clock,
    config: Partial<ResponseCacheConfig> = {},
  ) {
    this.config = responseCacheConfig(config);
  }

  /** Stores (or replaces) the answer to request `key` of `peer`. */
  put(peer: string, key: string, bytes: Uint8Array): void {
    const now = this.clock.now();
    const entries = this.touchPeer(peer) ?? new Map<string, Entry>();
    this.peers.set(peer, entries);
    entries.delete(key);
    entries.set(key, { bytes: bytes.slice(), storedAt: now });
    // Sweeping scans every entry of the peer: at most once a second per peer, not per answer
    // (one host with many cycles in flight put hundreds per second). get() never returns an
    // expired entry, and the size bound below holds regardless.
    if (now - (this.swept.get(entries) ?? Number.NEGATIVE_INFINITY) >= 1000) {
      this.dropExpired(entries, now);
      this.swept.set(entries, now);
    }
    while (entries.size > this.config.maxEntriesPerPeer) entries.delete(first(entries.keys()) as string);
    while (this.peers.size > this.config.maxPeers) this.peers.delete(first(this.peers.keys()) as string);
  }

  /** The stored answer, or undefined when there is none or it expired. */
  get(peer: string, key: string): Uint8Array | undefined {
    const entries = this.peers.get(peer);
    const entry = entries?.get(key);
    if (entries === undefined || entry === undefined) return undefined;
    if (this.expired(entry, this.clock.now())) {
      entries.delete(key);
      if (entries.size === 0) this.peers.delete(peer);
      return undefined;
    }
    this.touchPeer(peer);
    entries.delete(key);
    entries.set(key, entry);
    return entry.bytes.slice();
  }

  has(peer: string, key: string): boolean {
    return this.get(peer, key) !== undefined;
  }

  delete(peer: string, key: string): void {
    const entries = this.peers.get(peer);
    entries?.delete(key);
    if (entries?.size === 0) this.peers.delete(peer);
  }

  /** Entries held for `peer`, or for everyone (expired entries not yet removed included). */
  size(peer?: string): number {
    if (peer !== undefined) return this.peers.get(peer)?.size ?? 0;
    let total = 0;
    for (const entries of this.peers.values()) total += entries.size;
    return total;
  }

  peerCount(): number {
    return this.peers.size;
  }

  /** Removes every expired entry. */
  prune(): void {
    const now = this.clock.now();
    for (const [peer, entries] of this.peers) {
      this.dropExpired(entries, now);
      if (entries.size === 0) this.peers.delete(peer);
    }
  }

  snapshot(): ResponseCacheSnapshot {
    return {
      peers: [...this.peers].map(([peer, entries]) => ({
        peer,
        entries: [...entries].map(([key, e]) => ({ key, bytes: toHex(e.bytes), storedAt: e.storedAt })),
      })),
    };
  }

  static restore(snapshot: ResponseCacheSnapshot, clock: Clock, config: Partial<ResponseCacheConfig> = {}): ResponseCache {
    const cache = new ResponseCache(clock, config);
    for (const { peer, entries } of snapshot.peers) {
      const map = new Map<string, Entry>();
      for (const e of entries) {
        const bytes = fromHex(e.bytes);
        if (bytes === undefined) throw new RangeError(`response cache snapshot: bad bytes for ${peer} ${e.key}`);
        map.set(e.key, { bytes, storedAt: e.storedAt });
      }
      cache.peers.set(peer, map);
    }
    return cache;
  }

  private touchPeer(peer: string): Map<string, Entry> | undefined {
    const entries = this.peers.get(peer);
    if (entries !== undefined) {
      this.peers.delete(peer);
      this.peers.set(peer, entries);
    }
    return entries;
  }

  private expired(entry: Entry, now: number): boolean {
    return now - entry.storedAt >= this.config.ttlMs;
  }

  private dropExpired(entries: Map<string, Entry>, now: number): void {
    for (const [key, entry] of entries) if (this.expired(entry, now)) entries.delete(key);
  }
}

function first<T>(iterator: IterableIterator<T>): T | undefined {
  return iterator.next().value as T | undefined;
}
