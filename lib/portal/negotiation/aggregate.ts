/**
 * The order's aggregate state (lib/portal/db/types.ts ORDER_STATES) from its negotiations'
 * client states (RFC 8921 Figure 8). Pure: the host recomputes it in the same transaction as
 * every engine step, so the list and the detail page never disagree with the negotiations.
 */
import type { OrderState } from '../db/types';

export interface NegotiationSummary {
  clientState: string;
  cancelReason: string | null;
  agreed: boolean;
}

export interface AggregateState {
  state: OrderState;
  reason: string | null;
}

const NEGOTIATING = new Set(['PQOSent', 'ServerProcessing']);
const OFFERED = new Set(['OfferReceived', 'OfferProcessing']);

/**
 * `current` is the order's stored state: Draft, Created and Rejected belong to the web layer
 * (compose, approvals) and only an engine step past approval moves the order on.
 */
export function aggregateState(current: OrderState, negotiations: readonly NegotiationSummary[]): AggregateState {
  if (current === 'Draft' || current === 'Rejected' || negotiations.length === 0) return { state: current, reason: null };
  const states = negotiations.map((n) => n.clientState);
  if (states.every((s) => s === 'Created')) return { state: current, reason: null };
  // An agreement in force wins: an UPDATE cycle on top of it is "Negotiating" only while no
  // other negotiation still needs the customer.
  if (negotiations.some((n) => n.clientState === 'AcceptSent')) return { state: 'Accepting', reason: null };
  if (negotiations.some((n) => OFFERED.has(n.clientState))) return { state: 'OfferReceived', reason: null };
  if (negotiations.some((n) => NEGOTIATING.has(n.clientState))) return { state: 'Negotiating', reason: null };
  if (negotiations.some((n) => n.clientState === 'AwaitingProcessing')) return { state: 'AwaitingProcessing', reason: null };
  if (negotiations.some((n) => n.clientState === 'Completed' && n.agreed)) return { state: 'Completed', reason: null };
  // Every negotiation ended without an agreement in force.
  const reasons = negotiations.map((n) => n.cancelReason ?? 'cancelled');
  if (reasons.includes('withdrawn')) return { state: 'Withdrawn', reason: 'withdrawn' };
  if (reasons.every((r) => r === 'rejected')) return { state: 'Rejected', reason: 'rejected' };
  const order = ['cancelled', 'declined', 'timeout', 'expired', 'failed', 'rejected'];
  const reason = order.find((r) => reasons.includes(r)) ?? reasons[0] ?? 'cancelled';
  return { state: 'Cancelled', reason };
}
