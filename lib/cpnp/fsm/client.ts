/**
 * The client's order state machine — RFC 8921 8.11.1, Figure 8 (redrawn):
 *
 *   +------------------+
 *   |     Created      |------------------------------+
 *   +------------------+                              |
 *            |                                        |
 *            v                                        |
 *   +------------------+                              |
 *   |AwaitingProcessing|----------------------------+ |
 *   +------------------+                            | |
 *            |                                      | |
 *     QUOTATION/UPDATE                              | |
 *            v                                      | |
 *   +------------------+                            | |
 *   |     PQOSent      |---CANCEL-----------------+ | |
 *   +------------------+                          v v v
 *            |                                   +-----+
 *        PROCESSING                              |     |
 *            v                                   |  C  |
 *   +------------------+        CANCEL           |  A  |
 *   | ServerProcessing |------------------------>|  N  |
 *   +------------------+         FAIL            |  C  |
 *            |                                   |  E  |
 *          OFFER                                 |  L  |
 *            v                                   |  L  |
 *   +------------------+                         |  E  |
 *   |  OfferReceived   |---CANCEL--------------->|  D  |
 *   +------------------+                         |     |
 *            |                                   +-----+
 *        PROCESSING                               ^ ^ ^
 *            v                                    | | |
 *   +------------------+                          | | |
 *   | OfferProcessing  |---DECLINE----------------+ | |
 *   +------------------+                            | |
 *            |                                      | |
 *          ACCEPT                                   | |
 *            v                                      | |
 *   +------------------+                            | |
 *   |    AcceptSent    |---CANCEL-------------------+ |
 *   +------------------+                              |
 *            |                                        |
 *           ACK                                       |
 *            v                                        |
 *   +------------------+                              |
 *   |    Completed     |---WITHDRAW-------------------+
 *   +------------------+
 *
 * Labels are the message sent (QUOTATION/UPDATE, PROCESSING after an OFFER, ACCEPT, DECLINE,
 * CANCEL, WITHDRAW) or received (PROCESSING, OFFER, FAIL, ACK). The full table, including
 * timers and the clarifications of the figure, is CLIENT_TRANSITIONS below and is explained
 * in docs/state-machines.md. Key clarification: an UPDATE cycle that ends without a new
 * agreement (FAIL, DECLINE, CANCEL, timeout) returns to Completed with the old agreement
 * intact, because the RFC only makes WITHDRAW end an agreement (9.2.8, 9.2.9).
 */
import { dateTimeToMillis, type DateTime } from '../date-time';
import type { DeclineReasonValue } from '../decline-reason';
import type { ActivationType } from '../information-elements';
import type { ActivationSchedule } from '../message';
import type { ProcessingSubcodeValue } from '../processing-subcode';
import { StatusCode, type StatusCodeValue } from '../status-code';
import {
  activationFromSchedule,
  activationOnAgreement,
  runTable,
  send,
  type AlarmEffect,
  type CancelTimerEffect,
  type NegotiationTerms,
  type NotifyEffect,
  type OrderCycleState,
  type Outcome,
  type Refusal,
  type RuleTable,
  type SendEffect,
  type StartTimerEffect,
  type Step,
} from './events';
import { CANCEL_REASONS, CLIENT_STATES, type CancelReason, type ClientState } from './states';

/** Requests the client sends and then waits an answer for (retransmitted, RFC 8921 11.4). */
export const CLIENT_REQUESTS = ['QUOTATION', 'UPDATE', 'ACCEPT', 'DECLINE', 'CANCEL', 'WITHDRAW', 'ACTIVATE'] as const;
export type ClientRequest = (typeof CLIENT_REQUESTS)[number];

/** The request of this order that still waits for its answer. */
export interface ClientOutstanding {
  method: ClientRequest;
  /**
   * RETRANS_TIMER is running (11.4). False after an interim PROCESSING answer (11.4), and
   * while a withdrawal waits for its next retry cycle (11.1.2).
   */
  retransmitting: boolean;
  /** ACTIVATE only: the schedule asked for, applied when the ACK arrives. */
  activationSchedule?: ActivationSchedule;
  /**
   * Interim PROCESSING answers received (11.4): the partner has the request and will answer
   * later. The client keeps a deadline anyway: it re-sends the request (same bytes, same seq)
   * every re-query interval, and the server answers with its final answer once it exists (C9).
   */
  interim?: number;
  /**
   * The request went unanswered after the last retry, or stayed pending too long: what the
   * server concluded is unknown (an alarm was raised). A final answer still settles it (C10).
   */
  unknown?: boolean;
  /** Re-query rounds made so far (interim or unknown): bounded by the engine's configuration. */
  requeries?: number;
}

/**
 * The persisted client-side order (plain JSON). Invariants are listed in clientOrderProblems.
 */
