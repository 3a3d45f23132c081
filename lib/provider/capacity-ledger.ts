import { z } from 'zod';

/**
 * The capacity ledger of the reference Provider: what each order holds in each capacity pool
 * ("check whether network capacity is available", RFC 8921 8.2), for the resource effects of
 * the server state machine (reserve on OFFER, release on DECLINE / CANCEL / expiry / WITHDRAW,
 * commit on agreement, 8.11.2).
 *
 * Model. Per order and pool, two amounts (each with an in and an out direction):
 *   committed — what the order's agreement uses;
 *   target    — what the negotiation in progress (the offer made, or the Updated CPD offered)
 *               would use if it were accepted. Absent when no negotiation is open.
 * While a negotiation is open the order *uses* max(committed, target) of the pool: an UPDATE
 * therefore holds only the delta over its committed amount (the "held" part, target minus
 * committed when positive), and a shrinking UPDATE frees nothing until it is agreed. Commit
 * makes the targets the new committed amounts (pools without a target are given back);
 * releasing the negotiation drops the targets; releasing everything forgets the order.
 * Invariant, for every pool and direction: the sum of what the orders use <= capacity.
 * Commit and release only lower usage, so only reserve can break it, and reserve refuses to.
 *
 * Amounts are kept as whole kbit/s internally so that sums are exact (no floating drift lets
 * a pool be overbooked by 1e-13); the API speaks Mbit/s. A value is converted by rounding up
 * (a demand is never under-counted).
 *
 * The ledger is pure data plus methods, with no clock and no I/O. Within one server process the
 * engine runner serialises inputs, so the ledger is the single writer; that is what makes "no
 * double booking under concurrency" hold.
 */

export interface Bandwidth {
  inMbps: number;
  outMbps: number;
}

export type ReservationKind = 'held' | 'committed';
/** 'negotiation': the cycle in progress; 'all': the order's agreement too (WITHDRAW). */
export type ReleaseScope = 'negotiation' | 'all';
export type Direction = 'in' | 'out';

export type ReserveResult =
  | { ok: true }
  | { ok: false; pool: string; direction: Direction; requestedMbps: number; availableMbps: number };

/** Whole kbit/s. */
interface Kbps {
  in: number;
  out: number;
}

interface OrderEntry {
  committed: Map<string, Kbps>;
  /** Present while a negotiation is open (possibly empty: it then needs nothing). */
  target?: Map<string, Kbps>;
}

/** Mbit/s to whole kbit/s, rounded up after removing binary floating noise (0.1 * 1000 is 100). */
export function toKbps(mbps: number): number {
  if (!Number.isFinite(mbps) || mbps < 0) throw new RangeError(`capacity must be a finite number >= 0, got ${mbps}`);
  return Math.ceil(Number((mbps * 1000).toFixed(6)));
}

export function fromKbps(kbps: number): number {
  return kbps / 1000;
}

const ZERO: Kbps = { in: 0, out: 0 };
const kbps = (b: Bandwidth): Kbps => ({ in: toKbps(b.inMbps), out: toKbps(b.outMbps) });
const mbps = (k: Kbps): Bandwidth => ({ inMbps: fromKbps(k.in), outMbps: fromKbps(k.out) });
const max = (a: Kbps, b: Kbps): Kbps => ({ in: Math.max(a.in, b.in), out: Math.max(a.out, b.out) });
const isZero = (k: Kbps): boolean => k.in === 0 && k.out === 0;

const kbpsJson = z.strictObject({ in: z.number().int().min(0), out: z.number().int().min(0) });
const ledgerJson = z.strictObject({
  version: z.literal(1),
  unit: z.literal('kbps'),
  pools: z.record(z.string(), kbpsJson),
  orders: z.record(
    z.string(),
    z.strictObject({ committed: z.record(z.string(), kbpsJson), target: z.record(z.string(), kbpsJson).optional() }),
  ),
});
export type CapacityLedgerJson = z.infer<typeof ledgerJson>;

