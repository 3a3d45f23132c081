import { join } from '../schema-reader';
import type { Cpd, Cpp, LooseNumber } from './types';

/**
 * Clause-by-clause comparison of a Requested CPD with an Offered CPD (RFC 8921 8.7), for
 * showing a customer what was asked and what is offered. The semantics are described in
 * docs/cpd-model.md; in short every leaf gets a verdict:
 *   meets   — the offer gives what was asked (at the preferred value when there is one),
 *   narrows — the offer stays inside the requested bounds/choices but off the preference,
 *             or is itself loose and strictly inside them,
 *   misses  — outside the bounds, a different value, or requested but not offered,
 *   extra   — offered but not requested (informational).
 */

export type Verdict = 'meets' | 'narrows' | 'misses' | 'extra';

export interface DiffEntry {
  /** JSON-form path of the value in the Requested CPD (or in the Offered CPD for "extra" CPPs). */
  path: string;
  /** The path in the Offered CPD when its CPP sits at another index. */
  offeredPath?: string;
  /** The RFC 7297 clause the value belongs to, e.g. "RFC 7297 3.5 Capacity". */
  clause: string;
  /** The requested value (JSON form); absent when not requested. */
  requested?: unknown;
  /** The offered value (JSON form); absent when not offered. */
  offered?: unknown;
  verdict: Verdict;
  /** A short human-readable explanation. */
  note: string;
  /**
   * For numbers: offered minus the reference, the reference being the violated bound when the
   * offer is outside the requested bounds, else the preferred (or fixed) requested value.
   */
  gap?: number;
}

export interface DiffSummary {
  meets: number;
  narrows: number;
  misses: number;
  extra: number;
  /** The worst verdict of all entries, "extra" not counting. */
  overall: 'meets' | 'narrows' | 'misses';
}

/** How the CPPs were paired: by "component" label, else by order among unlabelled CPPs. */
export interface CppPairing {
  requested?: number;
  offered?: number;
  component?: string;
}

export interface CpdDiff {
  pairs: CppPairing[];
  entries: DiffEntry[];
  summary: DiffSummary;
}

// ---------------------------------------------------------------------------------------------
// The comparison shape of a CPP (cpp-model.md), i.e. how each field is to be compared.

type Shape =
  | { kind: 'num' } // Num: fixed number or loose {min, max, pref}
  | { kind: 'enum' } // Enum<...>: fixed choice or {oneOf}
  | { kind: 'value' } // anything else fixed: equal or not
  | { kind: 'set' } // list of texts whose order carries no meaning (or a fixed text)
  | { kind: 'map'; fields: Readonly<Record<string, Shape>> }
  | { kind: 'list'; item: Shape; key?: string };

const NUM: Shape = { kind: 'num' };
const ENUM: Shape = { kind: 'enum' };
const VALUE: Shape = { kind: 'value' };
const SET: Shape = { kind: 'set' };
const map = (fields: Record<string, Shape>): Shape => ({ kind: 'map', fields });

const CPP_SHAPE = {
  component: VALUE,
  nodes: { kind: 'list', key: 'id', item: map({ id: VALUE, link: VALUE, location: VALUE, site: VALUE }) },
  scope: map({
    reach: ENUM,
    model: ENUM,
    families: SET,
    outbound: SET,
    inbound: SET,
    ingress: SET,
    egress: SET,
    multicast: map({ mode: VALUE, groups: SET, sources: SET }),
  }),
  // Both QoS kinds in one map: a change of kind shows as a missed "kind" plus missed/extra fields.
  qos: map({ kind: VALUE, class: ENUM, delayMs: NUM, jitterMs: NUM, lossPct: NUM, statistic: VALUE, intervalSec: VALUE, between: SET }),
  availability: map({ percent: NUM, statistic: VALUE }),
  capacity: map({
    inMbps: NUM,
    outMbps: NUM,
    perLink: { kind: 'list', key: 'link', item: map({ link: VALUE, inMbps: NUM, outMbps: NUM }) },
  }),
  conformance: map({ policing: ENUM, outOfProfile: ENUM, mtu: VALUE }),
  overall: map({ delay: ENUM, loss: ENUM, throughput: ENUM }),
  isolation: map({ required: VALUE, security: SET }),
  flows: {
    kind: 'list',
    item: map({ src: VALUE, dst: VALUE, srcPort: VALUE, dstPort: VALUE, dscp: VALUE, tunnelEnd: VALUE, links: SET, remark: VALUE }),
  },
  routing: map({ avoid: SET, via: SET, regions: SET, backupPath: VALUE, pdb: VALUE }),
  activation: SET,
  invocation: map({ type: VALUE, protocol: VALUE }),
  notifications: { kind: 'list', item: map({ channel: VALUE, events: SET, intervalSec: VALUE }) },
} as const satisfies Record<keyof Cpp, Shape>;