export interface ClientOrderState extends OrderCycleState<ClientState> {
  /** ServerProcessing only: the new EXPECTED_OFFER_TIME the server asked for (9.2.2), unanswered. */
  moreTimeRequested?: DateTime;
  outstanding?: ClientOutstanding;
  /**
   * AcceptSent only: the application cancelled while the ACCEPT waits for its answer. No CANCEL
   * is sent, because it could cross the server's ACK (C23); the answer decides: an ACK concludes
   * the agreement, which is then withdrawn at once (quotation cycle), a FAIL ends the cycle.
   */
  cancelRequested?: boolean;
}

export type ClientTimer = 'expectedResponse' | 'expectedOffer' | 'validityOffer' | 'retransmit' | 'withdrawalRetry' | 'requery';

export type ClientNotice =
  | 'evaluateOffer' // an offer waits for the negotiation logic (11.1.1)
  | 'decideMoreTime' // the server asked for more time: grant (ACK) or refuse (FAIL 7)
  | 'agreementReached'
  | 'cycleEnded' // the negotiation cycle ended without agreement (see cancelReason/updateEndedBy)
  | 'requestAnswered' // an ACK closed a CANCEL/DECLINE/WITHDRAW/ACTIVATE transaction
  | 'requestFailed' // a FAIL answered such a request
  | 'requestUnanswered' // retries exhausted for such a request
  | 'cancelDeferred' // cancel while an ACCEPT is outstanding: the ACCEPT's answer decides (C23)
  | 'outcomeKnown'; // a final answer settled a request whose outcome was unknown (C10)

export type ClientEffect =
  | SendEffect
  | StartTimerEffect<ClientTimer>
  | CancelTimerEffect<ClientTimer>
  | NotifyEffect<ClientNotice>
  | AlarmEffect;

/** Events: local commands, received messages (already validated, RFC 10.1) and timers. */
export type ClientEvent =
  // local commands
  | { type: 'adminApprove' } // 8.11.1 Created → AwaitingProcessing
  | { type: 'adminReject' }
  | { type: 'sendQuotation'; expectedResponseTime?: DateTime; activationType?: ActivationType }
  | { type: 'sendUpdate'; expectedResponseTime: DateTime; activationType?: ActivationType }
  | { type: 'processOffer' } // sends PROCESSING (Figure 6)
  | { type: 'accept' }
  | { type: 'decline'; reasons?: DeclineReasonValue[] }
  | { type: 'cancel' }
  | { type: 'withdraw' }
  | { type: 'activate'; schedule: ActivationSchedule }
  | { type: 'grantMoreTime' } // ACK carrying the granted time (9.2.6)
  | { type: 'refuseMoreTime' } // FAIL 7 (9.2.10)
  | { type: 'stopRetrying' } // administrator instruction (11.1.2): give up an unanswered request
  // received messages
  | {
      type: 'processingReceived';
      expectedOfferTime?: DateTime;
      /** Set by the runtime: the request got as many interim answers as it may (C9). */
      overdue?: boolean;
    }
  | { type: 'moreTimeRequestReceived'; expectedOfferTime: DateTime; processingSubcode?: ProcessingSubcodeValue }
  | {
      type: 'offerReceived';
      validityOfferTime: DateTime;
      activationType?: ActivationType;
      activationSchedule?: ActivationSchedule;
    }
  | { type: 'ackReceived' }
  | { type: 'failReceived'; statusCode: StatusCodeValue }
  // timers
  | { type: 'expectedResponseTimeout' }
  | { type: 'expectedOfferTimeout' }
  | { type: 'validityOfferTimeout' }
  | { type: 'retransmitTimeout' }
  | {
      type: 'retriesExhausted';
      /** Set by the runtime: another re-query round is allowed for an unknown outcome (C10). */
      requery?: boolean;
    }
  | { type: 'withdrawalRetryDue' }
  | { type: 'requeryDue' }; // re-send a pending or unknown request (C9, C10); also an operator's "retry now"

export type ClientEventType = ClientEvent['type'];

export const CLIENT_EVENT_TYPES = [
  'adminApprove',
  'adminReject',
  'sendQuotation',
  'sendUpdate',
  'processOffer',
  'accept',
  'decline',
  'cancel',
  'withdraw',
  'activate',
  'grantMoreTime',
  'refuseMoreTime',
  'stopRetrying',
  'processingReceived',
  'moreTimeRequestReceived',
  'offerReceived',
  'ackReceived',
  'failReceived',
  'expectedResponseTimeout',
  'expectedOfferTimeout',
  'validityOfferTimeout',
  'retransmitTimeout',
  'retriesExhausted',
  'withdrawalRetryDue',
  'requeryDue',
] as const satisfies readonly ClientEventType[];

export type ClientOutcome = Outcome<ClientOrderState, ClientEffect, ClientState>;
type ClientStep = Step<ClientOrderState, ClientEffect>;

