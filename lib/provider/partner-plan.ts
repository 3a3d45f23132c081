import type { Cpd, Cpp, Level, LinkCapacity, Num } from '../cpnp/cpd/types';
import type { InformationElements } from '../cpnp/information-elements';
import { StatusCode } from '../cpnp/status-code';
import { linkOwner, type Policy } from './policy';

/**
 * Cascaded negotiation planning (RFC 8921 8.8 child PQOs, 8.9 multi-segment service): which
 * part of a Requested CPD this Provider decides itself and which parts go to partner
 * Providers as child orders, and how the partners' offers fold back into one Offered CPD.
 * Pure functions; the server wiring of the child orders lives elsewhere.
 *
 * Split rule (documented in docs/provider-policy.md, "Partners"):
 * - Each node belongs to the owner of its link (linkOwner: local pool or partner).
 * - A CPP whose nodes all belong to one owner goes to that owner unchanged.
 * - A CPP whose nodes span n owners ("segments") is cut into n CPPs, one per owner, in the
 *   order local first, then partners by first appearance. Each piece keeps only its own nodes;
 *   scope outbound/inbound lose node ids of other pieces (prefixes stay); per-link capacities go
 *   to the owner of their link (to the first piece when that owner has no node here);
 *   qos.between stays only when both nodes are in the piece. Capacity is a bottleneck value,
 *   so each piece is asked the full capacity. Delay, jitter and loss add up along the path, so
 *   each piece is asked 1/n of every bound, preference and fixed value. Availability
 *   multiplies along the path, so each piece is asked the n-th root (100·(p/100)^(1/n)).
 *   Everything else is copied.
 * - Never split when options.scope is "local": RFC 8921 8.8 forbids recursion then, so a
 *   partner link makes the request fail with status 6 (no network presence). A link owned by
 *   nobody (no rule, no default pool) fails with 6 too.
 */

/** A child order to place with a partner: the CPD to send. */
export interface PartnerRequest {
  partnerId: string;
  cpd: Cpd;
}

/** Where a piece of a requested CPP went: the local CPD, or a partner's CPD, at `index`. */
export interface Segment {
  /** Absent: local. */
  partnerId?: string;
  index: number;
}

export interface PartnerPlan {
  ok: true;
  /** The Requested CPD the plan was made from. */
  request: Cpd;
  /** What this Provider decides (the whole request when no partner is involved). */
  local: Cpd;
  /** One child order per partner involved, in order of first appearance. */
  partners: PartnerRequest[];
  /** For each requested CPP (same index), its pieces. */
  pieces: Segment[][];
}

export interface PlanRefusal {
  ok: false;
  statusCode: typeof StatusCode.NETWORK_PRESENCE_ERROR;
  reasons: string[];
}

export type PlanResult = PartnerPlan | PlanRefusal;

const LOCAL = '';

const ownerKey = (o: ReturnType<typeof linkOwner>): string | undefined => (o.kind === 'local' ? LOCAL : o.kind === 'partner' ? o.partner : undefined);

function scaleNum(value: Num, f: (x: number) => number): Num {
  if (typeof value === 'number') return f(value);
  const out: { min?: number; max?: number; pref?: number } = {};
  if (value.min !== undefined) out.min = f(value.min);
  if (value.max !== undefined) out.max = f(value.max);
  if (value.pref !== undefined) out.pref = f(value.pref);
  return out;
}

/** The piece of `cpp` for one owner, with `n` segments in all (see the split rule above). */
function piece(cpp: Cpp, nodeIds: Set<string>, perLink: LinkCapacity[] | undefined, n: number): Cpp {
  const out = structuredClone(cpp);
  out.nodes = out.nodes.filter((node) => nodeIds.has(node.id));
  const allIds = new Set(cpp.nodes.map((node) => node.id));
  const keep = (endpoint: string): boolean => !allIds.has(endpoint) || nodeIds.has(endpoint);
  if (out.scope?.outbound) out.scope.outbound = out.scope.outbound.filter(keep);
  if (out.scope?.inbound) out.scope.inbound = out.scope.inbound.filter(keep);
  if (out.qos?.kind === 'quantitative') {
    const share = (x: number): number => x / n;
    if (out.qos.delayMs !== undefined) out.qos.delayMs = scaleNum(out.qos.delayMs, share);
    if (out.qos.jitterMs !== undefined) out.qos.jitterMs = scaleNum(out.qos.jitterMs, share);
    if (out.qos.lossPct !== undefined) out.qos.lossPct = scaleNum(out.qos.lossPct, share);
    if (out.qos.between && !out.qos.between.every((id) => nodeIds.has(id))) delete out.qos.between;
  }
  if (out.availability) out.availability.percent = scaleNum(out.availability.percent, (p) => 100 * (p / 100) ** (1 / n));
  if (out.capacity?.perLink) {
    if (perLink && perLink.length > 0) out.capacity.perLink = structuredClone(perLink);
    else delete out.capacity.perLink;
  }
  return out;
}