export interface PoolUsage {
  capacity: Bandwidth;
  /** Amounts above the committed ones that open negotiations hold. */
  held: Bandwidth;
  committed: Bandwidth;
  available: Bandwidth;
}

export interface OrderHoldings {
  committed: Record<string, Bandwidth>;
  /** The targets of the open negotiation, if any. */
  target?: Record<string, Bandwidth>;
  /** What the open negotiation holds above the committed amounts. */
  held: Record<string, Bandwidth>;
}

export class CapacityLedger {
  private readonly capacities: Map<string, Kbps>;
  private readonly entries = new Map<string, OrderEntry>();
  /**
   * Per pool, the sums over every order of what it uses and of what it has committed. Kept up
   * to date by setEntry, so that a decision costs the same with 10 or 10,000 orders booked.
   */
  private readonly usedTotals = new Map<string, Kbps>();
  private readonly committedTotals = new Map<string, Kbps>();

  constructor(pools: Readonly<Record<string, Bandwidth>>) {
    this.capacities = new Map(Object.entries(pools).map(([id, b]) => [id, kbps(b)]));
  }

  /** The pool ids, in the order they were configured. */
  pools(): string[] {
    return [...this.capacities.keys()];
  }

  /** Ids of the orders holding something or negotiating. */
  orders(): string[] {
    return [...this.entries.keys()];
  }

  capacity(pool: string): Bandwidth {
    return mbps(this.cap(pool));
  }

  /** What is still free in the pool for anyone. */
  available(pool: string): Bandwidth {
    return mbps(this.availableKbps(pool));
  }

  /** The most `orderId` could use in total in the pool (free capacity plus what it uses now). */
  availableFor(orderId: string, pool: string): Bandwidth {
    return mbps(this.availableForKbps(orderId, pool));
  }

  /** Same as availableFor, in whole kbit/s. */
  availableForKbps(orderId: string, pool: string): Kbps {
    const cap = this.cap(pool);
    const others = this.usedKbps(pool, orderId);
    return { in: cap.in - others.in, out: cap.out - others.out };
  }

  availableKbps(pool: string): Kbps {
    const cap = this.cap(pool);
    const used = this.usedKbps(pool);
    return { in: cap.in - used.in, out: cap.out - used.out };
  }

  usage(pool: string): PoolUsage {
    const cap = this.cap(pool);
    const committed = { ...(this.committedTotals.get(pool) ?? ZERO) };
    const used = this.usedTotals.get(pool) ?? ZERO;
    const held = { in: used.in - committed.in, out: used.out - committed.out };
    return {
      capacity: mbps(cap),
      held: mbps(held),
      committed: mbps(committed),
      available: mbps({ in: cap.in - committed.in - held.in, out: cap.out - committed.out - held.out }),
    };
  }

  /** What an order holds, or undefined when the ledger does not know it. */
  order(orderId: string): OrderHoldings | undefined {
    const entry = this.entries.get(orderId);
    if (!entry) return undefined;
    const record = (m: Map<string, Kbps>): Record<string, Bandwidth> => Object.fromEntries([...m].map(([p, k]) => [p, mbps(k)]));
    const held: Record<string, Bandwidth> = {};
    for (const [pool, t] of entry.target ?? []) {
      const c = entry.committed.get(pool) ?? ZERO;
      const h = { in: Math.max(0, t.in - c.in), out: Math.max(0, t.out - c.out) };
      if (!isZero(h)) held[pool] = mbps(h);
    }
    return { committed: record(entry.committed), ...(entry.target ? { target: record(entry.target) } : {}), held };
  }

  /** True while `orderId` has an open negotiation (a reservation not yet committed or released). */
  isNegotiating(orderId: string): boolean {
    return this.entries.get(orderId)?.target !== undefined;
  }