/** A new local order: Created, waiting for the administrator (8.11.1, 11.1.1). */
export function createClientOrder(): ClientOrderState {
  return { state: 'Created', cycle: 'quotation', hasAgreement: false };
}

/**
 * Tells a time-extension request from an ordinary PROCESSING (9.2.2): a PROCESSING with an
 * EXPECTED_OFFER_TIME asks for more time when the server already confirmed the order, or
 * when it gives a PROCESSING_SUBCODE (the reason for wanting more time, Table 2).
 */
export function isMoreTimeRequest(
  order: ClientOrderState,
  message: { expectedOfferTime?: DateTime; processingSubcode?: ProcessingSubcodeValue },
  /** The client's own deadline for the offer (its EXPECTED_RESPONSE_TIME), in ms, if it has one. */
  deadline?: number,
): boolean {
  if (message.expectedOfferTime === undefined) return false;
  if (order.state === 'ServerProcessing') return true;
  if (order.state !== 'PQOSent') return false;
  // 9.1.7, 11.1.1: a time later than the one the client asked for is the client's decision.
  return message.processingSubcode !== undefined || (deadline !== undefined && dateTimeToMillis(message.expectedOfferTime) > deadline);
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const start = (timer: ClientTimer, at?: DateTime): ClientEffect => ({ type: 'startTimer', timer, at });
const stop = (...timers: ClientTimer[]): ClientEffect[] => timers.map((timer) => ({ type: 'cancelTimer', timer }));
const notify = (what: ClientNotice): ClientEffect => ({ type: 'notify', what });
const refuse = (reason: string, code?: string): Refusal => (code === undefined ? { refuse: reason } : { refuse: reason, code });

/** Every timer that belongs to a negotiation cycle. */
const CYCLE_TIMERS: ClientTimer[] = ['expectedResponse', 'expectedOffer', 'validityOffer', 'retransmit'];

function outstanding(method: ClientRequest, activationSchedule?: ActivationSchedule): ClientOutstanding {
  return { method, retransmitting: true, activationSchedule };
}

/**
 * Ends the negotiation cycle in progress without agreement. A QUOTATION cycle ends the order
 * (Cancelled); an UPDATE cycle falls back to Completed and keeps the existing agreement,
 * since only WITHDRAW ends an agreement (9.2.8, 9.2.9: after a FAIL "the client may initiate
 * a new ... UPDATE", which needs the agreement to still be Completed).
 */
function endCycle(order: ClientOrderState, reason: CancelReason, request?: ClientOutstanding): ClientOrderState {
  const base = { cycle: order.cycle, outstanding: request };
  if (order.cycle === 'update' && order.hasAgreement) {
    return {
      ...base,
      state: 'Completed',
      hasAgreement: true,
      updateEndedBy: reason,
      activationType: order.activationType,
      activation: order.activation,
    };
  }
  return { ...base, state: 'Cancelled', hasAgreement: false, cancelReason: reason };
}

/** Sends CANCEL and ends the cycle (9.2.7; 8.5 for the response timer). */
function cancelCycle(order: ClientOrderState, reason: CancelReason): ClientStep {
  return {
    next: endCycle(order, reason, outstanding('CANCEL')),
    effects: [...stop(...CYCLE_TIMERS), send('CANCEL'), start('retransmit'), notify('cycleEnded')],
  };
}

/** Ends the cycle without sending anything (FAIL received, offer expired, retries exhausted). */
function dropCycle(order: ClientOrderState, reason: CancelReason, extra: ClientEffect[] = []): ClientStep {
  return { next: endCycle(order, reason), effects: [...stop(...CYCLE_TIMERS), ...extra, notify('cycleEnded')] };
}

/** Resend the outstanding request unchanged while RETRANS_TIMER runs (11.1.1, 11.4). */
function retransmit(order: ClientOrderState): ClientStep | Refusal {
  if (!order.outstanding?.retransmitting) return refuse('no request is being retransmitted');
  return {
    next: order,
    effects: [send(order.outstanding.method, { retransmission: true }), start('retransmit')],
  };
}

/**
 * 11.4: a PROCESSING answering a request means "received, answer later". Retransmission stops,
 * but the request keeps a deadline (C9): the requery timer re-sends it later, and the server
 * answers that copy with its final answer once it has one (or PROCESSING again). After too many
 * interim answers (`overdue`) the outcome is declared unknown with the alarm answerOverdue.
 */
function interimAnswer(order: ClientOrderState, event: Extract<ClientEvent, { type: 'processingReceived' }>): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request || request.method === 'QUOTATION' || request.method === 'UPDATE') {
    return refuse('PROCESSING does not answer any outstanding request here (10.1)');
  }
  if (event.overdue) return unknownOutcome(order, 'answerOverdue', false);
  return {
    next: { ...order, outstanding: { ...request, retransmitting: false, interim: (request.interim ?? 0) + 1 } },
    effects: [...stop('retransmit', 'requery'), start('requery')],
  };
}

