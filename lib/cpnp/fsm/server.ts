/**
 * The server's order state machine — RFC 8921 8.11.2, Figure 9 (redrawn; "(Cancelled)" is
 * the one Cancelled state, repeated at the end of each arrow instead of crossing lines):
 *
 *   Parent order                                Child order (8.8): the server acting as a client
 *
 *     QUOTATION/UPDATE
 *            |
 *            v
 *   +--------------------+
 *   |    PQOReceived     |--CANCEL-->(Cancelled)
 *   +--------------------+
 *            |
 *        PROCESSING
 *            v
 *   +--------------------+     QUOTATION      +----------------------+
 *   | AwaitingProcessing |------------------->|     ChildCreated     |--->(Cancelled)
 *   +--------------------+                    +----------------------+
 *      |     |     ^                                     |
 *      |     |     +--- from ChildCompleted              v
 *      |     +--->(Cancelled)                 +----------------------+
 *    OFFER                                    | AwaitingProcessing[1]|
 *      v                                      +----------------------+
 *   +--------------------+                               |
 *   |   OfferProposed    |--DECLINE-->(Cancelled)        v
 *   +--------------------+                    +----------------------+
 *      |                                      |     ChildPQOSent     |--->(Cancelled)
 *  PROCESSING                                 +----------------------+
 *      v                                                 |
 *   +--------------------+                       QUOTATION/UPDATE[2]
 *   | ProcessingReceived |--DECLINE-->(Cancelled)        v
 *   +--------------------+                    +----------------------+ CANCEL
 *      |                                      |ChildServerProcessing |--->(Cancelled)
 *    ACCEPT                                   +----------------------+ FAIL
 *      v                                                 |
 *   +--------------------+                         PROCESSING[2]
 *   |   AcceptReceived   |--CANCEL-->(Cancelled)         v
 *   +--------------------+                    +----------------------+
 *      |                                      |  ChildOfferReceived  |--CANCEL-->(Cancelled)
 *     ACK                                     +----------------------+
 *      v                                                 |
 *   +--------------------+                           OFFER[2]
 *   |     Completed      |--WITHDRAW-->(Cancelled)       v
 *   +--------------------+                    +----------------------+
 *                                             |ChildOfferReceived[3] |--CANCEL-->(Cancelled)
 *                                             +----------------------+
 *                                                        |
 *                                                  PROCESSING[2]
 *                                                        v
 *                                             +----------------------+
 *                                             | ChildOfferProcessing |--DECLINE-->(Cancelled)
 *                                             +----------------------+
 *                                                        |
 *                                                      ACCEPT
 *                                                        v
 *                                             +----------------------+
 *                                             |   ChildAcceptSent    |--CANCEL-->(Cancelled)
 *                                             +----------------------+
 *                                                        |
 *                                                       ACK
 *                                                        v
 *                                             +----------------------+
 *                                             |    ChildCompleted    |--WITHDRAW-->(Cancelled)
 *                                             +----------------------+
 *                                                        |
 *                                                        +---> to AwaitingProcessing (parent)
 *
 * [1] Figure 9 draws a second AwaitingProcessing box here (the child order waiting to be
 *     handled, as Created → AwaitingProcessing in Figure 8). Not a separate state in 8.11.2's
 *     list; this machine goes ChildCreated → ChildPQOSent when the child PQO is sent.
 * [2] In Figure 9 these labels sit one box lower than in Figure 8 (because of [3]); this
 *     machine follows Figure 8: PQOSent -PROCESSING-> ServerProcessing -OFFER-> OfferReceived
 *     -PROCESSING-> OfferProcessing.
 * [3] Figure 9 repeats the name ChildOfferReceived; 8.11.2's list has only one such state.
 *
 * The full table, with timers, decisions and the clarifications (child failures return to
 * AwaitingProcessing, UPDATE cycles fall back to Completed, ...), is SERVER_TRANSITIONS
 * below; docs/state-machines.md explains each choice.
 */
import type { DateTime } from '../date-time';
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
  type AckCpd,
  type CancelTimerEffect,
  type NotifyEffect,
  type OrderCycleState,
  type Outcome,
  type Refusal,
  type RuleTable,
  type SendEffect,
  type StartTimerEffect,
  type Step,
} from './events';
import { CANCEL_REASONS, CHILD_STATES, SERVER_STATES, type CancelReason, type ServerState } from './states';

/** The persisted server-side order (plain JSON). Invariants are listed in serverOrderProblems. */
export interface ServerOrderState extends OrderCycleState<ServerState> {
  /** False when the client limited the negotiation to this server's domain (8.8, 9.1.10.3). */
  recursionAllowed: boolean;
  /** AwaitingProcessing only: an administrator must approve or reject (8.2, 12.2). */
  adminApprovalPending?: true;
  /** The EXPECTED_OFFER_TIME asked for in a PROCESSING, not yet granted or refused (9.2.2). */
  moreTimeRequested?: DateTime;
  /**
   * With moreTimeRequested: the request is the cycle's first PROCESSING, whose EXPECTED_OFFER_TIME
   * lies beyond the client's EXPECTED_RESPONSE_TIME (9.1.7, 11.1.1). There is no earlier time to
   * fall back on, so a refusal (FAIL 7) ends the cycle (state-machines.md C24).
   */
  moreTimeInitial?: true;
  /** Resources are reserved for the offer of the cycle in progress (8.11.2). */
  offerReserved?: true;
  /** OfferProposed only: the OFFER is being retransmitted (11.2.1). */
  offerRetransmitting?: true;
  /** Child agreements (8.8) obtained during the cycle in progress. */
  childAgreementsInCycle?: number;
  /** The agreement relies on child agreements, to be withdrawn with it. */
  agreementHasChildren?: true;
}