/** Splits a Requested CPD between this Provider and its partners (see the rule above). */
export function planPartners(policy: Policy, request: { cpd: Cpd; ies?: InformationElements }): PlanResult {
  const reasons: string[] = [];
  const local: Cpd = [];
  const partners: PartnerRequest[] = [];
  const pieces: Segment[][] = [];
  const recursionAllowed = request.ies?.options?.scope !== 'local';
  const partnerCpd = (id: string): Cpd => {
    let entry = partners.find((p) => p.partnerId === id);
    if (!entry) {
      entry = { partnerId: id, cpd: [] };
      partners.push(entry);
    }
    return entry.cpd;
  };

  request.cpd.forEach((cpp, i) => {
    // Owner of every node, in node order.
    const owners: string[] = [];
    const nodesOf = new Map<string, Set<string>>();
    const ownerOfLink = new Map<string, string>();
    for (const node of cpp.nodes) {
      const owner = linkOwner(policy, node.link);
      const key = ownerKey(owner);
      if (key === undefined) {
        reasons.push(`cpd[${i}] node "${node.id}": link "${node.link}" is in no pool and no partner's reach`);
        continue;
      }
      if (owner.kind === 'partner' && !recursionAllowed) {
        reasons.push(`cpd[${i}] node "${node.id}": link "${node.link}" belongs to partner "${owner.partner}", and options.scope "local" forbids child orders (RFC 8921 8.8)`);
        continue;
      }
      ownerOfLink.set(node.link, key);
      if (!nodesOf.has(key)) {
        nodesOf.set(key, new Set());
        owners.push(key);
      }
      nodesOf.get(key)?.add(node.id);
    }
    // Per-link capacities: owner of the link (a node's link first, else the catalog).
    const perLinkOf = new Map<string, LinkCapacity[]>();
    for (const entry of cpp.capacity?.perLink ?? []) {
      let key = ownerOfLink.get(entry.link);
      if (key === undefined) {
        const owner = linkOwner(policy, entry.link);
        key = ownerKey(owner);
        if (key === undefined) {
          reasons.push(`cpd[${i}] per-link capacity: link "${entry.link}" is in no pool and no partner's reach`);
          continue;
        }
        if (owner.kind === 'partner' && !recursionAllowed) {
          reasons.push(`cpd[${i}] per-link capacity: link "${entry.link}" belongs to partner "${owner.partner}", and options.scope "local" forbids child orders (RFC 8921 8.8)`);
          continue;
        }
      }
      if (!nodesOf.has(key)) key = owners[0] ?? LOCAL;
      perLinkOf.set(key, [...(perLinkOf.get(key) ?? []), entry]);
    }
    if (reasons.length > 0) return;
    // Local first, then partners by first appearance.
    owners.sort((a, b) => (a === LOCAL ? -1 : b === LOCAL ? 1 : 0));
    const segments: Segment[] = owners.map((owner) => {
      const cut = owners.length === 1 ? structuredClone(cpp) : piece(cpp, nodesOf.get(owner) ?? new Set(), perLinkOf.get(owner), owners.length);
      const target = owner === LOCAL ? local : partnerCpd(owner);
      target.push(cut);
      return { ...(owner === LOCAL ? {} : { partnerId: owner }), index: target.length - 1 };
    });
    pieces.push(segments);
  });

  if (reasons.length > 0) return { ok: false, statusCode: StatusCode.NETWORK_PRESENCE_ERROR, reasons };
  return { ok: true, request: structuredClone(request.cpd), local, partners, pieces };
}

// ---------------------------------------------------------------------------------------------
// Folding the offers back.

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const STRENGTH: Readonly<Record<Level, number>> = { low: 0, medium: 1, high: 2 };

function numbers(values: (Num | undefined)[]): number[] | undefined {
  return values.every((v): v is number => typeof v === 'number') ? values : undefined;
}