/**
 * The request's outcome at the server is unknown (C10): keep the request, raise the alarm once,
 * and, when the runtime allows another round, re-query later by re-sending the same bytes
 * (11.4: the server answers a repeated request with its stored answer).
 */
function unknownOutcome(order: ClientOrderState, alarm: AlarmEffect['reason'], requery: boolean): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request) return refuse('no request is outstanding');
  const first = request.unknown !== true;
  return {
    next: { ...order, outstanding: { ...request, retransmitting: false, unknown: true } },
    effects: [
      ...stop('retransmit', 'requery'),
      ...(first ? [{ type: 'alarm', reason: alarm } as const, notify('requestUnanswered')] : []),
      ...(requery ? [start('requery')] : []),
    ],
  };
}

/** The requery timer fired (or an operator asked): re-send the pending or unknown request. */
function requery(order: ClientOrderState): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request || request.retransmitting || (request.interim === undefined && request.unknown !== true)) {
    return refuse('no pending or unknown request to re-query', 'wrong-state');
  }
  return {
    next: { ...order, outstanding: { ...request, retransmitting: true, requeries: (request.requeries ?? 0) + 1 } },
    effects: [...stop('requery'), send(request.method, { retransmission: true }), start('retransmit')],
  };
}

/** A final answer arrived for a request whose outcome was unknown: the alarm is settled. */
const settled = (request: ClientOutstanding | undefined): ClientEffect[] => (request?.unknown ? [notify('outcomeKnown')] : []);

/**
 * An ACK closing the outstanding CANCEL/DECLINE/WITHDRAW/ACTIVATE transaction (9.2.6). Its
 * CPD flavour was checked by validation (10.1).
 */
function closeRequest(order: ClientOrderState): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request) return refuse('no request waits for an ACK');
  const next: ClientOrderState = { ...order, outstanding: undefined };
  if (request.method === 'ACTIVATE' && request.activationSchedule !== undefined) {
    next.activation = activationFromSchedule(request.activationSchedule);
  }
  return { next, effects: [...stop('retransmit', 'withdrawalRetry', 'requery'), ...settled(request), notify('requestAnswered')] };
}

/** A FAIL answering the outstanding request. A refused WITHDRAW leaves the agreement's fate unknown. */
function failRequest(order: ClientOrderState): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request) return refuse('no request waits for an answer');
  const alarm: ClientEffect[] = request.method === 'WITHDRAW' ? [{ type: 'alarm', reason: 'withdrawalRefused' }] : [];
  return {
    next: { ...order, outstanding: undefined },
    effects: [...stop('retransmit', 'withdrawalRetry', 'requery'), ...settled(request), ...alarm, notify('requestFailed')],
  };
}

/**
 * 11.1.2: when a WITHDRAW stays unanswered after the last retry, alarm the administrator and
 * schedule another withdrawal cycle, not more often than every 60 s (the text also asks for
 * 300 s; we keep 60 s as the hard bound and 300 s as the default spacing). An unanswered
 * ACTIVATE also alarms: the server may have switched the service on or off already (9.2.11),
 * so the activation the client records may be wrong, exactly as an unanswered ACCEPT (C10).
 */
function requestUnanswered(order: ClientOrderState): ClientStep | Refusal {
  const request = order.outstanding;
  if (!request) return refuse('no request is outstanding');
  if (request.method === 'WITHDRAW') {
    if (!request.retransmitting) return refuse('the withdrawal already waits for its next retry cycle');
    return {
      next: { ...order, outstanding: { method: 'WITHDRAW', retransmitting: false, unknown: true } },
      effects: [
        ...stop('retransmit', 'requery'),
        ...(request.unknown ? [] : [{ type: 'alarm', reason: 'withdrawalUnanswered' } as const]),
        { type: 'startTimer', timer: 'withdrawalRetry', minDelaySeconds: 60, preferredDelaySeconds: 300 },
      ],
    };
  }
  const alarm: ClientEffect[] = request.method === 'ACTIVATE' ? [{ type: 'alarm', reason: 'activationUnanswered' }] : [];
  return { next: { ...order, outstanding: undefined }, effects: [...stop('retransmit', 'requery'), ...alarm, notify('requestUnanswered')] };
}

const idle = (order: ClientOrderState): Refusal | undefined =>
  order.outstanding ? refuse(`${order.outstanding.method} still waits for its answer`, 'busy') : undefined;