export type ServerTimer = 'validityOffer' | 'retransmit' | 'child';

export type ServerNotice =
  | 'decide' // the decision-making process (11.2.1) has work: make an offer, FAIL, child order, ...
  | 'adminApprovalRequested' // 8.2 administrative validation
  | 'confirmAccept' // an ACCEPT arrived: confirm (ACK) or refuse (FAIL)
  | 'evaluateChildOffer'
  | 'childOrderEnded' // the child order ended without agreement: decide again
  | 'moreTimeGranted'
  | 'moreTimeRefused' // 11.2.1: answer before the initial expected offer time
  | 'agreementReached'
  | 'cycleEnded';

/** Which resources an effect concerns: those of the cycle in progress, or everything the order holds. */
export type ResourceScope = 'negotiation' | 'all';

export type ServerEffect =
  | SendEffect
  | StartTimerEffect<ServerTimer>
  | CancelTimerEffect<ServerTimer>
  | NotifyEffect<ServerNotice>
  | { type: 'reserveResources' }
  /** 8.11.2: "Associated resources must be released ..., if previously reserved." */
  | { type: 'releaseResources'; scope: ResourceScope }
  /** 8.2: hand the completed order to network provisioning. */
  | { type: 'commitResources' }
  /** WITHDRAW every child agreement in scope (9.2.8 towards the child servers). */
  | { type: 'withdrawChildAgreements'; scope: ResourceScope }
  /** 9.2.11: activate, deactivate or schedule the service. */
  | { type: 'applyActivation'; schedule: ActivationSchedule };

/** Negotiation options of the QUOTATION or UPDATE that matter to the machine (9.1.10.3). */
export interface ServerOrderOptions {
  activationType?: ActivationType;
  scope?: 'local' | 'any';
}

/** Events: messages received (already validated, RFC 10.2), local decisions, child-order events and timers. */
export type ServerEvent =
  // received from the client
  | ({ type: 'updateReceived' } & ServerOrderOptions)
  | { type: 'processingReceived' }
  | { type: 'acceptReceived' }
  | { type: 'declineReceived' }
  | { type: 'cancelReceived' }
  | { type: 'withdrawReceived' }
  | { type: 'activateReceived'; schedule: ActivationSchedule }
  | { type: 'ackReceived'; expectedResponseTime?: DateTime } // more time granted
  | { type: 'failReceived'; statusCode: StatusCodeValue } // 7: more time rejected
  // decisions of the server (its decision-making process or administrator)
  /** asksMoreTime: the EXPECTED_OFFER_TIME is later than the client asked for (9.1.7): it waits for ACK or FAIL 7. */
  | { type: 'startProcessing'; expectedOfferTime?: DateTime; asksMoreTime?: true }
  | {
      type: 'makeOffer';
      validityOfferTime: DateTime;
      activationType?: ActivationType;
      activationSchedule?: ActivationSchedule;
    }
  | { type: 'decideFail'; statusCode: StatusCodeValue }
  | { type: 'needChildOrder' }
  | { type: 'needAdminApproval' }
  | { type: 'needMoreTime'; expectedOfferTime: DateTime; processingSubcode?: ProcessingSubcodeValue }
  | { type: 'adminApprove' }
  | { type: 'adminReject'; statusCode?: StatusCodeValue }
  | { type: 'confirmAccept' }
  | { type: 'refuseAccept'; statusCode: StatusCodeValue }
  | { type: 'refuseActivate'; statusCode: StatusCodeValue }
  /** 9.1.10.3: the agreement was negotiated for testing until a date (testUntil), now past. */
  | { type: 'testPeriodEnded' }
  // the child order (8.8), negotiated with a remote server
  | { type: 'sendChildQuotation' }
  | { type: 'childProcessingReceived' }
  | { type: 'childOfferReceived' }
  | { type: 'processChildOffer' }
  | { type: 'acceptChildOffer' }
  | { type: 'childAckReceived' }
  | { type: 'childFailReceived'; statusCode: StatusCodeValue }
  | { type: 'cancelChild' }
  | { type: 'declineChildOffer'; reasons?: DeclineReasonValue[] }
  | { type: 'withdrawChild' }
  | { type: 'childTimeout' }
  | { type: 'resumeParent' }
  // timers
  | { type: 'validityOfferTimeout' }
  | { type: 'retransmitTimeout' }
  | { type: 'retriesExhausted' };

export type ServerEventType = ServerEvent['type'];

