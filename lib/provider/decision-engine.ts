import type { Clock } from '../cpnp/clock';
import type { Cpd, LooseNumber, Negotiable, Num, QuantitativeQos } from '../cpnp/cpd/types';
import { dateTimeToMillis, millisToDateTime, type DateTime } from '../cpnp/date-time';
import { cpdEquals } from '../cpnp/cpd/equality';
import type { Decision, DecisionRequest, RequestDecision, RequestReview } from '../cpnp/engine/decider';
import type { CycleOutcome, ServerDecider, ServerDecision } from '../cpnp/engine/server-engine';
import type { ResourceScope } from '../cpnp/fsm/server';
import type { NegotiationOptions } from '../cpnp/information-elements';
import type { ActivationSchedule } from '../cpnp/message';
import { ProcessingSubcode } from '../cpnp/processing-subcode';
import { StatusCode, type StatusCodeValue } from '../cpnp/status-code';
import { MinHeap } from '../cpnp/min-heap';
import { CapacityLedger, fromKbps, toKbps, type Bandwidth, type CapacityLedgerJson } from './capacity-ledger';
import { mergeOffers, planPartners, type PartnerPlan, type PartnerRequest } from './partner-plan';
import { linkOwner, type CustomerPolicy, type Policy, type QosClass } from './policy';
import { coveringLevel, priceOffer, type Price, type PricingItem } from './pricing';

/**
 * The reference Provider's decision-making process (RFC 8921 8.2, 11.2.1: "the server runs its
 * decision-making process to decide which offer it can make"), driven by a policy file
 * (policy.ts) and a capacity ledger (capacity-ledger.ts). It implements the engine's Decider
 * seam (lib/cpnp/engine/decider.ts). docs/provider-policy.md describes the rules; in short,
 * for a QUOTATION or an UPDATE, in this order:
 *   4  the customer is not allowed, the purpose is not allowed (for the provider or the
 *      customer), the test period is too long, or the customer holds too many orders;
 *   8  the activation type (9.1.10.3) is not supported (absent = immediate, always supported);
 *   6  a node link is in no pool and reached through no partner, a partner link while
 *      options.scope is "local" (8.8), or a routing region where the provider has no presence;
 *   -  administrative validation when the policy says so for the method (8.2, 12.2);
 *   -  a pending decision when the policy asks for a decision delay (PROCESSING with
 *      EXPECTED_OFFER_TIME, 9.2.2);
 *   -  a pending decision while partners are asked (8.8, see completePartners);
 *   5  no concrete offer within the request's bounds fits the free capacity, the QoS classes
 *      or the availability levels;
 * otherwise a concrete Offered CPD (8.7) that meets the request, or the best counterproposal
 * within its bounds, with capacity held in the ledger until the offer is accepted, declined,
 * cancelled or expires.
 */

export interface DecisionLogEntry {
  at: DateTime;
  orderId: string;
  event: string;
  detail: string;
}

export interface DecisionEngineDeps {
  clock: Clock;
  /** The ledger to use (e.g. restored from storage); default: a fresh one from the policy's pools. */
  ledger?: CapacityLedger;
  log?: (entry: DecisionLogEntry) => void;
  /** Restores the orders and decision records of an earlier `snapshot()` (its ledger too, unless `ledger` is given). */
  snapshot?: DecisionEngineSnapshot;
}

/** How one capacity value of the offer was chosen. */
export interface CapacityChoice {
  path: string;
  requested: Num;
  offered: number;
  /** Attachments using this value, per pool. */
  uses: Record<string, number>;
}

export interface CppDecision {
  cpp: number;
  qosClass?: string;
  availabilityLevel?: number;
  capacity: CapacityChoice[];
}

export interface PoolUse {
  pool: string;
  capacity: Bandwidth;
  /** What this order could use in the pool when the decision was made (its own share included). */
  availableBefore: Bandwidth;
  /** What the offer uses in the pool. */
  needed: Bandwidth;
  /** UPDATE: what the agreement used (so needed minus committed is the delta held). */
  committedBefore?: Bandwidth;
}

export type Outcome = 'offer' | 'fail' | 'admin' | 'pending' | 'partners';

/** Why a decision was made: the record kept for `explain` (RFC 8921 12.1 logging). */
export interface DecisionRecord {
  at: DateTime;
  cycle: 'quotation' | 'update';
  approved: boolean;
  customer: { identity?: string; profile: string };
  requested: Cpd;
  agreement?: Cpd;
  options?: NegotiationOptions;
  outcome: Outcome;
  statusCode?: StatusCodeValue;
  /** The reasons of a FAIL (every problem found at the failing step). */
  reasons: string[];
  /** Counterproposals and other remarks on an offer. */
  notes: string[];
  offered?: Cpd;
  validUntil?: DateTime;
  expectedOfferTime?: DateTime;
  cpps: CppDecision[];
  pools: PoolUse[];
  /** Monthly price (for staff and logs: CPNP has no price field). */
  price?: Price;
  /** Child orders to place (8.8). */
  partners?: PartnerRequest[];
}

export type OrderStatus = 'negotiating' | 'agreed' | 'ended';

export interface OrderExplanation {
  orderId: string;
  identity?: string;
  status: OrderStatus;
  /** The most recent decisions, oldest first (at most MAX_RECORDS). */
  decisions: DecisionRecord[];
  /** Resource and request events (reserve, release, commit, activation, reviews...). */
  events: { at: DateTime; event: string; detail: string }[];
  holdUntil?: DateTime;
}