/** An offer arrives (9.2.3, 11.1.1): wait at most VALIDITY_OFFER_TIME for our decision. */
function offerArrives(order: ClientOrderState, event: Extract<ClientEvent, { type: 'offerReceived' }>): ClientStep {
  const terms: NegotiationTerms = {
    activationType: event.activationType ?? order.terms?.activationType,
    activationSchedule: event.activationSchedule,
  };
  const { moreTimeRequested: _answered, outstanding: _answer, ...rest } = order;
  return {
    next: { ...rest, state: 'OfferReceived', terms },
    effects: [
      ...stop('retransmit', 'expectedResponse', 'expectedOffer'),
      start('validityOffer', event.validityOfferTime),
      notify('evaluateOffer'),
    ],
  };
}

function acceptOffer(order: ClientOrderState): ClientStep {
  return {
    next: { ...order, state: 'AcceptSent', outstanding: outstanding('ACCEPT') },
    effects: [...stop('validityOffer'), send('ACCEPT'), start('retransmit')],
  };
}

function declineOffer(order: ClientOrderState, event: Extract<ClientEvent, { type: 'decline' }>): ClientStep {
  return {
    next: endCycle(order, 'declined', outstanding('DECLINE')),
    effects: [...stop(...CYCLE_TIMERS), send('DECLINE', { reasons: event.reasons }), start('retransmit'), notify('cycleEnded')],
  };
}

function quitByLocalDecision(reason: CancelReason) {
  return (order: ClientOrderState): ClientStep => ({
    next: { state: 'Cancelled', cycle: order.cycle, hasAgreement: false, cancelReason: reason },
    effects: [notify('cycleEnded')],
  });
}

// ---------------------------------------------------------------------------------------------
// The table

type Table = RuleTable<ClientOrderState, ClientEvent, ClientEffect, ClientState>;

/** What every negotiation state shares: the client may quit "at any stage ... before an agreement is reached" (9.2.7). */
const CANCEL_RULE = {
  to: ['Cancelled', 'Completed'],
  rfc: '8.11.1 Fig. 8; 9.2.7',
  apply: (order: ClientOrderState) => cancelCycle(order, 'cancelled'),
} as const;

const FAIL_RULE = {
  to: ['Cancelled', 'Completed'],
  rfc: '8.6 FAIL terminates the transaction; 9.2.9 (UPDATE)',
  apply: (order: ClientOrderState) => dropCycle(order, 'failed'),
} as const;

/**
 * Rules shared by the two resting states (Completed, Cancelled) while a CANCEL, DECLINE,
 * WITHDRAW or ACTIVATE waits for its answer.
 */
function resting(state: 'Completed' | 'Cancelled') {
  const to = [state];
  return {
    ackReceived: { to, rfc: '9.2.6', apply: closeRequest },
    failReceived: { to, rfc: '9.2.10', apply: failRequest },
    processingReceived: { to, rfc: '11.4 (interim answer); Fig. 14', apply: interimAnswer },
    retransmitTimeout: { to, rfc: '11.4', apply: retransmit },
    retriesExhausted: { to, rfc: '11.1.2; 11.4; 9.2.11 (ACTIVATE: alarm)', apply: requestUnanswered },
    requeryDue: { to, rfc: '11.4 (a repeated request gets the stored answer); C9', apply: requery },
    stopRetrying: {
      to,
      rfc: '11.1.2 (administrator instruction)',
      apply: (order: ClientOrderState): ClientStep | Refusal =>
        order.outstanding
          ? { next: { ...order, outstanding: undefined }, effects: stop('retransmit', 'withdrawalRetry', 'requery') }
          : refuse('no request is outstanding', 'wrong-state'),
    },
  };
}