export const SERVER_EVENT_TYPES = [
  'updateReceived',
  'processingReceived',
  'acceptReceived',
  'declineReceived',
  'cancelReceived',
  'withdrawReceived',
  'activateReceived',
  'ackReceived',
  'failReceived',
  'startProcessing',
  'makeOffer',
  'decideFail',
  'needChildOrder',
  'needAdminApproval',
  'needMoreTime',
  'adminApprove',
  'adminReject',
  'confirmAccept',
  'refuseAccept',
  'refuseActivate',
  'testPeriodEnded',
  'sendChildQuotation',
  'childProcessingReceived',
  'childOfferReceived',
  'processChildOffer',
  'acceptChildOffer',
  'childAckReceived',
  'childFailReceived',
  'cancelChild',
  'declineChildOffer',
  'withdrawChild',
  'childTimeout',
  'resumeParent',
  'validityOfferTimeout',
  'retransmitTimeout',
  'retriesExhausted',
] as const satisfies readonly ServerEventType[];

export type ServerOutcome = Outcome<ServerOrderState, ServerEffect, ServerState>;
type ServerStep = Step<ServerOrderState, ServerEffect>;

/**
 * A QUOTATION passed validation (10.2): the order exists, in PQOReceived (8.11.2, 11.2.1).
 * A QUOTATION never reaches an existing order — each one creates its own.
 */
