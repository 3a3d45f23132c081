/**
 * What the Negotiation row shows of an engine order record (lib/cpnp ClientOrderRecord): the
 * columns the pages and the restore read, projected from the record that the host stores beside
 * them (engineRecord, the source of truth). Pure.
 */
import type { ClientOrderRecord } from '../../cpnp/engine/client-engine';
import { dateTimeToMillis } from '../../cpnp/date-time';

export interface NegotiationColumns {
  clientState: string;
  cancelReason: string | null;
  providerOrderId: string | null;
  alarm: string | null;
  alarmAt: Date | null;
  agreed: boolean;
  active: boolean;
  expectedResponseAt: Date | null;
  expectedOfferAt: Date | null;
  offerValidUntil: Date | null;
  moreTimeRequestedUntil: Date | null;
  nextRetransmitAt: Date | null;
  agreementCpd: string | null;
  engineRecord: string;
}

function timerAt(rec: ClientOrderRecord, kind: string): Date | null {
  const timer = rec.timers.find((t) => t.kind === kind);
  return timer === undefined ? null : new Date(timer.dueAt);
}

export function projectRecord(rec: ClientOrderRecord): NegotiationColumns {
  const open = (rec.alarms ?? []).filter((a) => a.open);
  const alarm = open[open.length - 1];
  const requested = rec.fsm.moreTimeRequested;
  return {
    clientState: rec.fsm.state,
    cancelReason: rec.fsm.cancelReason ?? null,
    providerOrderId: rec.providerOrderId ?? null,
    alarm: alarm?.kind ?? null,
    alarmAt: alarm === undefined ? null : new Date(alarm.raisedAt),
    agreed: rec.fsm.hasAgreement,
    active: rec.fsm.activation?.status === 'active',
    expectedResponseAt: timerAt(rec, 'expectedResponse'),
    expectedOfferAt: timerAt(rec, 'expectedOffer'),
    offerValidUntil: timerAt(rec, 'validityOffer'),
    moreTimeRequestedUntil: requested === undefined ? null : new Date(dateTimeToMillis(requested)),
    nextRetransmitAt: timerAt(rec, 'retransmit') ?? timerAt(rec, 'requery'),
    agreementCpd: rec.agreement === undefined ? null : JSON.stringify(rec.agreement.cpd),
    engineRecord: JSON.stringify(rec),
  };
}

/** Whether the host must keep the order in memory after a restart: not finished, or an alarm open. */
export function needsRestore(rec: ClientOrderRecord): boolean {
  const finished = rec.fsm.state === 'Cancelled' && rec.fsm.outstanding === undefined && rec.timers.length === 0;
  return !finished || (rec.alarms ?? []).some((a) => a.open);
}
