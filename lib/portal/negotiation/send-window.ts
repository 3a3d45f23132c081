/**
 * The engine host's send window: at most `size` requests in flight per provider.
 *
 * A request is in flight from the moment the host commits it (QUOTATION, ACCEPT, UPDATE,
 * WITHDRAW, ACTIVATE, CANCEL…) until the provider answers it — exactly while the engine keeps a
 * retransmission timer for it (RFC 8921 11.4: the sender retransmits until an answer arrives or
 * the maximum retry is reached). The host asks `admits()` before it applies an intent that
 * sends to a provider; an intent that does not fit stays pending in the queue (the order shows
 * it as queued) and is applied once an answer frees a slot.
 *
 * Why: without it, 1,000 approvals at once put 1,000 QUOTATIONs on one DTLS association within
 * seconds; the provider's socket and engine fell behind, answers came after RETRANS_TIMER, the
 * retransmissions doubled the load, and 237–268 of 1,000 negotiations ended Cancelled after
 * MAX_RETRIES (docs/benchmarks.md, issue 9). CPNP runs over UDP without congestion control of
 * its own, and RFC 8085 (UDP Usage Guidelines, BCP 145) section 3.1 asks an application that
 * uses UDP to limit the traffic it puts in the network; a request/response protocol does so by
 * bounding its outstanding requests, as TCP bounds its unacknowledged segments with a window.
 * RFC 8921 11.4 leaves the retransmission policy to local policy; the window changes no
 * message, sequence number or timer, only when a new transaction starts.
 *
 * Pure bookkeeping: the host feeds it every order its commit hook writes (`track`).
 */

import type { ClientOrderRecord } from '../../cpnp/engine/client-engine';

export const DEFAULT_SEND_WINDOW = 32;

export class SendWindow {
  readonly size: number;
  /** provider key → orders with an unanswered request to it. */
  private readonly inFlightBy = new Map<string, Set<string>>();
  /** order → the provider key it is counted under. */
  private readonly providerOf = new Map<string, string>();

  constructor(size: number = DEFAULT_SEND_WINDOW) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`send window must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Records whether `orderId` (negotiated with `provider`) has a request awaiting an answer.
   * Returns true when this freed a slot. */
  track(provider: string, orderId: string, inFlight: boolean): boolean {
    const previous = this.providerOf.get(orderId);
    if (inFlight) {
      if (previous === provider) return false;
      const freed = previous !== undefined && this.remove(previous, orderId);
      this.providerOf.set(orderId, provider);
      let set = this.inFlightBy.get(provider);
      if (!set) {
        set = new Set();
        this.inFlightBy.set(provider, set);
      }
      set.add(orderId);
      return freed;
    }
    if (previous === undefined) return false;
    this.providerOf.delete(orderId);
    return this.remove(previous, orderId);
  }

  /** Requests in flight to `provider`. */
  inFlight(provider: string): number {
    return this.inFlightBy.get(provider)?.size ?? 0;
  }

  /**
   * Whether the requests an intent would send may start now. An order already in flight takes
   * no new slot (its new request replaces the unanswered one, e.g. a CANCEL). Each provider must
   * have room for its new orders; a provider with nothing in flight always admits, so a window
   * smaller than one intent's requests cannot block it forever.
   */
  admits(requests: readonly { provider: string; orderId: string }[]): boolean {
    const wanted = new Map<string, number>();
    for (const r of requests) {
      if (this.providerOf.has(r.orderId)) continue;
      wanted.set(r.provider, (wanted.get(r.provider) ?? 0) + 1);
    }
    for (const [p, n] of wanted) {
      const busy = this.inFlight(p);
      if (busy > 0 && busy + n > this.size) return false;
    }
    return true;
  }

  /** Whether every one of `providers` is full (nothing for them can start). */
  allFull(providers: Iterable<string>): boolean {
    for (const p of providers) if (this.inFlight(p) < this.size) return false;
    return true;
  }

  private remove(provider: string, orderId: string): boolean {
    const set = this.inFlightBy.get(provider);
    if (!set?.delete(orderId)) return false;
    if (set.size === 0) this.inFlightBy.delete(provider);
    return true;
  }
}

/** Whether the engine waits for the provider's answer to a request of this order: it keeps a
 * retransmission timer exactly as long (RFC 8921 11.4). */
export function awaitsAnswer(rec: Pick<ClientOrderRecord, 'timers'>): boolean {
  return rec.timers.some((t) => t.kind === 'retransmit');
}
