import type { Clock } from '../cpnp/clock';
import { dateTimeToMillis, type DateTime } from '../cpnp/date-time';
import { emptyOutput, type EngineOutput } from '../cpnp/engine/output';
import type { ActivationStatus } from '../cpnp/fsm/events';

/**
 * Scheduled activations of the reference Provider (RFC 8921 9.2.11: an ACTIVATE whose
 * ACTIVATION_SCHEDULE is a date-time asks for the service to be activated "at the specified
 * time", for orders negotiated with the activation type "scheduled").
 *
 * The server state machine records such a request as the agreement's activation sub-state
 * `{ status: 'scheduled', at }` and acknowledges it; nothing in the protocol fires later. This
 * scheduler is the part that does: it follows each order's activation sub-state (`sync`), keeps
 * one pending activation per order, exposes its due time (`nextDue`) so the provider's runner arms
 * its timer for it, and fires it (`fireDue`) as an event that the store persists (the
 * ScheduledActivation row is marked done, and the order's activation status becomes active).
 *
 * A later ACTIVATE (now, deactivate, or another date), a WITHDRAW or the end of the agreement
 * changes the sub-state, and `sync` drops the superseded entry. The entries are plain data, so
 * they are restored from the database after a restart; an activation that fell due while the
 * server was down fires on the first tick after restart. Pure: the clock is injected.
 */

export interface ScheduledActivationEntry {
  /** The Provider Order Identifier. */
  orderId: string;
  /** The ACTIVATION_SCHEDULE the client sent. */
  at: DateTime;
  /** `at` in milliseconds since the epoch. */
  dueAt: number;
  /** When it fired (ms since the epoch), once it has. */
  firedAt?: number;
}

/** The activation status the provider reports for an order (ProviderOrder.activationStatus). */
export type ProjectedActivation = 'none' | 'scheduled' | 'active' | 'inactive';

/** The cause of the event a firing produces (logged, and persisted as a state change). */
export const SCHEDULED_ACTIVATION_CAUSE = 'scheduled-activation';

export class ActivationScheduler {
  /** At most one entry per order: the activation its agreement currently has scheduled. */
  private readonly entries = new Map<string, ScheduledActivationEntry>();

  constructor(
    private readonly clock: Clock,
    initial: readonly ScheduledActivationEntry[] = [],
  ) {
    for (const entry of initial) this.entries.set(entry.orderId, { ...entry });
  }

  /**
   * Aligns the schedule with an order's activation sub-state (ServerOrderState.activation):
   * a new date is scheduled, the same date is kept as it is (fired or not), anything else
   * removes the order's entry.
   */
  sync(orderId: string, activation: ActivationStatus | undefined): void {
    const current = this.entries.get(orderId);
    if (activation?.status !== 'scheduled') {
      if (current !== undefined) this.entries.delete(orderId);
      return;
    }
    if (current?.at === activation.at) return;
    this.entries.set(orderId, { orderId, at: activation.at, dueAt: dateTimeToMillis(activation.at) });
  }

  /** The earliest activation not fired yet. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const entry of this.entries.values()) {
      if (entry.firedAt === undefined && (next === undefined || entry.dueAt < next)) next = entry.dueAt;
    }
    return next;
  }

  /** Fires every activation due at clock.now(), earliest first: one event per activation. */
  fireDue(): EngineOutput {
    const out = emptyOutput();
    const now = this.clock.now();
    const due = [...this.entries.values()].filter((e) => e.firedAt === undefined && e.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
    for (const entry of due) {
      entry.firedAt = now;
      out.events.push({
        kind: 'info',
        side: 'server',
        at: now,
        orderId: entry.orderId,
        from: 'scheduled',
        to: 'active',
        cause: SCHEDULED_ACTIVATION_CAUSE,
        detail: `activation scheduled for ${entry.at} is now in effect`,
      });
    }
    return out;
  }

  /** The status to report for an order whose activation sub-state is `activation`. */
  status(orderId: string, activation: ActivationStatus | undefined): ProjectedActivation {
    if (activation === undefined) return 'none';
    if (activation.status !== 'scheduled') return activation.status;
    const entry = this.entries.get(orderId);
    return entry?.at === activation.at && entry.firedAt !== undefined ? 'active' : 'scheduled';
  }

  get(orderId: string): ScheduledActivationEntry | undefined {
    const entry = this.entries.get(orderId);
    return entry === undefined ? undefined : { ...entry };
  }

  /** Every entry, fired or not (a copy). */
  list(): ScheduledActivationEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }
}
