import type { Cpd, Cpp, Negotiable, Num } from '../cpd/types';
import type { DateTime } from '../date-time';
import type { ResourceScope } from '../fsm/server';
import type { InformationElements } from '../information-elements';
import type { ActivationSchedule, Hex16 } from '../message';
import type { StatusCodeValue } from '../status-code';

/**
 * The decision seam of the CPNP server engine (RFC 8921 8.2, 11.2.1: "The server runs its
 * decision-making process to decide which offer it can make to honor the received order").
 * The engine owns the protocol (validation, state machine, timers, retransmission); a Decider
 * owns the business answer. The policy-driven decision engine of a later stage implements
 * this interface; `concretizingDecider()` below is a simple stand-in for development and tests.
 */

/** What the decider is asked for a QUOTATION (cycle 'quotation') or an UPDATE (cycle 'update'). */
export interface DecisionRequest {
  /** The server's order key (PROVIDER_ORDER_IDENTIFIER). */
  orderId: string;
  customerOrderId: string;
  /** The authenticated identity of the customer (undefined over plain UDP). */
  identity?: string;
  cycle: 'quotation' | 'update';
  /** The Requested CPD (QUOTATION) or the requested Updated CPD (UPDATE). */
  cpd: Cpd;
  ies?: InformationElements;
  /** UPDATE only: the CPD of the agreement being updated. */
  agreement?: Cpd;
  /** An administrator approved this order (8.2, 12.2); asking for approval again is pointless. */
  approved?: boolean;
}

export type Decision =
  /** Make an offer (9.2.3). validityOfferTime defaults to the engine's configured validity. */
  | {
      kind: 'offer';
      cpd: Cpd;
      validityOfferTime?: DateTime;
      activationSchedule?: ActivationSchedule;
      ies?: InformationElements;
    }
  /** Refuse the order (9.2.10; not status 7, which only clients send). */
  | { kind: 'fail'; statusCode: StatusCodeValue }
  /**
   * Answer later: the engine sends PROCESSING (with EXPECTED_OFFER_TIME if given) and waits for
   * engine.completeDecision(orderId, decision) or engine.requestMoreTime(...).
   */
  | { kind: 'pending'; expectedOfferTime?: DateTime }
  /**
   * Administrative validation (8.2, 12.2): the order waits in AwaitingProcessing until
   * engine.adminApprove(orderId) (then the decider is asked again, with approved: true) or
   * engine.adminReject(orderId, statusCode).
   */
  | { kind: 'admin' };

/** The decision on an ACCEPT (8.6: the server "is unlikely to reject an offer that it has already made"). */
export type AcceptDecision =
  | { kind: 'confirm' }
  | { kind: 'refuse'; statusCode: StatusCodeValue }
  /** Later, with engine.confirmAccept / engine.refuseAccept; a retransmitted ACCEPT meanwhile gets PROCESSING (11.4). */
  | { kind: 'pending' };

/** The decision on a WITHDRAW or an ACTIVATE (8.2: other methods may be subject to validation too). */
export type RequestDecision =
  | { kind: 'proceed' }
  | { kind: 'fail'; statusCode: StatusCodeValue }
  /** Later, with engine.completeRequest; the engine answers PROCESSING now (Figure 14, 11.4). */
  | { kind: 'pending' };

export interface RequestReview {
  orderId: string;
  txid: Hex16;
  method: 'WITHDRAW' | 'ACTIVATE';
  identity?: string;
  /** ACTIVATE only. */
  activationSchedule?: ActivationSchedule;
}