/** RFC 7297 section 3 clause (section 4 for the component label) of each CPP key. */
export const CLAUSES: Readonly<Record<keyof Cpp, string>> = {
  component: 'RFC 7297 4 Component',
  nodes: 'RFC 7297 3.1 Customer Nodes Map',
  scope: 'RFC 7297 3.2 Scope',
  qos: 'RFC 7297 3.3 QoS Guarantees',
  availability: 'RFC 7297 3.4 Availability',
  capacity: 'RFC 7297 3.5 Capacity',
  conformance: 'RFC 7297 3.6 Conformance Traffic',
  overall: 'RFC 7297 3.7 Overall Traffic Guarantees',
  isolation: 'RFC 7297 3.8 Traffic Isolation',
  flows: 'RFC 7297 3.9 Flow Identification',
  routing: 'RFC 7297 3.10 Routing and Forwarding',
  activation: 'RFC 7297 3.11 Activation Means',
  invocation: 'RFC 7297 3.12 Invocation Means',
  notifications: 'RFC 7297 3.13 Notifications',
};
const CPP_CLAUSE = 'RFC 7297 4 CPP';

// ---------------------------------------------------------------------------------------------
// Helpers on untyped JSON-form values.

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[key];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => field(a, k) !== undefined);
  const kb = Object.keys(b).filter((k) => field(b, k) !== undefined);
  return ka.length === kb.length && ka.every((k) => sameValue(field(a, k), field(b, k)));
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