export function createServerOrder(options: ServerOrderOptions = {}): Step<ServerOrderState, ServerEffect> {
  return {
    next: {
      state: 'PQOReceived',
      cycle: 'quotation',
      hasAgreement: false,
      recursionAllowed: options.scope !== 'local',
      terms: options.activationType ? { activationType: options.activationType } : {},
    },
    effects: [{ type: 'notify', what: 'decide' }],
  };
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const toChild = (method: SendEffect['method'], extra: Omit<SendEffect, 'type' | 'method' | 'to'> = {}): SendEffect =>
  send(method, { to: 'child', ...extra });
const ack = (cpd: AckCpd): SendEffect => send('ACK', { cpd });
const fail = (statusCode: StatusCodeValue): SendEffect => send('FAIL', { statusCode });
const start = (timer: ServerTimer, at?: DateTime): ServerEffect => ({ type: 'startTimer', timer, at });
const stop = (...timers: ServerTimer[]): ServerEffect[] => timers.map((timer) => ({ type: 'cancelTimer', timer }));
const notify = (what: ServerNotice): ServerEffect => ({ type: 'notify', what });
const refuse = (reason: string, failWith?: StatusCodeValue): Refusal => ({ refuse: reason, failWith });

/** States in which a child negotiation has been sent and is not concluded. */
const CHILD_OPEN: readonly ServerState[] = [
  'ChildPQOSent',
  'ChildServerProcessing',
  'ChildOfferReceived',
  'ChildOfferProcessing',
  'ChildAcceptSent',
];

/** 9.2.6: a CANCEL is answered with the Requested CPD, or the Offered one once an offer exists. */
function cancelAckCpd(order: ServerOrderState): AckCpd {
  return order.state === 'OfferProposed' || order.state === 'ProcessingReceived' || order.state === 'AcceptReceived'
    ? 'offered'
    : 'requested';
}

/** Release what the cycle in progress holds (8.11.2), and stop whatever child negotiation is open. */
function cycleCleanup(order: ServerOrderState): ServerEffect[] {
  return [
    ...stop('validityOffer', 'retransmit', 'child'),
    ...(CHILD_OPEN.includes(order.state) ? [toChild('CANCEL')] : []),
    ...(order.offerReserved ? [{ type: 'releaseResources', scope: 'negotiation' } as const] : []),
    ...(order.childAgreementsInCycle ? [{ type: 'withdrawChildAgreements', scope: 'negotiation' } as const] : []),
  ];
}

/**
 * Ends the negotiation cycle without agreement. A QUOTATION cycle ends the order (Cancelled);
 * an UPDATE cycle falls back to Completed with the agreement unchanged (9.2.9: after a FAIL
 * "the client may initiate a new ... UPDATE", which needs a Completed order, 10.2).
 */
function endCycle(order: ServerOrderState, reason: CancelReason, answer: ServerEffect[]): ServerStep {
  const effects = [...cycleCleanup(order), ...answer, notify('cycleEnded')];
  const kept = { cycle: order.cycle, recursionAllowed: order.recursionAllowed };
  if (order.cycle === 'update' && order.hasAgreement) {
    return {
      next: {
        ...kept,
        state: 'Completed',
        hasAgreement: true,
        updateEndedBy: reason,
        agreementHasChildren: order.agreementHasChildren,
        activationType: order.activationType,
        activation: order.activation,
      },
      effects,
    };
  }
  return { next: { ...kept, state: 'Cancelled', hasAgreement: false, cancelReason: reason }, effects };
}

/** The client quits (9.2.7, 11.2.1): Cancelled, resources released, ACK with the Requested/Offered CPD. */
function clientCancels(order: ServerOrderState): ServerStep {
  return endCycle(order, 'cancelled', [ack(cancelAckCpd(order))]);
}

/** The client declines the offer (9.2.5, 11.2.1); the ACK carries an Empty CPD (9.2.6). */
function clientDeclines(order: ServerOrderState): ServerStep {
  return endCycle(order, 'declined', [ack('empty')]);
}

/** 9.1.8: an offer not accepted in time is silently removed. */
function offerExpires(order: ServerOrderState): ServerStep {
  return endCycle(order, 'expired', []);
}

/** 9.2.10: status 7 is the client's own code; the server never sends it. */
function serverFail(order: ServerOrderState, statusCode: StatusCodeValue, reason: CancelReason): ServerStep | Refusal {
  if (statusCode === StatusCode.MORE_TIME_REJECTED) return refuse('status 7 (More Time Rejected) is sent by clients only');
  return endCycle(order, reason, [fail(statusCode)]);
}

function makeOffer(order: ServerOrderState, event: Extract<ServerEvent, { type: 'makeOffer' }>): ServerStep | Refusal {
  if (order.adminApprovalPending) return refuse('an administrator must approve the order first (8.2)');
  const { moreTimeRequested: _answered, moreTimeInitial: _initial, ...rest } = order;
  return {
    next: {
      ...rest,
      state: 'OfferProposed',
      offerReserved: true,
      offerRetransmitting: true,
      terms: {
        activationType: event.activationType ?? order.terms?.activationType,
        activationSchedule: event.activationSchedule,
      },
    },
    effects: [
      { type: 'reserveResources' },
      send('OFFER', { validityOfferTime: event.validityOfferTime, activationSchedule: event.activationSchedule }),
      start('validityOffer', event.validityOfferTime),
      start('retransmit'),
    ],
  };
}

/** 9.2.2, 11.2.1: ask for more time with a PROCESSING carrying a new EXPECTED_OFFER_TIME. */
function askMoreTime(order: ServerOrderState, event: Extract<ServerEvent, { type: 'needMoreTime' }>): ServerStep | Refusal {
  if (order.moreTimeRequested !== undefined) return refuse('a request for more time is still unanswered');
  return {
    next: { ...order, moreTimeRequested: event.expectedOfferTime },
    effects: [send('PROCESSING', { expectedOfferTime: event.expectedOfferTime, processingSubcode: event.processingSubcode })],
  };
}

/** The client's ACK granting more time (9.2.6, Fig. 11). */
function moreTimeGranted(order: ServerOrderState): ServerStep | Refusal {
  if (order.moreTimeRequested === undefined) return refuse('no request for more time is pending');
  const { moreTimeRequested: _granted, moreTimeInitial: _initial, ...rest } = order;
  return { next: rest, effects: [notify('moreTimeGranted')] };
}

/** 10.2: a FAIL from the client only answers a request for more time, with status 7 (Fig. 12). */
function moreTimeRefused(order: ServerOrderState, event: Extract<ServerEvent, { type: 'failReceived' }>): ServerStep | Refusal {
  if (order.moreTimeRequested === undefined) return refuse('no request for more time is pending (10.2)');
  if (event.statusCode !== StatusCode.MORE_TIME_REJECTED) return refuse('a client FAIL must carry status 7 here');
  const { moreTimeRequested: _refused, moreTimeInitial: initial, ...rest } = order;
  // The first PROCESSING's time refused: no offer can come in the time the client allows, and
  // the client cancels at its deadline anyway (11.1.1), so the cycle ends now (C24). A refused
  // later extension keeps the time granted before (11.2.1: answer before the initial time).
  if (initial) return endCycle(order, 'failed', [notify('moreTimeRefused')]);
  return { next: rest, effects: [notify('moreTimeRefused')] };
}

/** The child order ended without agreement: the parent returns to its decision (see docs). */
function childEnds(order: ServerOrderState, effects: ServerEffect[]): ServerStep {
  return {
    next: { ...order, state: 'AwaitingProcessing' },
    effects: [...stop('child'), ...effects, notify('childOrderEnded')],
  };
}

function moveTo(state: ServerState, effects: ServerEffect[] = []) {
  return (order: ServerOrderState): ServerStep => ({ next: { ...order, state }, effects });
}

// ---------------------------------------------------------------------------------------------
// The table

type Table = RuleTable<ServerOrderState, ServerEvent, ServerEffect, ServerState>;

const CANCEL_RULE = { to: ['Cancelled', 'Completed'], rfc: '9.2.7; 11.2.1', apply: clientCancels } as const;

/** Rules of the parent order that stay valid while a child order is negotiated. */
function parentRules() {
  return {
    cancelReceived: {
      to: ['Cancelled', 'Completed'] as ServerState[],
      rfc: '9.2.7 (any stage before agreement); Fig. 9 child arrows',
      apply: clientCancels,
    },
    needMoreTime: { to: [] as ServerState[], rfc: '9.2.2 (subcode 2: external resources); 11.2.1', apply: askMoreTime },
    ackReceived: { to: [] as ServerState[], rfc: '9.2.6 (more time granted)', apply: moreTimeGranted },
    failReceived: { to: ['Cancelled', 'Completed'] as ServerState[], rfc: '9.2.10 status 7; 10.2; 11.1.1 (C24)', apply: moreTimeRefused },
  };
}

function childState(state: ServerState) {
  const rules = parentRules();
  return {
    ...rules,
    needMoreTime: { ...rules.needMoreTime, to: [state] },
    ackReceived: { ...rules.ackReceived, to: [state] },
    failReceived: { ...rules.failReceived, to: [state, ...rules.failReceived.to] },
  };
}

const CHILD_CANCEL = {
  to: ['AwaitingProcessing'],
  rfc: '8.8; Fig. 9 (child CANCEL); 9.2.7',
  apply: (order: ServerOrderState) => childEnds(order, [toChild('CANCEL')]),
} as const;
const CHILD_FAIL = {
  to: ['AwaitingProcessing'],
  rfc: '8.8; Fig. 9 (child FAIL); 9.2.10',
  apply: (order: ServerOrderState) => childEnds(order, []),
} as const;
const CHILD_TIMEOUT = {
  to: ['AwaitingProcessing'],
  rfc: '8.5 / 9.1.6 applied to the child order',
  apply: (order: ServerOrderState) => childEnds(order, [toChild('CANCEL')]),
} as const;
const CHILD_DECLINE = {
  to: ['AwaitingProcessing'],
  rfc: '8.8; Fig. 9 (child DECLINE); 9.2.5',
  apply: (order: ServerOrderState, event: Extract<ServerEvent, { type: 'declineChildOffer' }>) =>
    childEnds(order, [toChild('DECLINE', { reasons: event.reasons })]),
} as const;
const CHILD_ACCEPT = {
  to: ['ChildAcceptSent'],
  rfc: '8.8; Fig. 9; 9.2.4',
  apply: moveTo('ChildAcceptSent', [toChild('ACCEPT')]),
} as const;
const CHILD_OFFER = {
  to: ['ChildOfferReceived'],
  rfc: '8.8; Fig. 7; 10.1 applied to the child order',
  apply: moveTo('ChildOfferReceived', [notify('evaluateChildOffer')]),
} as const;

export const SERVER_TRANSITIONS: Table = {
  PQOReceived: {
    startProcessing: {
      to: ['AwaitingProcessing'],
      rfc: '8.11.2 Fig. 9; 9.2.2; 11.2.1',
      apply: (order, event) => ({
        next: {
          ...order,
          state: 'AwaitingProcessing',
          ...(event.asksMoreTime && event.expectedOfferTime !== undefined ? { moreTimeRequested: event.expectedOfferTime, moreTimeInitial: true as const } : {}),
        },
        effects: [send('PROCESSING', { expectedOfferTime: event.expectedOfferTime })],
      }),
    },
    makeOffer: { to: ['OfferProposed'], rfc: '8.6 (QUOTATION answered by OFFER); Figs. 3, 4', apply: makeOffer },
    decideFail: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.6 (QUOTATION answered by FAIL); 9.2.9; 9.2.10',
      apply: (order, event) => serverFail(order, event.statusCode, 'failed'),
    },
    cancelReceived: CANCEL_RULE,
  },

  AwaitingProcessing: {
    makeOffer: { to: ['OfferProposed'], rfc: '8.11.2 Fig. 9; 9.2.3; 11.2.1', apply: makeOffer },
    decideFail: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.11.2 Fig. 9 (AwaitingProcessing → Cancelled); 9.2.9; 11.2.1',
      apply: (order, event) =>
        order.adminApprovalPending
          ? refuse('an administrator must approve or reject the order (8.2)')
          : serverFail(order, event.statusCode, 'failed'),
    },
    needChildOrder: {
      to: ['ChildCreated'],
      rfc: '8.8; 11.2.1; 9.1.10.3 (scope "local" forbids recursion)',
      apply: (order) => {
        if (!order.recursionAllowed) return refuse('the client restricted the negotiation to this domain (8.8)');
        if (order.adminApprovalPending) return refuse('an administrator must approve the order first (8.2)');
        return { next: { ...order, state: 'ChildCreated' }, effects: [] };
      },
    },
    needAdminApproval: {
      to: ['AwaitingProcessing'],
      rfc: '8.2 (administrative validation); 8.11.2 (AwaitingProcessing); 12.2',
      apply: (order) =>
        order.adminApprovalPending
          ? refuse('approval already requested')
          : { next: { ...order, adminApprovalPending: true }, effects: [notify('adminApprovalRequested')] },
    },
    adminApprove: {
      to: ['AwaitingProcessing'],
      rfc: '8.2; 12.2',
      apply: (order) => {
        if (!order.adminApprovalPending) return refuse('no approval is pending');
        const { adminApprovalPending: _done, ...rest } = order;
        return { next: rest, effects: [notify('decide')] };
      },
    },
    adminReject: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.2; 12.2; 9.2.10 (status 4 Administratively prohibited)',
      apply: (order, event) => {
        if (!order.adminApprovalPending) return refuse('no approval is pending');
        return serverFail(order, event.statusCode ?? StatusCode.ADMINISTRATIVELY_PROHIBITED, 'rejected');
      },
    },
    needMoreTime: { to: ['AwaitingProcessing'], rfc: '9.2.2; 11.2.1; Figs. 11, 12', apply: askMoreTime },
    ackReceived: { to: ['AwaitingProcessing'], rfc: '9.2.6; Fig. 11', apply: moreTimeGranted },
    failReceived: { to: ['AwaitingProcessing', 'Cancelled', 'Completed'], rfc: '10.2 (FAIL); Fig. 12; 11.1.1 (C24)', apply: moreTimeRefused },
    cancelReceived: {
      to: ['Cancelled', 'Completed'],
      rfc: '9.2.7 (any stage before agreement); Fig. 9 (AwaitingProcessing → Cancelled)',
      apply: clientCancels,
    },
  },

  OfferProposed: {
    processingReceived: {
      to: ['ProcessingReceived'],
      rfc: '8.11.2 Fig. 9; 11.2.1 (stops the OFFER retransmission)',
      apply: (order) => {
        const { offerRetransmitting: _stopped, ...rest } = order;
        return { next: { ...rest, state: 'ProcessingReceived' }, effects: stop('retransmit') };
      },
    },
    acceptReceived: {
      to: ['AcceptReceived'],
      rfc: '10.2 (ACCEPT in OfferProposed); 11.2.1; Figs. 3, 4',
      apply: (order) => {
        const { offerRetransmitting: _stopped, ...rest } = order;
        return {
          next: { ...rest, state: 'AcceptReceived' },
          effects: [...stop('retransmit', 'validityOffer'), notify('confirmAccept')],
        };
      },
    },
    declineReceived: { to: ['Cancelled', 'Completed'], rfc: '8.11.2 Fig. 9; 9.2.5; 11.2.1', apply: clientDeclines },
    cancelReceived: CANCEL_RULE,
    validityOfferTimeout: { to: ['Cancelled', 'Completed'], rfc: '9.1.8 (silently removed); 9.2.3', apply: offerExpires },
    retransmitTimeout: {
      to: ['OfferProposed'],
      rfc: '11.2.1 (OFFER resent until PROCESSING, ACCEPT or DECLINE)',
      apply: (order) =>
        order.offerRetransmitting
          ? { next: order, effects: [send('OFFER', { retransmission: true }), start('retransmit')] }
          : refuse('the OFFER is no longer retransmitted'),
    },
    retriesExhausted: {
      to: ['OfferProposed'],
      rfc: '11.2.1 (until maximum retry is reached); the offer stays valid until VALIDITY_OFFER_TIME',
      apply: (order) => {
        if (!order.offerRetransmitting) return refuse('the OFFER is no longer retransmitted');
        const { offerRetransmitting: _stopped, ...rest } = order;
        return { next: rest, effects: stop('retransmit') };
      },
    },
  },

  ProcessingReceived: {
    acceptReceived: {
      to: ['AcceptReceived'],
      rfc: '8.11.2 Fig. 9; 10.2; 11.2.1',
      apply: moveTo('AcceptReceived', [...stop('validityOffer'), notify('confirmAccept')]),
    },
    declineReceived: { to: ['Cancelled', 'Completed'], rfc: '8.11.2 Fig. 9; 9.2.5; 11.2.1', apply: clientDeclines },
    cancelReceived: CANCEL_RULE,
    validityOfferTimeout: { to: ['Cancelled', 'Completed'], rfc: '9.1.8 (silently removed)', apply: offerExpires },
  },

  AcceptReceived: {
    confirmAccept: {
      to: ['Completed'],
      rfc: '8.11.2 Fig. 9 (ACK); 9.2.6 (Offered / Updated CPD); 11.2.1; 11.4 (the last ACK is not retransmitted)',
      apply: (order) => ({
        next: {
          state: 'Completed',
          cycle: order.cycle,
          hasAgreement: true,
          recursionAllowed: order.recursionAllowed,
          agreementHasChildren: order.agreementHasChildren || (order.childAgreementsInCycle ?? 0) > 0 || undefined,
          activationType: order.terms?.activationType,
          activation: activationOnAgreement(order.terms, order),
        },
        effects: [ack(order.cycle === 'update' ? 'updated' : 'offered'), { type: 'commitResources' }, notify('agreementReached')],
      }),
    },
    refuseAccept: {
      to: ['Cancelled', 'Completed'],
      rfc: '8.6 ("unlikely to reject an offer that it has already made"); 9.2.10',
      apply: (order, event) => serverFail(order, event.statusCode, 'failed'),
    },
    cancelReceived: CANCEL_RULE,
  },

  Completed: {
    updateReceived: {
      to: ['PQOReceived'],
      rfc: '9.2.9; 10.2 (UPDATE matches Completed); 11.2.3; Fig. 15',
      apply: (order, event) => {
        const { updateEndedBy: _previous, ...rest } = order;
        return {
          next: {
            ...rest,
            state: 'PQOReceived',
            cycle: 'update',
            recursionAllowed: event.scope !== 'local',
            terms: { activationType: event.activationType ?? order.activationType },
          },
          effects: [notify('decide')],
        };
      },
    },
    withdrawReceived: {
      to: ['Cancelled'],
      rfc: '8.11.2 Fig. 9; 9.2.8; 10.2; 11.2.2 (ACK with an Empty CPD); Fig. 14',
      apply: (order) => ({
        next: {
          state: 'Cancelled',
          cycle: order.cycle,
          hasAgreement: false,
          recursionAllowed: order.recursionAllowed,
          cancelReason: 'withdrawn',
        },
        effects: [
          { type: 'releaseResources', scope: 'all' },
          ...(order.agreementHasChildren ? [{ type: 'withdrawChildAgreements', scope: 'all' } as const] : []),
          ack('empty'),
          notify('cycleEnded'),
        ],
      }),
    },
    activateReceived: {
      to: ['Completed'],
      rfc: '9.2.11; 10.2 (activation procedure set to explicit); Fig. 16',
      apply: (order, event) => {
        if (order.activationType !== 'scheduled') {
          return refuse('explicit activation was not negotiated for this order', StatusCode.UNSUPPORTED_ACTIVATION_TYPE);
        }
        return {
          next: { ...order, activation: activationFromSchedule(event.schedule) },
          effects: [{ type: 'applyActivation', schedule: event.schedule }, ack('none')],
        };
      },
    },
    refuseActivate: {
      to: ['Completed'],
      rfc: '9.2.11 (FAIL if the server cannot honor the request)',
      apply: (order, event) => ({ next: order, effects: [fail(event.statusCode)] }),
    },
    testPeriodEnded: {
      to: ['Cancelled'],
      rfc: '9.1.10.3 (setup for testing purposes during a limited period; an UPDATE makes it permanent); C25',
      // The server withdraws the test agreement itself, as a WITHDRAW would (11.2.2), but no
      // message exists for it: the client knows testUntil from its own request.
      apply: (order) => ({
        next: {
          state: 'Cancelled',
          cycle: order.cycle,
          hasAgreement: false,
          recursionAllowed: order.recursionAllowed,
          cancelReason: 'withdrawn',
        },
        effects: [
          { type: 'releaseResources', scope: 'all' },
          ...(order.agreementHasChildren ? [{ type: 'withdrawChildAgreements', scope: 'all' } as const] : []),
          notify('cycleEnded'),
        ],
      }),
    },
  },

  Cancelled: {},

  ChildCreated: {
    ...childState('ChildCreated'),
    sendChildQuotation: {
      to: ['ChildPQOSent'],
      rfc: '8.8 ("the server also behaves as a CPNP client"); 9.2.1; Fig. 7',
      apply: moveTo('ChildPQOSent', [toChild('QUOTATION'), start('child')]),
    },
    cancelChild: {
      to: ['AwaitingProcessing'],
      rfc: '8.8; Fig. 9 (ChildCreated → Cancelled; nothing was sent)',
      apply: (order) => childEnds(order, []),
    },
  },

  ChildPQOSent: {
    ...childState('ChildPQOSent'),
    childProcessingReceived: { to: ['ChildServerProcessing'], rfc: '8.8; Fig. 7; 9.2.2', apply: moveTo('ChildServerProcessing') },
    childOfferReceived: CHILD_OFFER,
    childFailReceived: CHILD_FAIL,
    cancelChild: CHILD_CANCEL,
    childTimeout: CHILD_TIMEOUT,
  },

  ChildServerProcessing: {
    ...childState('ChildServerProcessing'),
    childOfferReceived: CHILD_OFFER,
    childFailReceived: CHILD_FAIL,
    cancelChild: CHILD_CANCEL,
    childTimeout: CHILD_TIMEOUT,
  },

  ChildOfferReceived: {
    ...childState('ChildOfferReceived'),
    processChildOffer: {
      to: ['ChildOfferProcessing'],
      rfc: '8.8; Fig. 7 (PROCESSING to the child server)',
      apply: moveTo('ChildOfferProcessing', [toChild('PROCESSING')]),
    },
    acceptChildOffer: CHILD_ACCEPT,
    declineChildOffer: CHILD_DECLINE,
    cancelChild: CHILD_CANCEL,
    childTimeout: CHILD_TIMEOUT,
  },

  ChildOfferProcessing: {
    ...childState('ChildOfferProcessing'),
    acceptChildOffer: CHILD_ACCEPT,
    declineChildOffer: CHILD_DECLINE,
    cancelChild: CHILD_CANCEL,
    childFailReceived: CHILD_FAIL,
    childTimeout: CHILD_TIMEOUT,
  },

  ChildAcceptSent: {
    ...childState('ChildAcceptSent'),
    childAckReceived: {
      to: ['ChildCompleted'],
      rfc: '8.8; Fig. 7; Fig. 9 (ACK)',
      apply: (order) => ({
        next: { ...order, state: 'ChildCompleted', childAgreementsInCycle: (order.childAgreementsInCycle ?? 0) + 1 },
        effects: stop('child'),
      }),
    },
    childFailReceived: CHILD_FAIL,
    cancelChild: CHILD_CANCEL,
    childTimeout: CHILD_TIMEOUT,
  },

  ChildCompleted: {
    ...childState('ChildCompleted'),
    resumeParent: {
      to: ['AwaitingProcessing'],
      rfc: 'Fig. 9 (ChildCompleted → AwaitingProcessing); 11.2.1',
      apply: moveTo('AwaitingProcessing', [notify('decide')]),
    },
    withdrawChild: {
      to: ['AwaitingProcessing'],
      rfc: 'Fig. 9 (ChildCompleted WITHDRAW); 9.2.8',
      apply: (order) => {
        const remaining = (order.childAgreementsInCycle ?? 1) - 1;
        return childEnds({ ...order, childAgreementsInCycle: remaining > 0 ? remaining : undefined }, [toChild('WITHDRAW')]);
      },
    },
  },
};

