/**
 * The order's aggregate state from its negotiations' client states (RFC 8921 Figure 8), for
 * the engine host to store in Order.state after each step. Before approval the order's own
 * state (Draft, Created, Rejected) stands.
 *
 *   any agreement in force                    -> Completed
 *   any ACCEPT in flight                      -> Accepting
 *   any offer waiting for the customer        -> OfferReceived
 *   any QUOTATION/UPDATE in flight            -> Negotiating
 *   any not yet sent (approved)               -> AwaitingProcessing
 *   all ended, one was withdrawn              -> Withdrawn
 *   all ended otherwise                       -> Cancelled
 */
import type { OrderState } from '../db/types';

export interface NegotiationSummary {
  clientState: string;
  agreed: boolean;
  cancelReason: string | null;
}

export function aggregateOrderState(current: OrderState, negotiations: NegotiationSummary[]): OrderState {
  if (current === 'Draft' || current === 'Created' || current === 'Rejected') return current;
  const has = (pred: (n: NegotiationSummary) => boolean) => negotiations.some(pred);
  if (has((n) => n.clientState === 'Completed' && n.agreed)) return 'Completed';
  if (has((n) => n.clientState === 'AcceptSent')) return 'Accepting';
  if (has((n) => n.clientState === 'OfferReceived' || n.clientState === 'OfferProcessing')) return 'OfferReceived';
  if (has((n) => n.clientState === 'PQOSent' || n.clientState === 'ServerProcessing')) return 'Negotiating';
  if (has((n) => n.clientState === 'Created' || n.clientState === 'AwaitingProcessing')) return 'AwaitingProcessing';
  if (has((n) => n.cancelReason === 'withdrawn')) return 'Withdrawn';
  return 'Cancelled';
}
