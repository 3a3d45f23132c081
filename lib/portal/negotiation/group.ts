/**
 * The selection rule of a parallel negotiation group (RFC 8921 8.10): which offer the portal
 * accepts on the customer's behalf when the order was composed with a rule instead of a manual
 * choice. Pure.
 *
 * - "first": the first offer (by arrival) that meets every bound of the request; chosen as soon
 *   as it arrives.
 * - "cheapest": among the offers that meet every bound, the lowest price; chosen once every
 *   provider answered or the group deadline passed. CPNP carries no price (the reference
 *   Provider prices offers for its staff only), so offers without a price rank after priced
 *   ones and then by arrival: with today's providers "cheapest" is "first acceptable, once all
 *   answered".
 */
export interface GroupOffer {
  id: string;
  negotiationId: string;
  receivedAt: number;
  price?: number;
  /** diffCpd against the request found no "misses". */
  meetsBounds: boolean;
}

export type SelectionRule = 'first' | 'cheapest';

export function pickOffer(rule: SelectionRule, offers: readonly GroupOffer[], allAnswered: boolean): GroupOffer | undefined {
  const acceptable = offers.filter((o) => o.meetsBounds).sort((a, b) => a.receivedAt - b.receivedAt || a.id.localeCompare(b.id));
  if (rule === 'first') return acceptable[0];
  if (!allAnswered) return undefined;
  return [...acceptable].sort((a, b) => (a.price ?? Infinity) - (b.price ?? Infinity) || a.receivedAt - b.receivedAt || a.id.localeCompare(b.id))[0];
}