/** Requests from the client that are answered with a FAIL when they match no order in a fitting state. */
const FAIL_ANSWERED: ReadonlySet<ServerEventType> = new Set<ServerEventType>([
  'updateReceived',
  'acceptReceived',
  'declineReceived',
  'cancelReceived',
  'withdrawReceived',
  'activateReceived',
]);

/**
 * Applies one event. Never throws; pairs outside SERVER_TRANSITIONS are rejections. A
 * rejected client request carries `failWith` (1, Message Validation Error: the request does
 * not match an order in a state where it is valid, 10.2 / 9.2.5 / 9.2.7 / 9.2.8); a rejected
 * PROCESSING, ACK or FAIL is dropped silently (never answer a FAIL with a FAIL).
 */
export function transitionServer(order: ServerOrderState, event: ServerEvent): ServerOutcome {
  return runTable(SERVER_TRANSITIONS, order, event, (e) =>
    FAIL_ANSWERED.has(e.type) ? StatusCode.MESSAGE_VALIDATION_ERROR : undefined,
  );
}

// ---------------------------------------------------------------------------------------------
// Validation of persisted orders

const OFFERED: readonly ServerState[] = ['OfferProposed', 'ProcessingReceived', 'AcceptReceived'];

/** The invariants a server order satisfies, as a list of problems (empty = valid). */
export function serverOrderProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const order = value as Partial<Record<keyof ServerOrderState, unknown>>;
  if (!(SERVER_STATES as readonly unknown[]).includes(order.state)) return [`unknown state ${String(order.state)}`];
  const state = order.state as ServerState;
  const negotiating = state !== 'Completed' && state !== 'Cancelled';
  const problems: string[] = [];
  if (order.cycle !== 'quotation' && order.cycle !== 'update') problems.push('bad cycle');
  if (typeof order.hasAgreement !== 'boolean') problems.push('hasAgreement must be a boolean');
  if (typeof order.recursionAllowed !== 'boolean') problems.push('recursionAllowed must be a boolean');
  if ((state === 'Cancelled') !== (order.cancelReason !== undefined)) problems.push('cancelReason exactly in Cancelled');
  if (order.cancelReason !== undefined && !(CANCEL_REASONS as readonly unknown[]).includes(order.cancelReason)) {
    problems.push('bad cancelReason');
  }
  if (state === 'Completed' && order.hasAgreement !== true) problems.push('Completed without agreement');
  if (state === 'Cancelled' && order.hasAgreement !== false) problems.push('Cancelled with an agreement');
  if (negotiating && (order.cycle === 'update') !== (order.hasAgreement === true)) {
    problems.push('an UPDATE cycle runs exactly on top of an agreement');
  }
  if ((order.activation !== undefined) !== (order.hasAgreement === true)) problems.push('activation exactly with an agreement');
  if ((order.terms !== undefined) !== negotiating) problems.push('terms exactly while negotiating');
  if (order.updateEndedBy !== undefined && state !== 'Completed') problems.push('updateEndedBy only in Completed');
  if (order.adminApprovalPending !== undefined && (order.adminApprovalPending !== true || state !== 'AwaitingProcessing')) {
    problems.push('adminApprovalPending only in AwaitingProcessing');
  }
  if (order.moreTimeRequested !== undefined && state !== 'AwaitingProcessing' && !(CHILD_STATES as readonly ServerState[]).includes(state)) {
    problems.push('moreTimeRequested only before the offer');
  }
  if (order.moreTimeInitial !== undefined && (order.moreTimeInitial !== true || order.moreTimeRequested === undefined)) {
    problems.push('moreTimeInitial only with moreTimeRequested');
  }
  if ((order.offerReserved === true) !== OFFERED.includes(state)) problems.push('offerReserved exactly while an offer is out');
  if (order.offerRetransmitting !== undefined && (order.offerRetransmitting !== true || state !== 'OfferProposed')) {
    problems.push('offerRetransmitting only in OfferProposed');
  }
  const children = order.childAgreementsInCycle;
  if (children !== undefined && (!negotiating || typeof children !== 'number' || !Number.isInteger(children) || children < 1)) {
    problems.push('childAgreementsInCycle is a positive count while negotiating');
  }
  if (order.agreementHasChildren !== undefined && (order.agreementHasChildren !== true || order.hasAgreement !== true)) {
    problems.push('agreementHasChildren only with an agreement');
  }
  if (state === 'ChildCompleted' && children === undefined) problems.push('ChildCompleted without a child agreement');
  return problems;
}