  /**
   * Reserves `amount` for `orderId` in one pool. 'held': the negotiation's target in that pool
   * becomes `amount` (replacing the previous target there; only the part above the committed
   * amount is taken from the pool). 'committed': the committed amount becomes `amount` (to
   * rebuild agreements, e.g. after a restart). Refused, with nothing changed, when the pool
   * cannot take it.
   */
  reserve(orderId: string, pool: string, amount: Bandwidth, kind: ReservationKind): ReserveResult {
    const entry = this.entries.get(orderId);
    if (kind === 'held') {
      const target = new Map(entry?.target ?? []);
      target.set(pool, kbps(amount));
      return this.apply(orderId, { committed: new Map(entry?.committed ?? []), target });
    }
    const committed = new Map(entry?.committed ?? []);
    committed.set(pool, kbps(amount));
    return this.apply(orderId, { committed, ...(entry?.target ? { target: new Map(entry.target) } : {}) });
  }

  /**
   * Atomic form of `reserve` over several pools. 'held': the whole negotiation becomes
   * `amounts` (pools not listed are no longer part of it) — an empty map opens a negotiation
   * that needs nothing. 'committed': the whole agreement becomes `amounts`. All or nothing.
   */
  reserveAll(orderId: string, amounts: Readonly<Record<string, Bandwidth>>, kind: ReservationKind): ReserveResult {
    const entry = this.entries.get(orderId);
    const wanted = new Map(Object.entries(amounts).map(([p, b]) => [p, kbps(b)]));
    if (kind === 'held') return this.apply(orderId, { committed: new Map(entry?.committed ?? []), target: wanted });
    return this.apply(orderId, { committed: wanted, ...(entry?.target ? { target: new Map(entry.target) } : {}) });
  }

  /** 'negotiation': drops the open negotiation's targets; 'all': forgets the order. */
  release(orderId: string, scope: ReleaseScope): void {
    const entry = this.entries.get(orderId);
    if (!entry) return;
    if (scope === 'all') {
      this.setEntry(orderId, undefined);
      return;
    }
    this.setEntry(orderId, { committed: new Map(entry.committed) }, true);
  }

  /**
   * The negotiation is agreed: its targets become the committed amounts, pools without a
   * target are given back. Without an open negotiation nothing changes.
   */
  commit(orderId: string): void {
    const entry = this.entries.get(orderId);
    if (!entry?.target) return;
    const committed = new Map([...entry.target].filter(([, k]) => !isZero(k)));
    this.setEntry(orderId, { committed }, true);
  }

  /** One order's entry in the form of toJSON()'s `orders` (undefined when the ledger does not know it). */
  orderJson(orderId: string): CapacityLedgerJson['orders'][string] | undefined {
    const e = this.entries.get(orderId);
    if (e === undefined) return undefined;
    const rec = (m: Map<string, Kbps>): Record<string, Kbps> => Object.fromEntries([...m].map(([p, k]) => [p, { ...k }]));
    return { committed: rec(e.committed), ...(e.target ? { target: rec(e.target) } : {}) };
  }

  toJSON(): CapacityLedgerJson {
    const rec = (m: Map<string, Kbps>): Record<string, Kbps> => Object.fromEntries([...m].map(([p, k]) => [p, { ...k }]));
    return {
      version: 1,
      unit: 'kbps',
      pools: rec(this.capacities),
      orders: Object.fromEntries(
        [...this.entries].map(([id, e]) => [id, { committed: rec(e.committed), ...(e.target ? { target: rec(e.target) } : {}) }]),
      ),
    };
  }

  /** Rebuilds a ledger from toJSON(); throws on a malformed or overbooked snapshot. */
  static fromJSON(json: unknown): CapacityLedger {
    const data = ledgerJson.parse(json);
    const ledger = new CapacityLedger({});
    for (const [id, k] of Object.entries(data.pools)) ledger.capacities.set(id, { ...k });
    for (const [id, o] of Object.entries(data.orders)) {
      const map = (r: Record<string, Kbps>): Map<string, Kbps> => {
        for (const pool of Object.keys(r)) ledger.cap(pool);
        return new Map(Object.entries(r).map(([p, k]) => [p, { ...k }]));
      };
      ledger.setEntry(id, { committed: map(o.committed), ...(o.target ? { target: map(o.target) } : {}) });
    }
    for (const pool of ledger.pools()) {
      const free = ledger.availableKbps(pool);
      if (free.in < 0 || free.out < 0) throw new RangeError(`ledger snapshot overbooks pool "${pool}"`);
    }
    return ledger;
  }