/** One CPP from the offered pieces of a split requested CPP (see docs/provider-policy.md). */
function mergePieces(requested: Cpp, offered: Cpp[]): Cpp {
  const [first] = offered;
  if (!first) throw new Error('no offered piece to merge');
  const merged = structuredClone(first);
  if (requested.component !== undefined) merged.component = requested.component;
  else delete merged.component;
  // Nodes in the requested order, each from the piece that offered it.
  const offeredNodes = offered.flatMap((cpp) => cpp.nodes);
  merged.nodes = requested.nodes.flatMap((node) => {
    const found = offeredNodes.find((o) => o.id === node.id);
    return found ? [structuredClone(found)] : [];
  });
  if (merged.scope && requested.scope) {
    if (requested.scope.outbound) merged.scope.outbound = [...requested.scope.outbound];
    if (requested.scope.inbound) merged.scope.inbound = [...requested.scope.inbound];
  }
  // Additive QoS metrics add up along the path; the weakest qualitative class bounds the whole.
  if (merged.qos?.kind === 'quantitative' && offered.every((cpp) => cpp.qos?.kind === 'quantitative')) {
    for (const key of ['delayMs', 'jitterMs', 'lossPct'] as const) {
      const values = numbers(offered.map((cpp) => (cpp.qos?.kind === 'quantitative' ? cpp.qos[key] : undefined)));
      if (values) merged.qos[key] = round6(values.reduce((a, b) => a + b, 0));
    }
    if (requested.qos?.kind === 'quantitative' && requested.qos.between) merged.qos.between = [...requested.qos.between];
  } else if (merged.qos?.kind === 'qualitative') {
    const classes = offered.map((cpp) => (cpp.qos?.kind === 'qualitative' ? cpp.qos.class : undefined));
    if (classes.every((c): c is Level => typeof c === 'string')) {
      merged.qos.class = classes.reduce((a, b) => (STRENGTH[b] < STRENGTH[a] ? b : a));
    }
  }
  // Availability multiplies along the path.
  const percents = numbers(offered.map((cpp) => cpp.availability?.percent));
  if (merged.availability && percents) merged.availability.percent = round6(100 * percents.reduce((acc, p) => acc * (p / 100), 1));
  // Capacity is the bottleneck: the smallest piece.
  if (merged.capacity) {
    for (const key of ['inMbps', 'outMbps'] as const) {
      const values = numbers(offered.map((cpp) => cpp.capacity?.[key]));
      if (values && values.length > 0) merged.capacity[key] = Math.min(...values);
    }
    const links = offered.flatMap((cpp) => cpp.capacity?.perLink ?? []);
    if (links.length > 0) {
      const order = (requested.capacity?.perLink ?? []).map((l) => l.link);
      const rank = (link: string): number => {
        const at = order.indexOf(link);
        return at < 0 ? order.length : at;
      };
      merged.capacity.perLink = structuredClone(links).sort((a, b) => rank(a.link) - rank(b.link));
    }
  }
  return merged;
}

/**
 * Folds the local offer and the partners' offers back into one Offered CPD in the order of
 * the request. Partner offers are paired with what was sent to them by position (the CPPs of
 * a child order's offer in the order of its request). A CPP cut into pieces becomes one CPP
 * again: nodes and per-link capacities in request order, capacity = the smallest piece's,
 * delay / jitter / loss = the sum of the pieces', availability = their product (both rounded
 * to 6 decimals), qualitative class = the weakest, other clauses from the first piece.
 * Throws when an offer is missing or has fewer CPPs than were asked for.
 */
export function mergeOffers(plan: PartnerPlan, localOffer: Cpd, partnerOffers: readonly PartnerRequest[]): Cpd {
  const offeredPiece = (segment: Segment): Cpp => {
    if (segment.partnerId === undefined) {
      const cpp = localOffer[segment.index];
      if (!cpp) throw new Error(`the local offer has no CPP ${segment.index} (it has ${localOffer.length})`);
      return cpp;
    }
    const offer = partnerOffers.find((p) => p.partnerId === segment.partnerId);
    if (!offer) throw new Error(`no offer from partner "${segment.partnerId}"`);
    const cpp = offer.cpd[segment.index];
    if (!cpp) throw new Error(`the offer of partner "${segment.partnerId}" has no CPP ${segment.index} (it has ${offer.cpd.length})`);
    return cpp;
  };
  return plan.request.map((requested, i) => {
    const segments = plan.pieces[i] ?? [];
    const offered = segments.map(offeredPiece);
    if (offered.length === 1 && offered[0]) return structuredClone(offered[0]);
    return mergePieces(requested, offered);
  });
}