export interface OrderState {
  orderId: string;
  identity?: string;
  customerKey: string;
  status: OrderStatus;
  hasAgreement: boolean;
  /** Deadline of an offer's hold; cleared once the ACCEPT arrives. */
  holdUntil?: number;
  decisions: DecisionRecord[];
  events: { at: DateTime; event: string; detail: string }[];
  /** A decision delayed by policy.decisionDelay. */
  pending?: { request: DecisionRequest; dueAt: number };
  /** A decision waiting for partners' offers. */
  partners?: { request: DecisionRequest; plan: PartnerPlan };
}

export interface DecisionEngineSnapshot {
  version: 1;
  ledger: CapacityLedgerJson;
  orders: OrderState[];
}

export interface DecisionEngine extends ServerDecider {
  readonly policy: Policy;
  /**
   * Partners involved: `pending` with PROCESSING_SUBCODE 2 (8.8, 9.2.2). Asked again while the
   * partners are being asked (the machine's resumeParent after each child order), it keeps the
   * plan and stays pending instead of deciding afresh.
   */
  decide(request: DecisionRequest): ServerDecision;
  /** The cycle ended without agreement, whatever the path: its holds, delay and partner plan go. */
  cycleEnded(orderId: string, outcome: CycleOutcome): void;
  readonly ledger: CapacityLedger;
  /** The decision records and resource events of an order. */
  explain(orderId: string): OrderExplanation | undefined;
  /** Orders whose decision was delayed (policy.decisionDelay), with the promised time. */
  pendingDecisions(): { orderId: string; dueAt: DateTime }[];
  /** Decides a delayed order now (for engine.completeDecision); undefined if none is pending. */
  resolvePending(orderId: string): Decision | undefined;
  /** The child orders an order waits for (8.8), if any. */
  partnerPlan(orderId: string): PartnerPlan | undefined;
  /** Partners answered with offers: decide the local part and merge (for engine.completeDecision). */
  completePartners(orderId: string, offers: readonly PartnerRequest[]): Decision;
  /** A partner failed or timed out: the order fails with `statusCode`. */
  abandonPartners(orderId: string, statusCode: StatusCodeValue, reason?: string): Decision;
  /** Releases holds whose offer expired without the engine saying so; returns their orders. */
  expireHolds(): string[];
  snapshot(): DecisionEngineSnapshot;
  /**
   * Orders whose state or ledger entry changed since the store last wrote them, each with a
   * change counter: the store writes their `orderPart` and then calls `markWritten` with the
   * counters it wrote, so a change made while a commit was in flight is written by the next one.
   */
  changedOrders(): [string, number][];
  markWritten(written: readonly (readonly [string, number])[]): void;
  /** One order's share of `snapshot()`: its state and its ledger entry (not copies: serialise at once). */
  orderPart(orderId: string): DecisionOrderPart | undefined;
}

/** One order's part of the decision engine's state, persisted on its own (store.ts). */
export interface DecisionOrderPart {
  state: OrderState;
  ledger?: CapacityLedgerJson['orders'][string];
}

/**
 * Rebuilds a whole snapshot from per-order parts (store.ts) over a base snapshot (its pools and
 * whatever orders it holds; the parts win).
 */
export function snapshotFromParts(base: DecisionEngineSnapshot | undefined, parts: readonly DecisionOrderPart[], pools: CapacityLedgerJson['pools']): DecisionEngineSnapshot {
  const ledgerOrders: CapacityLedgerJson['orders'] = { ...(base?.ledger.orders ?? {}) };
  const states = new Map((base?.orders ?? []).map((o) => [o.orderId, o]));
  for (const part of parts) {
    states.set(part.state.orderId, part.state);
    if (part.ledger === undefined) delete ledgerOrders[part.state.orderId];
    else ledgerOrders[part.state.orderId] = part.ledger;
  }
  return { version: 1, ledger: { version: 1, unit: 'kbps', pools: { ...pools, ...(base?.ledger.pools ?? {}) }, orders: ledgerOrders }, orders: [...states.values()] };
}

/** Decision records kept per order (the oldest go first). */
export const MAX_RECORDS = 16;
const MAX_EVENTS = 64;
const ANONYMOUS = '(anonymous)';

// ---------------------------------------------------------------------------------------------
// Capacity slots: each capacity value of a CPD and the attachments (links) that use it.

type Dir = 'in' | 'out';
const KEY: Readonly<Record<Dir, 'inMbps' | 'outMbps'>> = { in: 'inMbps', out: 'outMbps' };

interface Slot {
  cpp: number;
  path: string;
  dir: Dir;
  value: Num;
  /** Attachments in local pools using this value, per pool. */
  uses: Map<string, number>;
  set(offered: number): void;
}

interface Attachment {
  cpp: number;
  link: string;
  pool: string;
  slots: Partial<Record<Dir, Slot>>;
}

/**
 * The attachments of a CPD in local pools and the capacity values they use. An attachment is a
 * distinct link of a CPP: each node's link, plus the links of per-link capacities that no node
 * uses. For each direction it uses the first per-link capacity of its link giving that
 * direction, else the CPP's own value. Partner links use no local capacity.
 */