  /** A copy of this ledger with other pool capacities (a reloaded policy); bookings are kept. */
  withCapacities(pools: Readonly<Record<string, Bandwidth>>): CapacityLedger {
    const copy = new CapacityLedger(pools);
    for (const [id, e] of this.entries) {
      copy.setEntry(id, { committed: new Map(e.committed), ...(e.target ? { target: new Map(e.target) } : {}) });
    }
    return copy;
  }

  // -------------------------------------------------------------------------------------------

  private cap(pool: string): Kbps {
    const cap = this.capacities.get(pool);
    if (!cap) throw new RangeError(`unknown capacity pool "${pool}"`);
    return cap;
  }

  /** What an order uses in a pool: max(committed, target) per direction. */
  private use(entry: OrderEntry, pool: string): Kbps {
    const c = entry.committed.get(pool) ?? ZERO;
    const t = entry.target?.get(pool);
    return t ? max(c, t) : c;
  }

  private usedKbps(pool: string, except?: string): Kbps {
    const total = this.usedTotals.get(pool) ?? ZERO;
    const entry = except === undefined ? undefined : this.entries.get(except);
    if (entry === undefined) return { ...total };
    const u = this.use(entry, pool);
    return { in: total.in - u.in, out: total.out - u.out };
  }

  /**
   * Replaces (or, with undefined, forgets) an order's entry, keeping the per-pool totals exact.
   * `prune`: zero committed amounts go, and an entry left with nothing is forgotten.
   */
  private setEntry(orderId: string, next: OrderEntry | undefined, prune = false): void {
    const add = (totals: Map<string, Kbps>, pool: string, k: Kbps, sign: 1 | -1): void => {
      const t = totals.get(pool) ?? { in: 0, out: 0 };
      t.in += sign * k.in;
      t.out += sign * k.out;
      totals.set(pool, t);
    };
    const account = (entry: OrderEntry, sign: 1 | -1): void => {
      const pools = new Set([...entry.committed.keys(), ...(entry.target?.keys() ?? [])]);
      for (const pool of pools) add(this.usedTotals, pool, this.use(entry, pool), sign);
      for (const [pool, k] of entry.committed) add(this.committedTotals, pool, k, sign);
    };
    const current = this.entries.get(orderId);
    if (current !== undefined) account(current, -1);
    if (next !== undefined && prune) {
      for (const [pool, k] of next.committed) if (isZero(k)) next.committed.delete(pool);
    }
    if (next === undefined || (prune && next.committed.size === 0 && next.target === undefined)) {
      this.entries.delete(orderId);
      return;
    }
    this.entries.set(orderId, next);
    account(next, 1);
  }

  /** Replaces an order's entry if every pool it touches can take it. */
  private apply(orderId: string, next: OrderEntry): ReserveResult {
    const pools = new Set([...next.committed.keys(), ...(next.target?.keys() ?? [])]);
    for (const pool of pools) {
      const room = this.availableForKbps(orderId, pool);
      const u = this.use(next, pool);
      const current = this.entries.get(orderId);
      const now = current ? this.use(current, pool) : ZERO;
      for (const direction of ['in', 'out'] as const) {
        // Growing past the room is refused; not growing is always allowed (a pool made smaller
        // by withCapacities may already be short, and must not block a release-like change).
        if (u[direction] > room[direction] && u[direction] > now[direction]) {
          return { ok: false, pool, direction, requestedMbps: fromKbps(u[direction]), availableMbps: fromKbps(Math.max(0, room[direction])) };
        }
      }
    }
    this.setEntry(orderId, next);
    return { ok: true };
  }
}