export interface Decider {
  /** Decide on a new QUOTATION / UPDATE cycle (also called again after an administrator approved). */
  decide(request: DecisionRequest): Decision;
  /** Optional: default confirms every valid ACCEPT at once. */
  confirmAccept?(request: { orderId: string; cycle: 'quotation' | 'update'; cpd: Cpd }): AcceptDecision;
  /** Optional: default lets every valid WITHDRAW / ACTIVATE proceed at once. */
  reviewRequest?(request: RequestReview): RequestDecision;
  /**
   * The client granted (ACK) or refused (FAIL 7) the extra time asked for (9.2.2, Figs. 11, 12).
   * `until`: the EXPECTED_RESPONSE_TIME of a granting ACK, the time granted (9.2.6), which may be
   * earlier than the time asked for. A refused first PROCESSING time ends the cycle (cycleEnded follows).
   */
  moreTimeAnswered?(orderId: string, granted: boolean, until?: DateTime): void;
  // Resource hooks: the state machine's reserve / release / commit effects (8.11.2, C17 of
  // docs/state-machines.md), so that a policy engine can keep track of capacity.
  /** An offer was made: hold what it needs until ACCEPT, DECLINE, CANCEL or expiry. */
  reserveResources?(orderId: string, offered: Cpd): void;
  /** 'negotiation': what the cycle in progress reserved; 'all': everything the order holds (WITHDRAW). */
  releaseResources?(orderId: string, scope: ResourceScope): void;
  /** The agreement is concluded: hand it to provisioning (8.2). */
  commitResources?(orderId: string, agreed: Cpd): void;
  /** 9.2.11: activate (null), deactivate (0) or schedule (date-time) the agreed service. */
  applyActivation?(orderId: string, schedule: ActivationSchedule): void;
}

// ---------------------------------------------------------------------------------------------
// concretizingDecider: a real but naive decider for development and tests.

function pickNum(value: Num, prefer: 'max' | 'min'): Num {
  if (typeof value === 'number') return value;
  if (value.pref !== undefined) return value.pref;
  const chosen = prefer === 'max' ? (value.max ?? value.min) : (value.min ?? value.max);
  return chosen ?? value;
}

function pickEnum<T extends string>(value: Negotiable<T>): Negotiable<T> {
  return typeof value === 'string' ? value : (value.oneOf[0] ?? value);
}

/** Replaces obj[key] by pick(obj[key]) when the key is present (absent keys stay absent). */
function fix<O extends object, K extends keyof O>(obj: O | undefined, key: K, pick: (value: NonNullable<O[K]>) => O[K]): void {
  if (obj === undefined) return;
  const value = obj[key];
  if (value !== undefined && value !== null) obj[key] = pick(value);
}

function concretizeCpp(source: Cpp): Cpp {
  const cpp = structuredClone(source);
  const max = (v: Num): Num => pickNum(v, 'max');
  const min = (v: Num): Num => pickNum(v, 'min');
  fix(cpp.scope, 'reach', pickEnum);
  fix(cpp.scope, 'model', pickEnum);
  if (cpp.qos?.kind === 'quantitative') {
    fix(cpp.qos, 'delayMs', min);
    fix(cpp.qos, 'jitterMs', min);
    fix(cpp.qos, 'lossPct', min);
  } else if (cpp.qos?.kind === 'qualitative') {
    fix(cpp.qos, 'class', pickEnum);
  }
  fix(cpp.availability, 'percent', max);
  fix(cpp.capacity, 'inMbps', max);
  fix(cpp.capacity, 'outMbps', max);
  for (const link of cpp.capacity?.perLink ?? []) {
    fix(link, 'inMbps', max);
    fix(link, 'outMbps', max);
  }
  fix(cpp.conformance, 'policing', pickEnum);
  fix(cpp.conformance, 'outOfProfile', pickEnum);
  fix(cpp.overall, 'delay', pickEnum);
  fix(cpp.overall, 'loss', pickEnum);
  fix(cpp.overall, 'throughput', pickEnum);
  return cpp;
}

/**
 * Turns a (possibly loose) Requested CPD into a concrete one (RFC 8921 8.7): every loose
 * number takes its `pref`, else the best bound for the customer — `max` for capacities and
 * availability, `min` for delay, jitter and loss — and every `oneOf` its first choice. Fixed
 * values and everything else are copied unchanged.
 */
export function concretizeCpd(cpd: Cpd): Cpd {
  return cpd.map(concretizeCpp);
}

export interface ConcretizingDeciderOptions {
  /** VALIDITY_OFFER_TIME of the offers (default: the engine's configured validity). */
  validityOfferTime?: () => DateTime;
}

/**
 * A decider that grants every order exactly as asked, made concrete with concretizeCpd. It
 * has no policy, no capacity model and never refuses: it exists so that the engine can run
 * end to end during development and in tests. The policy-driven decision engine replaces it.
 */
export function concretizingDecider(options: ConcretizingDeciderOptions = {}): Decider {
  return {
    decide: (request) => ({
      kind: 'offer',
      cpd: concretizeCpd(request.cpd),
      ...(options.validityOfferTime === undefined ? {} : { validityOfferTime: options.validityOfferTime() }),
    }),
  };
}