function capacitySlots(policy: Policy, cpd: Cpd): { slots: Slot[]; attachments: Attachment[] } {
  const slots: Slot[] = [];
  const attachments: Attachment[] = [];
  cpd.forEach((cpp, i) => {
    const capacity = cpp.capacity;
    const bySource = new Map<string, Slot>();
    const slotFor = (dir: Dir, perLink: number | undefined): Slot | undefined => {
      const id = `${dir}:${perLink ?? -1}`;
      const existing = bySource.get(id);
      if (existing) return existing;
      const key = KEY[dir];
      const holder = perLink === undefined ? capacity : capacity?.perLink?.[perLink];
      const value = holder?.[key];
      if (!holder || value === undefined) return undefined;
      const slot: Slot = {
        cpp: i,
        path: perLink === undefined ? `cpd[${i}].capacity.${key}` : `cpd[${i}].capacity.perLink[${perLink}].${key}`,
        dir,
        value,
        uses: new Map(),
        set: (offered) => {
          holder[key] = offered;
        },
      };
      bySource.set(id, slot);
      slots.push(slot);
      return slot;
    };
    const links: string[] = [];
    for (const link of [...cpp.nodes.map((n) => n.link), ...(capacity?.perLink ?? []).map((l) => l.link)]) {
      if (!links.includes(link)) links.push(link);
    }
    for (const link of links) {
      const owner = linkOwner(policy, link);
      if (owner.kind !== 'local') continue;
      const attachment: Attachment = { cpp: i, link, pool: owner.pool, slots: {} };
      for (const dir of ['in', 'out'] as const) {
        const index = (capacity?.perLink ?? []).findIndex((l) => l.link === link && l[KEY[dir]] !== undefined);
        const slot = slotFor(dir, index < 0 ? undefined : index);
        if (!slot) continue;
        slot.uses.set(owner.pool, (slot.uses.get(owner.pool) ?? 0) + 1);
        attachment.slots[dir] = slot;
      }
      attachments.push(attachment);
    }
  });
  return { slots, attachments };
}

/** The value a loose capacity aims at: the preference, else the most asked for, else the least. */
const aim = (n: LooseNumber): number => n.pref ?? n.max ?? n.min ?? 0;
const fixedOrAim = (value: Num): number => (typeof value === 'number' ? value : aim(value));

/** Per pool and direction, the kbit/s the CPD's (fixed) values use. */
function needsOf(policy: Policy, cpd: Cpd): Map<string, { in: number; out: number }> {
  const needs = new Map<string, { in: number; out: number }>();
  for (const slot of capacitySlots(policy, cpd).slots) {
    for (const [pool, count] of slot.uses) {
      const need = needs.get(pool) ?? { in: 0, out: 0 };
      need[slot.dir] += count * toKbps(fixedOrAim(slot.value));
      needs.set(pool, need);
    }
  }
  return needs;
}

const toBandwidth = (k: { in: number; out: number }): Bandwidth => ({ inMbps: fromKbps(k.in), outMbps: fromKbps(k.out) });
const bandwidthRecord = (needs: Map<string, { in: number; out: number }>): Record<string, Bandwidth> =>
  Object.fromEntries([...needs].map(([pool, k]) => [pool, toBandwidth(k)]));

// ---------------------------------------------------------------------------------------------
// Choosing values.

const show = (v: Num | Negotiable<string>): string => (typeof v === 'object' ? JSON.stringify(v) : String(v));

const METRICS = ['delayMs', 'jitterMs', 'lossPct'] as const;

function boundsMet(qos: QuantitativeQos, cls: QosClass): boolean {
  return METRICS.every((m) => {
    const v = qos[m];
    if (v === undefined) return true;
    if (typeof v === 'number') return cls[m] <= v;
    return v.max === undefined || cls[m] <= v.max;
  });
}

function prefsMet(qos: QuantitativeQos, cls: QosClass): boolean {
  return METRICS.every((m) => {
    const v = qos[m];
    return v === undefined || typeof v === 'number' || v.pref === undefined || cls[m] <= v.pref;
  });
}

/** The value to offer for one metric of a class meeting the bounds (see docs). */
function offeredMetric(value: Num, figure: number): number {
  if (typeof value === 'number') return value;
  if (value.pref !== undefined && figure <= value.pref) return value.pref;
  return Math.max(figure, value.min ?? Number.NEGATIVE_INFINITY);
}

/** Availability: achievable when some level commits to at least that much. */
function chooseAvailability(value: Num, levels: readonly number[]): number | undefined {
  const best = levels[levels.length - 1] ?? Number.NEGATIVE_INFINITY;
  const ok = (v: number): boolean => v <= best;
  if (typeof value === 'number') return ok(value) ? value : undefined;
  if (value.pref !== undefined && ok(value.pref)) return value.pref;
  const lo = value.min ?? Number.NEGATIVE_INFINITY;
  const hi = value.max ?? Number.POSITIVE_INFINITY;
  const within = levels.filter((l) => l >= lo && l <= hi);
  const top = within[within.length - 1];
  if (top !== undefined) return top;
  if (value.max !== undefined && ok(value.max) && lo <= value.max) return value.max;
  return undefined;
}

function first<T extends string>(value: Negotiable<T>): T {
  return typeof value === 'string' ? value : (value.oneOf[0] as T);
}

// ---------------------------------------------------------------------------------------------

interface Built {
  cpd: Cpd;
  cpps: CppDecision[];
  needs: Map<string, { in: number; out: number }>;
  attachments: Attachment[];
  notes: string[];
}

type BuildResult = { ok: true; built: Built } | { ok: false; reasons: string[] };