export const CLIENT_TRANSITIONS: Table = {
  Created: {
    adminApprove: {
      to: ['AwaitingProcessing'],
      rfc: '8.11.1 (administrator allows processing)',
      apply: (order) => ({ next: { ...order, state: 'AwaitingProcessing' }, effects: [] }),
    },
    adminReject: { to: ['Cancelled'], rfc: '8.11.1 Fig. 8 (Created → Cancelled)', apply: quitByLocalDecision('rejected') },
    cancel: { to: ['Cancelled'], rfc: '8.11.1 Fig. 8 (Created → Cancelled)', apply: quitByLocalDecision('cancelled') },
  },

  AwaitingProcessing: {
    sendQuotation: {
      to: ['PQOSent'],
      rfc: '9.2.1; 11.1.1',
      apply: (order, event) => ({
        next: {
          ...order,
          state: 'PQOSent',
          cycle: 'quotation',
          outstanding: outstanding('QUOTATION'),
          terms: { activationType: event.activationType },
        },
        effects: [
          send('QUOTATION', { expectedResponseTime: event.expectedResponseTime }),
          start('retransmit'),
          // 11.1.1: the response timer runs only if the QUOTATION carries a response time.
          ...(event.expectedResponseTime ? [start('expectedResponse', event.expectedResponseTime)] : []),
        ],
      }),
    },
    adminReject: { to: ['Cancelled'], rfc: '8.11.1 Fig. 8 (AwaitingProcessing → Cancelled)', apply: quitByLocalDecision('rejected') },
    cancel: { to: ['Cancelled'], rfc: '8.11.1 Fig. 8 (AwaitingProcessing → Cancelled)', apply: quitByLocalDecision('cancelled') },
  },

  PQOSent: {
    processingReceived: {
      to: ['ServerProcessing'],
      rfc: '9.2.2; 10.1; 11.1.1',
      apply: (order, event) => ({
        next: { ...order, state: 'ServerProcessing', outstanding: undefined },
        effects: [
          ...stop('retransmit'),
          // 11.1.1: an accepted EXPECTED_OFFER_TIME replaces the response deadline.
          ...(event.expectedOfferTime ? [...stop('expectedResponse'), start('expectedOffer', event.expectedOfferTime)] : []),
        ],
      }),
    },
    moreTimeRequestReceived: {
      to: ['ServerProcessing'],
      rfc: '9.2.2 (PROCESSING with PROCESSING_SUBCODE asks for more time)',
      apply: (order, event) => ({
        next: { ...order, state: 'ServerProcessing', outstanding: undefined, moreTimeRequested: event.expectedOfferTime },
        effects: [...stop('retransmit'), notify('decideMoreTime')],
      }),
    },
    offerReceived: { to: ['OfferReceived'], rfc: '10.1 (OFFER matches PQOSent); Figs. 3, 4', apply: offerArrives },
    failReceived: FAIL_RULE,
    cancel: CANCEL_RULE,
    expectedResponseTimeout: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.5 (the PQO is cancelled and a CANCEL generated); 9.1.6',
      apply: (order) => cancelCycle(order, 'timeout'),
    },
    retransmitTimeout: { to: ['PQOSent'], rfc: '11.1.1; 11.4', apply: retransmit },
    retriesExhausted: {
      to: ['Cancelled', 'Completed'],
      rfc: '11.1.1 (maximum retry reached)',
      apply: (order) => dropCycle(order, 'timeout'),
    },
  },

  ServerProcessing: {
    moreTimeRequestReceived: {
      to: ['ServerProcessing'],
      rfc: '9.2.2; Figs. 11, 12',
      apply: (order, event) => ({ next: { ...order, moreTimeRequested: event.expectedOfferTime }, effects: [notify('decideMoreTime')] }),
    },
    grantMoreTime: {
      to: ['ServerProcessing'],
      rfc: '9.2.2; 9.2.6 (ACK with EXPECTED_RESPONSE_TIME); Fig. 11',
      apply: (order) => {
        const until = order.moreTimeRequested;
        if (until === undefined) return refuse('the server did not ask for more time', 'no-time-request');
        const { moreTimeRequested: _granted, ...rest } = order;
        return {
          next: rest,
          effects: [
            send('ACK', { cpd: 'none', expectedResponseTime: until }),
            ...stop('expectedResponse', 'expectedOffer'),
            start('expectedOffer', until),
          ],
        };
      },
    },
    refuseMoreTime: {
      to: ['ServerProcessing'],
      rfc: '9.2.10 (status 7); 11.2.1 (the server must still answer before the initial time); Fig. 12',
      apply: (order) => {
        if (order.moreTimeRequested === undefined) return refuse('the server did not ask for more time', 'no-time-request');
        const { moreTimeRequested: _refused, ...rest } = order;
        return { next: rest, effects: [send('FAIL', { statusCode: StatusCode.MORE_TIME_REJECTED })] };
      },
    },
    offerReceived: { to: ['OfferReceived'], rfc: '8.11.1 Fig. 8; 10.1', apply: offerArrives },
    failReceived: FAIL_RULE,
    cancel: CANCEL_RULE,
    expectedResponseTimeout: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.5; 9.1.6',
      apply: (order) => cancelCycle(order, 'timeout'),
    },
    expectedOfferTimeout: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.5; 9.1.7; 11.1.1 (no offer before EXPECTED_OFFER_TIME)',
      apply: (order) => cancelCycle(order, 'timeout'),
    },
  },

  OfferReceived: {
    processOffer: {
      to: ['OfferProcessing'],
      rfc: '8.11.1 Fig. 8; Fig. 6 (client PROCESSING)',
      apply: (order) => ({ next: { ...order, state: 'OfferProcessing' }, effects: [send('PROCESSING')] }),
    },
    accept: { to: ['AcceptSent'], rfc: '11.1.1; 10.2 (ACCEPT valid in OfferProposed); Figs. 3, 4', apply: acceptOffer },
    decline: { to: ['Cancelled', 'Completed'], rfc: '9.2.5; 11.1.1; Fig. 4', apply: declineOffer },
    cancel: CANCEL_RULE,
    validityOfferTimeout: {
      to: ['Cancelled', 'Completed'],
      rfc: '9.1.8; 9.2.4 (no ACCEPT after the validity time)',
      apply: (order) => dropCycle(order, 'expired'),
    },
  },

  OfferProcessing: {
    accept: { to: ['AcceptSent'], rfc: '8.11.1 Fig. 8; 9.2.4', apply: acceptOffer },
    decline: { to: ['Cancelled', 'Completed'], rfc: '8.11.1 Fig. 8; 9.2.5', apply: declineOffer },
    cancel: CANCEL_RULE,
    failReceived: FAIL_RULE,
    validityOfferTimeout: {
      to: ['Cancelled', 'Completed'],
      rfc: '9.1.8; 9.2.4',
      apply: (order) => dropCycle(order, 'expired'),
    },
  },

  AcceptSent: {
    ackReceived: {
      to: ['Completed', 'Cancelled'],
      rfc: '8.11.1 Fig. 8; 9.2.6; 10.1 (ACK of a QUOTATION/UPDATE transaction); C23 (cancel requested meanwhile)',
      apply: (order) => {
        const activationType = order.terms?.activationType;
        const concluded: ClientOrderState = {
          state: 'Completed',
          cycle: order.cycle,
          hasAgreement: true,
          activationType,
          activation: activationOnAgreement(order.terms, order),
        };
        const effects: ClientEffect[] = [...stop('retransmit', 'requery'), ...settled(order.outstanding), notify('agreementReached')];
        if (!order.cancelRequested) return { next: concluded, effects };
        if (order.cycle === 'update') {
          // The update was concluded before the cancel could act: the server's truth stands, and
          // the administrator is told (undoing it takes another UPDATE).
          return { next: concluded, effects: [...effects, { type: 'alarm', reason: 'cancelTooLate' }] };
        }
        // C23: the customer cancelled, the server concluded: the agreement is withdrawn at once.
        return {
          next: { state: 'Cancelled', cycle: order.cycle, hasAgreement: false, cancelReason: 'withdrawn', outstanding: outstanding('WITHDRAW') },
          effects: [...effects, send('WITHDRAW'), start('retransmit')],
        };
      },
    },
    processingReceived: { to: ['AcceptSent'], rfc: '11.4 (interim answer); C9', apply: interimAnswer },
    failReceived: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.6; 9.2.10 (the ACCEPT is refused)',
      apply: (order) => dropCycle(order, 'failed', settled(order.outstanding)),
    },
    cancel: {
      to: ['AcceptSent'],
      rfc: '9.2.7; C23 (a CANCEL would cross the ACK: the ACCEPT\'s answer decides)',
      apply: (order) =>
        order.cancelRequested
          ? refuse('a cancel is already waiting for the ACCEPT\'s answer', 'cancel-pending')
          : { next: { ...order, cancelRequested: true }, effects: [notify('cancelDeferred')] },
    },
    retransmitTimeout: { to: ['AcceptSent'], rfc: '11.1.1 (ACCEPT retransmitted); 11.4', apply: retransmit },
    retriesExhausted: {
      to: ['AcceptSent'],
      rfc: '11.1.1 (maximum retry reached); C10: the outcome at the server is unknown, hence the alarm and the re-queries',
      apply: (order, event) => unknownOutcome(order, 'acceptUnanswered', event.requery === true),
    },
    requeryDue: { to: ['AcceptSent'], rfc: '11.4; C9, C10', apply: requery },
  },

  Completed: {
    sendUpdate: {
      to: ['PQOSent'],
      rfc: '9.2.9; 11.1.3; Fig. 15',
      apply: (order, event) => {
        const busy = idle(order);
        if (busy) return busy;
        const { updateEndedBy: _previous, ...rest } = order;
        return {
          next: {
            ...rest,
            state: 'PQOSent',
            cycle: 'update',
            outstanding: outstanding('UPDATE'),
            terms: { activationType: event.activationType ?? order.activationType },
          },
          effects: [
            send('UPDATE', { expectedResponseTime: event.expectedResponseTime }),
            start('retransmit'),
            start('expectedResponse', event.expectedResponseTime),
          ],
        };
      },
    },
    withdraw: {
      to: ['Cancelled'],
      rfc: '8.11.1 Fig. 8; 9.2.8; 10.1 (ACK of WITHDRAW matches Cancelled); 11.1.2',
      apply: (order) => {
        const busy = idle(order);
        if (busy) return busy;
        return {
          next: {
            state: 'Cancelled',
            cycle: order.cycle,
            hasAgreement: false,
            cancelReason: 'withdrawn',
            outstanding: outstanding('WITHDRAW'),
          },
          effects: [send('WITHDRAW'), start('retransmit')],
        };
      },
    },
    activate: {
      to: ['Completed'],
      rfc: '9.2.11; wire-format.md 5 (ACTIVATE only for "scheduled" orders); Fig. 16',
      apply: (order, event) => {
        const busy = idle(order);
        if (busy) return busy;
        if (order.activationType !== 'scheduled') return refuse('explicit activation was not negotiated for this order', 'not-scheduled');
        return {
          next: { ...order, outstanding: outstanding('ACTIVATE', event.schedule) },
          effects: [send('ACTIVATE', { activationSchedule: event.schedule }), start('retransmit')],
        };
      },
    },
    ...resting('Completed'),
  },

  Cancelled: {
    ...resting('Cancelled'),
    withdrawalRetryDue: {
      to: ['Cancelled'],
      rfc: '11.1.2 (schedule another Withdrawal cycle)',
      apply: (order) => {
        const request = order.outstanding;
        if (request?.method !== 'WITHDRAW' || request.retransmitting) return refuse('no withdrawal retry cycle is scheduled');
        return {
          next: { ...order, outstanding: { ...request, retransmitting: true } },
          effects: [send('WITHDRAW'), start('retransmit')],
        };
      },
    },
  },
};

