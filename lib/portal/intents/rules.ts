/**
 * Which intents are valid in an order's current state: the single source for the service
 * (enqueueIntent refuses anything else with 'wrong-state') and for the UI (only valid buttons
 * are shown). Pure; the engine host re-checks against the engine when it applies an intent.
 *
 * Client states are those of RFC 8921 Figure 8 (lib/cpnp CLIENT_STATES).
 */
import type { IntentKind, OrderState } from '../db/types';

export interface NegotiationFacts {
  id: string;
  clientState: string;
  agreed: boolean;
  active: boolean;
  /** The provider asked for more time and nobody answered yet. */
  moreTimeRequested: boolean;
  /** Offers not yet decided. */
  pendingOfferIds: string[];
}

export interface OrderFacts {
  state: OrderState;
  /** Negotiated with activationType "scheduled" (ACTIVATE switches the service, 9.2.11). */
  scheduled: boolean;
  negotiations: NegotiationFacts[];
  /** Kinds already queued and not processed, per negotiation (null: order-wide). */
  pending: { kind: string; negotiationId: string | null }[];
}

/** Client states in which the order may still be cancelled (before an agreement, 9.2.5). */
const CANCELLABLE = new Set(['AwaitingProcessing', 'PQOSent', 'ServerProcessing', 'OfferReceived', 'OfferProcessing']);

/** An offer waits for the customer: OfferReceived, or OfferProcessing once the host answered the
 * OFFER with PROCESSING (Figure 6; the engine host does so at once so the provider stops
 * retransmitting while a person decides). */
const OFFER_OPEN = new Set(['OfferReceived', 'OfferProcessing']);

/** The negotiations an intent of `kind` may target now. */
export function validTargets(kind: IntentKind, order: OrderFacts): NegotiationFacts[] {
  const n = order.negotiations;
  switch (kind) {
    case 'approve':
      return order.state === 'Created' ? n : [];
    case 'accept':
    case 'decline':
      return n.filter((x) => OFFER_OPEN.has(x.clientState) && x.pendingOfferIds.length > 0);
    case 'choose-offer':
      // A parallel group (8.10): pick one offer, the others are declined with reason 2.
      return n.length > 1 ? n.filter((x) => OFFER_OPEN.has(x.clientState) && x.pendingOfferIds.length > 0) : [];
    case 'cancel':
      return n.filter((x) => CANCELLABLE.has(x.clientState));
    case 'withdraw':
    case 'update':
      return n.filter((x) => x.clientState === 'Completed' && x.agreed);
    case 'activate':
      return order.scheduled ? n.filter((x) => x.clientState === 'Completed' && x.agreed && !x.active) : [];
    case 'deactivate':
      return order.scheduled ? n.filter((x) => x.clientState === 'Completed' && x.agreed && x.active) : [];
    case 'grant-time':
    case 'deny-time':
      return n.filter((x) => x.clientState === 'ServerProcessing' && x.moreTimeRequested);
  }
}

/**
 * Kinds that answer the same question: once one is pending for a negotiation, the others are
 * refused (an offer is accepted or declined, more time granted or denied, not both).
 */
const FAMILIES: readonly (readonly IntentKind[])[] = [['accept', 'decline', 'choose-offer'], ['grant-time', 'deny-time'], ['activate', 'deactivate']];

export function sameFamily(a: string, b: string): boolean {
  return a === b || FAMILIES.some((f) => (f as readonly string[]).includes(a) && (f as readonly string[]).includes(b));
}

/** Intents that act on the whole order rather than on one negotiation. */
export const ORDER_WIDE: ReadonlySet<IntentKind> = new Set(['approve']);

export type IntentCheck =
  | { ok: true; negotiationIds: string[] }
  | { ok: false; code: 'wrong-state' | 'conflict'; message: string };

/**
 * Whether `kind` may be queued for `negotiationId` (or, when undefined, for every valid
 * negotiation, e.g. cancel all). Refuses a duplicate of an intent still pending.
 */
export function checkIntent(kind: IntentKind, order: OrderFacts, negotiationId: string | undefined): IntentCheck {
  const targets = validTargets(kind, order);
  if (targets.length === 0) return { ok: false, code: 'wrong-state', message: `"${kind}" is not possible while the order is ${order.state}.` };
  let chosen = targets;
  if (negotiationId !== undefined) {
    chosen = targets.filter((t) => t.id === negotiationId);
    if (chosen.length === 0) return { ok: false, code: 'wrong-state', message: `"${kind}" is not possible for that provider now.` };
  } else if (!ORDER_WIDE.has(kind) && kind !== 'cancel' && targets.length > 1) {
    return { ok: false, code: 'wrong-state', message: `Say which provider "${kind}" is for.` };
  }
  const ids = ORDER_WIDE.has(kind) ? [] : chosen.map((t) => t.id);
  const dup = order.pending.some((p) => sameFamily(p.kind, kind) && (ORDER_WIDE.has(kind) ? true : p.negotiationId !== null && ids.includes(p.negotiationId)));
  if (dup) return { ok: false, code: 'conflict', message: `"${kind}" is already on its way.` };
  return { ok: true, negotiationIds: ids };
}

/** Every kind the customer may queue now (for the detail page's buttons). */
export function availableIntents(order: OrderFacts): { kind: IntentKind; negotiationIds: string[] }[] {
  const kinds: IntentKind[] = ['accept', 'decline', 'choose-offer', 'cancel', 'withdraw', 'update', 'activate', 'deactivate', 'grant-time', 'deny-time'];
  const out: { kind: IntentKind; negotiationIds: string[] }[] = [];
  for (const kind of kinds) {
    const targets = validTargets(kind, order).filter(
      (t) => !order.pending.some((p) => sameFamily(p.kind, kind) && p.negotiationId === t.id),
    );
    if (targets.length > 0) out.push({ kind, negotiationIds: targets.map((t) => t.id) });
  }
  return out;
}