export function createDecisionEngine(policy: Policy, deps: DecisionEngineDeps): DecisionEngine {
  const { clock } = deps;
  const ledger =
    deps.ledger ?? (deps.snapshot ? CapacityLedger.fromJSON(deps.snapshot.ledger) : new CapacityLedger(policy.pools));
  for (const pool of Object.keys(policy.pools)) {
    if (!ledger.pools().includes(pool)) throw new RangeError(`the ledger has no pool "${pool}" of the policy`);
  }
  const orders = new Map<string, OrderState>((deps.snapshot?.orders ?? []).map((o) => [o.orderId, structuredClone(o)]));

  // Indexes, so that no decision scans every order (issue 8): offer holds by deadline, delayed
  // decisions, the orders each customer holds, and what changed since the store last wrote it.
  // They are brought up to date for every order a call touched, when the call returns (reindex).
  const holds = new MinHeap();
  /** The deadline last pushed per order: a touch that leaves it alone pushes nothing. */
  const holdPushed = new Map<string, number>();
  const pendingIds = new Set<string>();
  const activeByCustomer = new Map<string, Set<string>>();
  const touched = new Set<string>();
  const changed = new Map<string, number>();
  let changeCounter = 0;
  const touch = (orderId: string): void => {
    touched.add(orderId);
  };
  function reindex(orderId: string): void {
    const order = orders.get(orderId);
    if (order === undefined) return;
    if (order.holdUntil === undefined) holdPushed.delete(orderId);
    else if (holdPushed.get(orderId) !== order.holdUntil) {
      holds.push(order.holdUntil, orderId);
      holdPushed.set(orderId, order.holdUntil);
    }
    if (order.pending) pendingIds.add(orderId);
    else pendingIds.delete(orderId);
    let active = activeByCustomer.get(order.customerKey);
    if (order.status !== 'ended') {
      if (active === undefined) activeByCustomer.set(order.customerKey, (active = new Set()));
      active.add(orderId);
    } else active?.delete(orderId);
    changed.set(orderId, ++changeCounter);
  }
  function reindexTouched(): void {
    for (const id of touched) reindex(id);
    touched.clear();
  }
  for (const id of orders.keys()) reindex(id);
  changed.clear();

  const now = (): number => clock.now();
  const stamp = (): DateTime => millisToDateTime(now());

  function log(order: OrderState, event: string, detail: string): void {
    const entry = { at: stamp(), event, detail };
    touch(order.orderId);
    order.events.push(entry);
    if (order.events.length > MAX_EVENTS) order.events.splice(0, order.events.length - MAX_EVENTS);
    deps.log?.({ orderId: order.orderId, ...entry });
  }

  function orderOf(orderId: string, identity?: string): OrderState {
    touch(orderId);
    let order = orders.get(orderId);
    if (!order) {
      order = {
        orderId,
        ...(identity === undefined ? {} : { identity }),
        customerKey: identity ?? ANONYMOUS,
        status: 'negotiating',
        hasAgreement: false,
        decisions: [],
        events: [],
      };
      orders.set(orderId, order);
    }
    return order;
  }

  function profileOf(identity: string | undefined): { name: string; profile: CustomerPolicy } {
    const own = identity === undefined ? undefined : policy.customers[identity];
    return own ? { name: identity ?? '', profile: own } : { name: 'defaultCustomer', profile: policy.defaultCustomer };
  }

  function record(order: OrderState, rec: DecisionRecord): void {
    order.decisions.push(rec);
    if (order.decisions.length > MAX_RECORDS) order.decisions.splice(0, order.decisions.length - MAX_RECORDS);
    const what = rec.outcome === 'fail' ? `FAIL ${rec.statusCode}: ${rec.reasons.join('; ')}` : rec.outcome;
    log(order, 'decision', `${rec.cycle} → ${what}${rec.price ? ` (${rec.price.monthly} ${rec.price.currency}/month)` : ''}`);
  }

  /** The negotiation of this order ends without agreement (or keeps its agreement). */
  function endNegotiation(order: OrderState): void {
    touch(order.orderId);
    ledger.release(order.orderId, 'negotiation');
    delete order.holdUntil;
    delete order.pending;
    delete order.partners;
    order.status = order.hasAgreement ? 'agreed' : 'ended';
  }

  // -------------------------------------------------------------------------------------------
  // Administrative checks (4, 8, 6).

  interface Screen {
    statusCode?: StatusCodeValue;
    reasons: string[];
    plan?: PartnerPlan;
  }

  function screen(request: DecisionRequest, order: OrderState): Screen {
    const options = request.ies?.options;
    const { name, profile } = profileOf(request.identity);
    const admin: string[] = [];
    const who = request.identity === undefined ? 'an unauthenticated customer' : `customer "${request.identity}"`;
    if (!profile.allowed) admin.push(`${who} (profile ${name}) is not allowed to place orders`);
    const purpose = options?.purpose ?? 'production';
    if (!policy.purposes.includes(purpose)) admin.push(`purpose "${purpose}" is not offered (allowed: ${policy.purposes.join(', ')})`);
    if (profile.prohibitedPurposes.includes(purpose)) admin.push(`purpose "${purpose}" is prohibited for ${who}`);
    if (purpose === 'test' && options?.testUntil !== undefined) {
      const until = dateTimeToMillis(options.testUntil);
      if (until <= now()) admin.push(`the test period ended at ${options.testUntil}`);
      else if (policy.maxTestDurationMs !== undefined && until - now() > policy.maxTestDurationMs) {
        admin.push(`the test period until ${options.testUntil} is longer than the ${Math.floor(policy.maxTestDurationMs / 3_600_000)} h allowed`);
      }
    }
    if (profile.maxOrders !== undefined && request.cycle === 'quotation') {
      let held = 0;
      for (const id of activeByCustomer.get(order.customerKey) ?? []) {
        if (id !== order.orderId && orders.get(id)?.status !== 'ended') held++;
      }
      if (held >= profile.maxOrders) admin.push(`${who} already holds ${held} orders (at most ${profile.maxOrders})`);
    }
    if (admin.length > 0) return { statusCode: StatusCode.ADMINISTRATIVELY_PROHIBITED, reasons: admin };

    const type = options?.activationType;
    if (type !== undefined && !policy.activationTypes.includes(type)) {
      const supported = ['immediate (no activation type)', ...policy.activationTypes].join(', ');
      return { statusCode: StatusCode.UNSUPPORTED_ACTIVATION_TYPE, reasons: [`activation type "${type}" is not supported (supported: ${supported})`] };
    }

    const plan = planPartners(policy, { cpd: request.cpd, ...(request.ies ? { ies: request.ies } : {}) });
    if (!plan.ok) return { statusCode: plan.statusCode, reasons: plan.reasons };
    const regions = new Set([...policy.regions, ...plan.partners.flatMap((p) => policy.partners[p.partnerId]?.regions ?? [])]);
    const presence: string[] = [];
    request.cpd.forEach((cpp, i) => {
      for (const region of cpp.routing?.regions ?? []) {
        if (!regions.has(region)) presence.push(`cpd[${i}].routing.regions: no network presence in "${region}" (present in: ${[...regions].join(', ')})`);
      }
    });
    if (presence.length > 0) return { statusCode: StatusCode.NETWORK_PRESENCE_ERROR, reasons: presence };
    return { reasons: [], plan };
  }

  // -------------------------------------------------------------------------------------------
  // The offer (5).

  function build(orderId: string, requested: Cpd): BuildResult {
    const offer = structuredClone(requested);
    const reasons: string[] = [];
    const notes: string[] = [];
    const cpps: CppDecision[] = offer.map((_, i) => ({ cpp: i, capacity: [] }));

    // QoS, availability and choices, CPP by CPP.
    offer.forEach((cpp, i) => {
      const decision = cpps[i] as CppDecision;
      const qos = cpp.qos;
      if (qos?.kind === 'quantitative') {
        // The best class meeting every bound, preferring one that meets the preferences too.
        const candidates = policy.qosClasses.filter((c) => boundsMet(qos, c));
        const cls = candidates.find((c) => prefsMet(qos, c)) ?? candidates[0];
        if (!cls) {
          const asked = METRICS.flatMap((m) => {
            const v = qos[m];
            return v === undefined ? [] : [`${m} ${show(v)}`];
          });
          reasons.push(`cpd[${i}].qos: no QoS class achieves ${asked.join(', ')}`);
        } else {
          decision.qosClass = cls.name;
          if (!prefsMet(qos, cls)) notes.push(`cpd[${i}].qos: class ${cls.name} is the best within the bounds but misses a preferred value`);
          for (const m of METRICS) {
            const v = qos[m];
            if (v !== undefined) qos[m] = offeredMetric(v, cls[m]);
          }
        }
      } else if (qos?.kind === 'qualitative') {
        const allowed = typeof qos.class === 'string' ? [qos.class] : qos.class.oneOf;
        const cls = policy.qosClasses.find((c) => allowed.includes(c.qualitative));
        if (!cls) reasons.push(`cpd[${i}].qos.class: no QoS class of level ${allowed.join(' or ')}`);
        else {
          decision.qosClass = cls.name;
          qos.class = cls.qualitative;
        }
      }
      if (cpp.availability) {
        const asked = cpp.availability.percent;
        const offered = chooseAvailability(asked, policy.availabilityLevels);
        if (offered === undefined) {
          reasons.push(`cpd[${i}].availability.percent: ${show(asked)} asked, at most ${policy.availabilityLevels[policy.availabilityLevels.length - 1]} offered`);
        } else {
          cpp.availability.percent = offered;
          const level = coveringLevel(policy.availabilityLevels, offered);
          if (level !== undefined) decision.availabilityLevel = level;
          if (typeof asked === 'object' && asked.pref !== undefined && asked.pref !== offered) {
            notes.push(`cpd[${i}].availability.percent: ${asked.pref} preferred, ${offered} offered`);
          }
        }
      }
      if (cpp.scope) {
        cpp.scope.reach = first(cpp.scope.reach);
        cpp.scope.model = first(cpp.scope.model);
      }
      if (cpp.conformance) {
        cpp.conformance.policing = first(cpp.conformance.policing);
        cpp.conformance.outOfProfile = first(cpp.conformance.outOfProfile);
      }
      if (cpp.overall) {
        if (cpp.overall.delay !== undefined) cpp.overall.delay = first(cpp.overall.delay);
        if (cpp.overall.loss !== undefined) cpp.overall.loss = first(cpp.overall.loss);
        if (cpp.overall.throughput !== undefined) cpp.overall.throughput = first(cpp.overall.throughput);
      }
    });

    // Capacity: first every value at its minimum (fixed values as they are), so that a
    // feasible request is never refused because an earlier value took too much; then each
    // loose value, in document order, raised to its aim or to what is left.
    const { slots } = capacitySlots(policy, offer);
    const room = new Map<string, { in: number; out: number }>();
    for (const slot of slots) for (const pool of slot.uses.keys()) if (!room.has(pool)) room.set(pool, { ...ledger.availableForKbps(orderId, pool) });
    const take = (slot: Slot, kbps: number, sign: 1 | -1): void => {
      for (const [pool, count] of slot.uses) {
        const r = room.get(pool);
        if (r) r[slot.dir] -= sign * count * kbps;
      }
    };
    const lower = (slot: Slot): number => (typeof slot.value === 'number' ? slot.value : (slot.value.min ?? 0));
    for (const slot of slots) take(slot, toKbps(lower(slot)), 1);
    const short = [...room].flatMap(([pool, r]) =>
      (['in', 'out'] as const).filter((d) => r[d] < 0).map((d) => `pool "${pool}" (${d}) lacks ${fromKbps(-r[d])} Mbit/s for the ${d === 'in' ? 'inMbps' : 'outMbps'} values at their minimum`),
    );
    if (short.length > 0) {
      for (const slot of slots) {
        const inShortPool = [...slot.uses.keys()].some((pool) => (room.get(pool)?.[slot.dir] ?? 0) < 0);
        if (!inShortPool) continue;
        if (typeof slot.value === 'number') reasons.push(`${slot.path}: ${slot.value} Mbit/s asked`);
        else if (slot.value.min !== undefined) reasons.push(`${slot.path}: at least ${slot.value.min} Mbit/s asked`);
      }
      reasons.push(...short);
    } else {
      for (const slot of slots) {
        const value = slot.value;
        const choice: CapacityChoice = { path: slot.path, requested: structuredClone(value), offered: 0, uses: Object.fromEntries(slot.uses) };
        cpps[slot.cpp]?.capacity.push(choice);
        if (typeof value === 'number') {
          choice.offered = value;
          continue;
        }
        const low = toKbps(lower(slot));
        take(slot, low, -1);
        const target = aim(value);
        const want = toKbps(target);
        const fits = [...slot.uses].every(([pool, count]) => count * want <= (room.get(pool)?.[slot.dir] ?? 0));
        let offered = target;
        if (!fits) {
          const most = Math.min(...[...slot.uses].map(([pool, count]) => Math.floor((room.get(pool)?.[slot.dir] ?? 0) / count)));
          offered = fromKbps(most);
          if (offered <= 0) {
            reasons.push(`${slot.path}: ${show(value)} asked, nothing left in pool ${[...slot.uses.keys()].map((p) => `"${p}"`).join(', ')}`);
            take(slot, low, 1);
            continue;
          }
          notes.push(`${slot.path}: ${target} Mbit/s aimed at, ${offered} available (counterproposal within ${show(value)})`);
        }
        choice.offered = offered;
        slot.set(offered);
        take(slot, toKbps(offered), 1);
      }
    }
    if (reasons.length > 0) return { ok: false, reasons };
    return { ok: true, built: { cpd: offer, cpps, needs: needsOf(policy, offer), attachments: capacitySlots(policy, offer).attachments, notes } };
  }

  function priceOf(built: Built): Price {
    const items: PricingItem[] = built.cpd.map((cpp, i) => {
      const percent = cpp.availability?.percent;
      const qosClass = built.cpps[i]?.qosClass;
      return {
        cpp: i,
        attachments: built.attachments
          .filter((a) => a.cpp === i)
          .map((a) => {
            const value = (dir: Dir): number => {
              const holder = dir === 'in' ? a.slots.in : a.slots.out;
              return holder ? fixedOrAim(holder.value) : 0;
            };
            return { inMbps: value('in'), outMbps: value('out') };
          }),
        ...(typeof percent === 'number' ? { availabilityPercent: percent } : {}),
        ...(qosClass === undefined ? {} : { qosClass }),
      };
    });
    return priceOffer(policy.pricing, items);
  }

  function poolUses(orderId: string, needs: Map<string, { in: number; out: number }>, before: Map<string, Bandwidth>): PoolUse[] {
    const holdings = ledger.order(orderId);
    return [...needs].map(([pool, k]) => {
      const committed = holdings?.committed[pool];
      return {
        pool,
        capacity: ledger.capacity(pool),
        availableBefore: before.get(pool) ?? ledger.availableFor(orderId, pool),
        needed: toBandwidth(k),
        ...(committed ? { committedBefore: committed } : {}),
      };
    });
  }

  function newRecord(request: DecisionRequest, outcome: Outcome): DecisionRecord {
    const { name } = profileOf(request.identity);
    return {
      at: stamp(),
      cycle: request.cycle,
      approved: request.approved === true,
      customer: { ...(request.identity === undefined ? {} : { identity: request.identity }), profile: name },
      requested: structuredClone(request.cpd),
      ...(request.agreement ? { agreement: structuredClone(request.agreement) } : {}),
      ...(request.ies?.options ? { options: { ...request.ies.options } } : {}),
      outcome,
      reasons: [],
      notes: [],
      cpps: [],
      pools: [],
    };
  }

  function failWith(order: OrderState, rec: DecisionRecord, statusCode: StatusCodeValue, reasons: string[]): Decision {
    rec.outcome = 'fail';
    rec.statusCode = statusCode;
    rec.reasons = reasons;
    endNegotiation(order);
    record(order, rec);
    return { kind: 'fail', statusCode };
  }

  /** Builds, holds and prices the offer for `cpd` (the whole request, or a merged cascade). */
  function offerFor(order: OrderState, rec: DecisionRecord, localCpd: Cpd, merge?: (local: Cpd) => Cpd): Decision {
    const before = new Map(ledger.pools().map((p) => [p, ledger.availableFor(order.orderId, p)]));
    const result = build(order.orderId, localCpd);
    if (!result.ok) return failWith(order, rec, StatusCode.OUT_OF_RESOURCES, result.reasons);
    const { built } = result;
    let offered = built.cpd;
    let needs = built.needs;
    if (merge) {
      try {
        offered = merge(built.cpd);
      } catch (error) {
        return failWith(order, rec, StatusCode.NETWORK_PRESENCE_ERROR, [`partner offers cannot be merged: ${error instanceof Error ? error.message : String(error)}`]);
      }
      needs = needsOf(policy, offered);
    }
    const held = ledger.reserveAll(order.orderId, bandwidthRecord(needs), 'held');
    if (!held.ok) {
      return failWith(order, rec, StatusCode.OUT_OF_RESOURCES, [`pool "${held.pool}" (${held.direction}) has ${held.availableMbps} Mbit/s, ${held.requestedMbps} needed`]);
    }
    const validUntil = now() + policy.offerValidityMs;
    order.holdUntil = validUntil;
    order.status = 'negotiating';
    rec.outcome = 'offer';
    rec.offered = structuredClone(offered);
    rec.validUntil = millisToDateTime(validUntil);
    rec.cpps = built.cpps;
    rec.pools = poolUses(order.orderId, needs, before);
    rec.notes = built.notes;
    rec.price = priceOf(built);
    record(order, rec);
    log(order, 'reserve', Object.entries(bandwidthRecord(needs)).map(([p, b]) => `${p} ${b.inMbps}/${b.outMbps} Mbit/s`).join(', ') || 'nothing');
    const { provider } = policy;
    return {
      kind: 'offer',
      cpd: offered,
      validityOfferTime: millisToDateTime(validUntil),
      ies: { provider: { name: provider.name, ...(provider.contact ? { contact: structuredClone(provider.contact) } : {}), ...(provider.asn === undefined ? {} : { asn: provider.asn }) } },
    };
  }

  function evaluate(request: DecisionRequest, allowDelay: boolean): ServerDecision {
    expireHolds();
    const order = orderOf(request.orderId, request.identity);
    if (request.cycle === 'update' && request.agreement) order.hasAgreement = true;
    order.status = 'negotiating';
    delete order.pending;
    delete order.partners;
    const rec = newRecord(request, 'fail');
    const checked = screen(request, order);
    if (checked.statusCode !== undefined || !checked.plan) return failWith(order, rec, checked.statusCode ?? StatusCode.ADMINISTRATIVELY_PROHIBITED, checked.reasons);
    const plan = checked.plan;

    const method = request.cycle === 'update' ? 'UPDATE' : 'QUOTATION';
    if (policy.decisionModes[method] === 'admin' && request.approved !== true) {
      ledger.release(order.orderId, 'negotiation');
      rec.outcome = 'admin';
      rec.notes = [`${method} needs administrative validation (policy decisionModes.${method})`];
      record(order, rec);
      return { kind: 'admin' };
    }
    if (allowDelay && request.approved !== true && policy.decisionDelay.kind === 'pending') {
      ledger.release(order.orderId, 'negotiation');
      const dueAt = now() + policy.decisionDelay.offerAfterMs;
      order.pending = { request: structuredClone(request), dueAt };
      order.holdUntil = dueAt + policy.offerValidityMs;
      rec.outcome = 'pending';
      rec.expectedOfferTime = millisToDateTime(dueAt);
      record(order, rec);
      return { kind: 'pending', expectedOfferTime: millisToDateTime(dueAt) };
    }
    if (plan.partners.length > 0) {
      // Fail fast when the local part cannot be served; hold nothing until the partners answer.
      const trial = build(order.orderId, plan.local);
      if (!trial.ok) return failWith(order, rec, StatusCode.OUT_OF_RESOURCES, trial.reasons);
      ledger.release(order.orderId, 'negotiation');
      order.partners = { request: structuredClone(request), plan };
      rec.outcome = 'partners';
      rec.partners = structuredClone(plan.partners);
      rec.notes = plan.partners.map((p) => `child order for partner "${p.partnerId}" (${p.cpd.length} CPP)`);
      record(order, rec);
      // 8.8: "the server may notify the client"; its PROCESSING says external resources are requested.
      return { kind: 'pending', processingSubcode: ProcessingSubcode.REQUEST_EXTERNAL_RESOURCES };
    }
    return offerFor(order, rec, plan.local);
  }

  function expireHolds(): string[] {
    const expired: string[] = [];
    const t = now();
    for (let top = holds.peek(); top !== undefined && t > top.due; top = holds.peek()) {
      holds.pop();
      const order = orders.get(top.key);
      // A stale entry (the hold moved or went): the current deadline has its own entry.
      if (order?.holdUntil !== top.due) continue;
      holdPushed.delete(order.orderId);
      expired.push(order.orderId);
      log(order, 'expire', 'hold released: its offer expired');
      endNegotiation(order);
    }
    return expired;
  }

  const engine: DecisionEngine = {
    policy,
    ledger,

    decide: (request) => {
      const waiting = orders.get(request.orderId)?.partners;
      if (waiting && waiting.request.cycle === request.cycle && cpdEquals(waiting.request.cpd, request.cpd)) {
        // Asked again between child orders (Fig. 9 ChildCompleted → AwaitingProcessing): the
        // partners are still being asked; deciding afresh would re-plan or re-delay the order.
        const order = orderOf(request.orderId);
        log(order, 'partners', 'still waiting for partner offers');
        return { kind: 'pending' };
      }
      return evaluate(request, true);
    },

    cycleEnded: (orderId, outcome) => {
      const order = orders.get(orderId);
      if (!order) return;
      if (outcome.agreementKept) order.hasAgreement = true;
      endNegotiation(order);
      log(order, 'cycle-ended', `${outcome.cycle} cycle ended (${outcome.reason})`);
    },

    confirmAccept: ({ orderId, cpd }) => {
      const order = orderOf(orderId);
      delete order.holdUntil;
      if (!ledger.isNegotiating(orderId)) {
        // The hold was lost (restart without ledger, expiry sweep): take it again if possible.
        const again = ledger.reserveAll(orderId, bandwidthRecord(needsOf(policy, cpd)), 'held');
        if (!again.ok) {
          log(order, 'accept-refused', `pool "${again.pool}" can no longer give ${again.requestedMbps} Mbit/s`);
          return { kind: 'refuse', statusCode: StatusCode.OUT_OF_RESOURCES };
        }
      }
      log(order, 'accept', 'offer accepted');
      return { kind: 'confirm' };
    },

    reviewRequest: (request: RequestReview): RequestDecision => {
      const order = orderOf(request.orderId, request.identity);
      if (policy.decisionModes[request.method] === 'admin') {
        log(order, 'review', `${request.method} waits for administrative validation`);
        return { kind: 'pending' };
      }
      log(order, 'review', `${request.method} proceeds`);
      return { kind: 'proceed' };
    },

    moreTimeAnswered: (orderId, granted) => {
      log(orderOf(orderId), 'more-time', granted ? 'granted' : 'refused');
    },

    reserveResources: (orderId, offered) => {
      const order = orderOf(orderId);
      const needs = bandwidthRecord(needsOf(policy, offered));
      const result = ledger.reserveAll(orderId, needs, 'held');
      if (!result.ok) log(order, 'error', `the offer made cannot be held: pool "${result.pool}" has ${result.availableMbps} Mbit/s, ${result.requestedMbps} needed`);
      order.holdUntil ??= now() + policy.offerValidityMs;
      order.status = 'negotiating';
    },

    releaseResources: (orderId, scope: ResourceScope) => {
      const order = orderOf(orderId);
      if (scope === 'all') {
        ledger.release(orderId, 'all');
        order.hasAgreement = false;
      }
      endNegotiation(order);
      log(order, 'release', scope);
    },

    commitResources: (orderId, agreed) => {
      const order = orderOf(orderId);
      if (ledger.isNegotiating(orderId)) ledger.commit(orderId);
      else {
        const result = ledger.reserveAll(orderId, bandwidthRecord(needsOf(policy, agreed)), 'committed');
        if (!result.ok) log(order, 'error', `the agreement cannot be booked: pool "${result.pool}" has ${result.availableMbps} Mbit/s, ${result.requestedMbps} needed`);
      }
      delete order.holdUntil;
      order.hasAgreement = true;
      order.status = 'agreed';
      log(order, 'commit', JSON.stringify(ledger.order(orderId)?.committed ?? {}));
    },

    applyActivation: (orderId, schedule: ActivationSchedule) => {
      log(orderOf(orderId), 'activation', schedule === null ? 'activate now' : schedule === 0 ? 'deactivate' : `scheduled at ${schedule}`);
    },

    explain: (orderId) => {
      const order = orders.get(orderId);
      if (!order) return undefined;
      return structuredClone({
        orderId,
        ...(order.identity === undefined ? {} : { identity: order.identity }),
        status: order.status,
        decisions: order.decisions,
        events: order.events,
        ...(order.holdUntil === undefined ? {} : { holdUntil: millisToDateTime(order.holdUntil) }),
      });
    },

    pendingDecisions: () =>
      [...pendingIds].flatMap((id) => {
        const pending = orders.get(id)?.pending;
        return pending ? [{ orderId: id, dueAt: millisToDateTime(pending.dueAt) }] : [];
      }),

    resolvePending: (orderId) => {
      const pending = orders.get(orderId)?.pending;
      return pending ? evaluate(pending.request, false) : undefined;
    },

    partnerPlan: (orderId) => {
      const waiting = orders.get(orderId)?.partners;
      return waiting ? structuredClone(waiting.plan) : undefined;
    },

    completePartners: (orderId, offers) => {
      const order = orderOf(orderId);
      const waiting = order.partners;
      if (!waiting) throw new Error(`order ${orderId} is not waiting for partners`);
      delete order.partners;
      const rec = newRecord(waiting.request, 'offer');
      rec.partners = structuredClone([...offers]);
      return offerFor(order, rec, waiting.plan.local, (local) => mergeOffers(waiting.plan, local, offers));
    },

    abandonPartners: (orderId, statusCode, reason) => {
      const order = orderOf(orderId);
      const waiting = order.partners;
      if (!waiting) throw new Error(`order ${orderId} is not waiting for partners`);
      const rec = newRecord(waiting.request, 'fail');
      return failWith(order, rec, statusCode, [reason ?? `a partner could not serve its part (status ${statusCode})`]);
    },

    expireHolds,

    snapshot: () => ({ version: 1, ledger: ledger.toJSON(), orders: structuredClone([...orders.values()]) }),

    changedOrders: () => [...changed],

    markWritten: (written) => {
      for (const [id, counter] of written) if (changed.get(id) === counter) changed.delete(id);
    },

    orderPart: (orderId) => {
      const state = orders.get(orderId);
      if (state === undefined) return undefined;
      const entry = ledger.orderJson(orderId);
      return { state, ...(entry === undefined ? {} : { ledger: entry }) };
    },
  };
  // Every call that may change an order brings the indexes up to date when it returns.
  for (const name of Object.keys(engine) as (keyof DecisionEngine)[]) {
    const member: unknown = engine[name];
    if (typeof member !== 'function' || name === 'changedOrders' || name === 'markWritten' || name === 'orderPart') continue;
    const fn = member as (...args: unknown[]) => unknown;
    (engine as unknown as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
      try {
        return fn(...args);
      } finally {
        reindexTouched();
      }
    };
  }
  return engine;
}