/** Applies one event. Never throws; pairs outside CLIENT_TRANSITIONS are rejections. */
export function transitionClient(order: ClientOrderState, event: ClientEvent): ClientOutcome {
  // A client drops what it cannot use silently (9.2.2, wire-format.md 7): no FAIL code.
  return runTable(CLIENT_TRANSITIONS, order, event, () => undefined);
}

// ---------------------------------------------------------------------------------------------
// Validation of persisted orders

const NEGOTIATING: readonly ClientState[] = ['PQOSent', 'ServerProcessing', 'OfferReceived', 'OfferProcessing', 'AcceptSent'];

const REQUEST_STATES: Readonly<Record<ClientRequest, readonly ClientState[]>> = {
  QUOTATION: ['PQOSent'],
  UPDATE: ['PQOSent'],
  ACCEPT: ['AcceptSent'],
  DECLINE: ['Cancelled', 'Completed'],
  CANCEL: ['Cancelled', 'Completed'],
  WITHDRAW: ['Cancelled'],
  ACTIVATE: ['Completed'],
};

/**
 * The invariants a client order satisfies, as a list of problems (empty = valid). Used to
 * check orders read back from storage and by the property tests.
 */
export function clientOrderProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const order = value as Partial<Record<keyof ClientOrderState, unknown>>;
  const problems: string[] = [];
  const state = order.state as ClientState;
  if (!(CLIENT_STATES as readonly unknown[]).includes(order.state)) return [`unknown state ${String(order.state)}`];
  if (order.cycle !== 'quotation' && order.cycle !== 'update') problems.push('bad cycle');
  if (typeof order.hasAgreement !== 'boolean') problems.push('hasAgreement must be a boolean');
  if ((state === 'Cancelled') !== (order.cancelReason !== undefined)) problems.push('cancelReason exactly in Cancelled');
  if (order.cancelReason !== undefined && !(CANCEL_REASONS as readonly unknown[]).includes(order.cancelReason)) {
    problems.push('bad cancelReason');
  }
  if (state === 'Completed' && order.hasAgreement !== true) problems.push('Completed without agreement');
  if ((state === 'Cancelled' || state === 'Created' || state === 'AwaitingProcessing') && order.hasAgreement !== false) {
    problems.push(`${state} with an agreement`);
  }
  if (NEGOTIATING.includes(state) && (order.cycle === 'update') !== (order.hasAgreement === true)) {
    problems.push('an UPDATE cycle runs exactly on top of an agreement');
  }
  if ((order.activation !== undefined) !== (order.hasAgreement === true)) problems.push('activation exactly with an agreement');
  if (order.moreTimeRequested !== undefined && state !== 'ServerProcessing') problems.push('moreTimeRequested outside ServerProcessing');
  if ((order.terms !== undefined) !== NEGOTIATING.includes(state)) problems.push('terms exactly while negotiating');
  if (order.updateEndedBy !== undefined && state !== 'Completed') problems.push('updateEndedBy only in Completed');
  if (order.cancelRequested !== undefined && state !== 'AcceptSent') problems.push('cancelRequested only in AcceptSent');
  const request = order.outstanding as ClientOutstanding | undefined;
  if (request !== undefined) {
    const allowed = REQUEST_STATES[request.method];
    if (allowed === undefined) problems.push('bad outstanding method');
    else if (!allowed.includes(state)) problems.push(`${request.method} cannot be outstanding in ${state}`);
    if (typeof request.retransmitting !== 'boolean') problems.push('bad retransmitting flag');
  } else if (state === 'PQOSent' || state === 'AcceptSent') {
    problems.push(`${state} without its outstanding request`);
  }
  return problems;
}
