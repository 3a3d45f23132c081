import type { Clock } from '../clock';

/**
 * A token bucket per peer, used to rate-limit the FAIL messages a server sends in answer to
 * invalid requests. RFC 8921 9.2.5: "In order to prevent DDoS (Distributed Denial of
 * Service) attacks, the server should restrict the number of FAIL messages sent to a
 * requesting client. It may also rate-limit FAIL messages." (also wire-format.md section 7).
 *
 * Each peer starts with `capacity` tokens; every FAIL takes one; tokens come back at
 * `refillPerSecond`, never above `capacity`. So over any interval of `d` milliseconds a peer
 * gets at most `capacity + refillPerSecond * d / 1000` FAILs. The number of tracked peers is
 * bounded (`maxPeers`, least recently used forgotten first); a forgotten peer starts again
 * with a full bucket, which only errs on the side of answering. Time comes from the injected
 * clock; a clock that steps backwards refills nothing.
 */

export interface TokenBucketConfig {
  capacity: number;
  refillPerSecond: number;
  maxPeers: number;
}

export const DEFAULT_FAIL_RATE_LIMIT: Readonly<TokenBucketConfig> = {
  capacity: 10,
  refillPerSecond: 1,
  maxPeers: 4096,
};

export function tokenBucketConfig(overrides: Partial<TokenBucketConfig> = {}): TokenBucketConfig {
  const config = { ...DEFAULT_FAIL_RATE_LIMIT, ...overrides };
  if (!Number.isFinite(config.capacity) || config.capacity < 1) throw new RangeError('capacity must be at least 1');
  if (!Number.isFinite(config.refillPerSecond) || config.refillPerSecond < 0) {
    throw new RangeError('refillPerSecond must be a non-negative number');
  }
  if (!Number.isInteger(config.maxPeers) || config.maxPeers < 1) throw new RangeError('maxPeers must be a positive integer');
  return config;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Plain JSON form, least recently used peer first. */
export interface RateLimiterSnapshot {
  buckets: { peer: string; tokens: number; updatedAt: number }[];
}

export class RateLimiter {
  /** Iteration order is recency: first = least recently used. */
  private readonly buckets = new Map<string, Bucket>();
  readonly config: TokenBucketConfig;

  constructor(
    private readonly clock: Clock,
    config: Partial<TokenBucketConfig> = {},
  ) {
    this.config = tokenBucketConfig(config);
  }

  /** Takes one token for `peer`; false means: do not send (the FAIL is suppressed). */
  tryTake(peer: string): boolean {
    const bucket = this.refilled(peer);
    this.buckets.delete(peer);
    this.buckets.set(peer, bucket);
    while (this.buckets.size > this.config.maxPeers) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Tokens `peer` has now (without taking any). */
  available(peer: string): number {
    return this.refilled(peer).tokens;
  }

  peerCount(): number {
    return this.buckets.size;
  }

  snapshot(): RateLimiterSnapshot {
    return { buckets: [...this.buckets].map(([peer, b]) => ({ peer, tokens: b.tokens, updatedAt: b.updatedAt })) };
  }

  static restore(snapshot: RateLimiterSnapshot, clock: Clock, config: Partial<TokenBucketConfig> = {}): RateLimiter {
    const limiter = new RateLimiter(clock, config);
    for (const b of snapshot.buckets) {
      limiter.buckets.set(b.peer, { tokens: Math.min(b.tokens, limiter.config.capacity), updatedAt: b.updatedAt });
    }
    return limiter;
  }

  /** The peer's bucket brought up to now (a fresh full one for an unknown peer). */
  private refilled(peer: string): Bucket {
    const now = this.clock.now();
    const bucket = this.buckets.get(peer);
    if (bucket === undefined) return { tokens: this.config.capacity, updatedAt: now };
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(this.config.capacity, bucket.tokens + (elapsed / 1000) * this.config.refillPerSecond);
    bucket.updatedAt = now;
    return bucket;
  }
}