function isLooseNumber(value: unknown): value is LooseNumber {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function choicesOf(value: unknown): string[] {
  const oneOf = field(value, 'oneOf');
  if (Array.isArray(oneOf)) return oneOf.filter((c): c is string => typeof c === 'string');
  return typeof value === 'string' ? [value] : [];
}

function showRange(n: LooseNumber): string {
  const parts: string[] = [];
  if (n.min !== undefined) parts.push(`min ${n.min}`);
  if (n.max !== undefined) parts.push(`max ${n.max}`);
  if (n.pref !== undefined) parts.push(`pref ${n.pref}`);
  return `{${parts.join(', ')}}`;
}

// ---------------------------------------------------------------------------------------------
// Verdicts of negotiable values.

interface Judgement {
  verdict: Verdict;
  note: string;
  gap?: number;
}

/** `Num` (cpp-model.md): fixed vs fixed, fixed inside loose bounds, or loose inside loose. */
function judgeNum(requested: unknown, offered: unknown): Judgement {
  if (typeof requested === 'number' && typeof offered === 'number') {
    return offered === requested
      ? { verdict: 'meets', note: 'same value', gap: 0 }
      : { verdict: 'misses', note: `offered ${offered} instead of ${requested}`, gap: offered - requested };
  }
  if (isLooseNumber(requested) && typeof offered === 'number') {
    const { min, max, pref } = requested;
    if (min !== undefined && offered < min) return { verdict: 'misses', note: `offered ${offered} is below the minimum ${min}`, gap: offered - min };
    if (max !== undefined && offered > max) return { verdict: 'misses', note: `offered ${offered} is above the maximum ${max}`, gap: offered - max };
    if (pref === undefined) return { verdict: 'meets', note: `offered ${offered} is within ${showRange(requested)}` };
    return offered === pref
      ? { verdict: 'meets', note: `offered the preferred value ${pref}`, gap: 0 }
      : { verdict: 'narrows', note: `offered ${offered} is within ${showRange(requested)} but not the preferred ${pref}`, gap: offered - pref };
  }
  if (typeof requested === 'number' && isLooseNumber(offered)) {
    // A loose offer does not commit to the fixed value asked for, unless it pins it.
    if (offered.min === requested && offered.max === requested) return { verdict: 'meets', note: 'the offered range only holds the requested value', gap: 0 };
    const gap = offered.pref === undefined ? undefined : offered.pref - requested;
    return { verdict: 'misses', note: `offered ${showRange(offered)} leaves open the value ${requested} asked for`, ...(gap === undefined ? {} : { gap }) };
  }
  if (isLooseNumber(requested) && isLooseNumber(offered)) {
    const rMin = requested.min ?? Number.NEGATIVE_INFINITY;
    const rMax = requested.max ?? Number.POSITIVE_INFINITY;
    const oMin = offered.min ?? Number.NEGATIVE_INFINITY;
    const oMax = offered.max ?? Number.POSITIVE_INFINITY;
    const within = `offered ${showRange(offered)}`;
    if (oMin < rMin) {
      const gap = Number.isFinite(oMin) ? { gap: oMin - rMin } : {};
      return { verdict: 'misses', note: `${within} goes below the minimum ${rMin}`, ...gap };
    }
    if (oMax > rMax) {
      const gap = Number.isFinite(oMax) ? { gap: oMax - rMax } : {};
      return { verdict: 'misses', note: `${within} goes above the maximum ${rMax}`, ...gap };
    }
    if (sameValue(requested, offered)) return { verdict: 'meets', note: 'same range', ...(requested.pref === undefined ? {} : { gap: 0 }) };
    const gap = requested.pref !== undefined && offered.pref !== undefined ? { gap: offered.pref - requested.pref } : {};
    return { verdict: 'narrows', note: `${within} lies inside ${showRange(requested)}`, ...gap };
  }
  return judgeValue(requested, offered);
}

/** `Enum<...>`: a list of choices means any of them is acceptable; no order of preference. */
function judgeEnum(requested: unknown, offered: unknown): Judgement {
  const asked = choicesOf(requested);
  const given = choicesOf(offered);
  if (typeof offered === 'string') {
    if (typeof requested === 'string') {
      return offered === requested ? { verdict: 'meets', note: 'same choice' } : { verdict: 'misses', note: `offered ${show(offered)} instead of ${show(requested)}` };
    }
    return asked.includes(offered)
      ? { verdict: 'meets', note: `offered ${show(offered)}, one of the requested choices` }
      : { verdict: 'misses', note: `offered ${show(offered)} is not among the requested choices ${asked.map(show).join(', ')}` };
  }
  if (typeof requested === 'string') {
    return { verdict: 'misses', note: `offered choices ${given.map(show).join(', ')} leave open the choice ${show(requested)} asked for` };
  }
  const outside = given.filter((c) => !asked.includes(c));
  if (outside.length > 0) return { verdict: 'misses', note: `offered choices ${outside.map(show).join(', ')} were not requested` };
  return given.length === asked.length
    ? { verdict: 'meets', note: 'same choices' }
    : { verdict: 'narrows', note: `offered choices ${given.map(show).join(', ')} are a subset of the requested ones` };
}

function judgeValue(requested: unknown, offered: unknown): Judgement {
  if (sameValue(requested, offered)) return { verdict: 'meets', note: 'same value', ...(typeof requested === 'number' ? { gap: 0 } : {}) };
  const gap = typeof requested === 'number' && typeof offered === 'number' ? { gap: offered - requested } : {};
  return { verdict: 'misses', note: `offered ${show(offered)} instead of ${show(requested)}`, ...gap };
}

/** Lists whose order carries no meaning (families, prefixes, labels...). */
function judgeSet(requested: unknown, offered: unknown): Judgement {
  if (!Array.isArray(requested) || !Array.isArray(offered)) return judgeValue(requested, offered);
  const missing = requested.filter((x) => !offered.some((y) => sameValue(x, y)));
  const added = offered.filter((y) => !requested.some((x) => sameValue(x, y)));
  if (missing.length === 0 && added.length === 0) return { verdict: 'meets', note: 'same items' };
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${missing.map(show).join(', ')}`);
  if (added.length > 0) parts.push(`not requested ${added.map(show).join(', ')}`);
  return { verdict: 'misses', note: parts.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// The walk.

interface Walk {
  entries: DiffEntry[];
  clause: string;
}

function entry(walk: Walk, path: string, offeredPath: string, requested: unknown, offered: unknown, judgement: Judgement): void {
  const e: DiffEntry = { path, clause: walk.clause, verdict: judgement.verdict, note: judgement.note };
  if (offeredPath !== path) e.offeredPath = offeredPath;
  if (requested !== undefined) e.requested = requested;
  if (offered !== undefined) e.offered = offered;
  if (judgement.gap !== undefined) e.gap = judgement.gap;
  walk.entries.push(e);
}

/** Pairs list items by key (in order of occurrence when a key repeats) or by index. */
function pairItems(requested: unknown[], offered: unknown[], key: string | undefined): [number | undefined, number | undefined][] {
  if (key === undefined) {
    const n = Math.max(requested.length, offered.length);
    return Array.from({ length: n }, (_, i) => [i < requested.length ? i : undefined, i < offered.length ? i : undefined]);
  }
  const used = new Set<number>();
  const pairs: [number | undefined, number | undefined][] = requested.map((item, i) => {
    const j = offered.findIndex((other, k) => !used.has(k) && sameValue(field(other, key), field(item, key)));
    if (j < 0) return [i, undefined];
    used.add(j);
    return [i, j];
  });
  offered.forEach((_, j) => {
    if (!used.has(j)) pairs.push([undefined, j]);
  });
  return pairs;
}

function itemPath(path: string, list: unknown[], index: number, key: string | undefined): string {
  if (key === undefined) return join(path, index);
  return `${path}[${JSON.stringify(field(list[index], key))}]`;
}

function compare(walk: Walk, shape: Shape, requested: unknown, offered: unknown, path: string, offeredPath: string): void {
  if (requested === undefined && offered === undefined) return;
  if (offered === undefined) {
    entry(walk, path, offeredPath, requested, undefined, { verdict: 'misses', note: 'requested but not offered' });
    return;
  }
  if (requested === undefined) {
    entry(walk, path, offeredPath, undefined, offered, { verdict: 'extra', note: 'offered but not requested' });
    return;
  }
  switch (shape.kind) {
    case 'num':
      entry(walk, path, offeredPath, requested, offered, judgeNum(requested, offered));
      return;
    case 'enum':
      entry(walk, path, offeredPath, requested, offered, judgeEnum(requested, offered));
      return;
    case 'value':
      entry(walk, path, offeredPath, requested, offered, judgeValue(requested, offered));
      return;
    case 'set':
      entry(walk, path, offeredPath, requested, offered, judgeSet(requested, offered));
      return;
    case 'map':
      for (const [key, sub] of Object.entries(shape.fields)) {
        compare(walk, sub, field(requested, key), field(offered, key), join(path, key), join(offeredPath, key));
      }
      return;
    case 'list': {
      const rList = Array.isArray(requested) ? requested : [];
      const oList = Array.isArray(offered) ? offered : [];
      for (const [i, j] of pairItems(rList, oList, shape.key)) {
        const rItem = i === undefined ? undefined : rList[i];
        const oItem = j === undefined ? undefined : oList[j];
        // Keyed items carry the same key on both sides, so one path names both.
        const p = i !== undefined ? itemPath(path, rList, i, shape.key) : itemPath(path, oList, j ?? 0, shape.key);
        const q = j !== undefined ? itemPath(offeredPath, oList, j, shape.key) : itemPath(offeredPath, rList, i ?? 0, shape.key);
        compare(walk, shape.item, rItem, oItem, p, q);
      }
      return;
    }
  }
}

/**
 * Pairs the CPPs: those with a "component" label with the offered CPP of the same label, the
 * others in order with the offered CPPs that have no label.
 */
export function pairCpps(requested: Cpd, offered: Cpd): CppPairing[] {
  const used = new Set<number>();
  const pairs: CppPairing[] = [];
  const unlabelledOffers = offered.map((cpp, j) => (cpp.component === undefined ? j : -1)).filter((j) => j >= 0);
  let nextUnlabelled = 0;
  requested.forEach((cpp, i) => {
    let j: number | undefined;
    if (cpp.component !== undefined) {
      const found = offered.findIndex((o, k) => !used.has(k) && o.component === cpp.component);
      j = found < 0 ? undefined : found;
    } else {
      j = unlabelledOffers[nextUnlabelled];
      if (j !== undefined) nextUnlabelled++;
    }
    if (j !== undefined) used.add(j);
    pairs.push({ requested: i, ...(j === undefined ? {} : { offered: j }), ...(cpp.component === undefined ? {} : { component: cpp.component }) });
  });
  offered.forEach((cpp, j) => {
    if (!used.has(j)) pairs.push({ offered: j, ...(cpp.component === undefined ? {} : { component: cpp.component }) });
  });
  return pairs;
}

function summarize(entries: readonly DiffEntry[]): DiffSummary {
  const count = (v: Verdict): number => entries.filter((e) => e.verdict === v).length;
  const summary = { meets: count('meets'), narrows: count('narrows'), misses: count('misses'), extra: count('extra') };
  const overall = summary.misses > 0 ? 'misses' : summary.narrows > 0 ? 'narrows' : 'meets';
  return { ...summary, overall };
}

/** Compares a Requested CPD with an Offered CPD clause by clause. */
export function diffCpd(requested: Cpd, offered: Cpd, root = 'cpd'): CpdDiff {
  const entries: DiffEntry[] = [];
  const pairs = pairCpps(requested, offered);
  for (const pair of pairs) {
    const rCpp = pair.requested === undefined ? undefined : requested[pair.requested];
    const oCpp = pair.offered === undefined ? undefined : offered[pair.offered];
    const rPath = join(root, pair.requested ?? pair.offered ?? 0);
    const oPath = join(root, pair.offered ?? pair.requested ?? 0);
    if (!rCpp || !oCpp) {
      const walk: Walk = { entries, clause: CPP_CLAUSE };
      compare(walk, VALUE, rCpp, oCpp, rPath, oPath);
      continue;
    }
    for (const key of Object.keys(CPP_SHAPE) as (keyof Cpp)[]) {
      const walk: Walk = { entries, clause: CLAUSES[key] };
      compare(walk, CPP_SHAPE[key], rCpp[key], oCpp[key], join(rPath, key), join(oPath, key));
    }
  }
  return { pairs, entries, summary: summarize(entries) };
}
