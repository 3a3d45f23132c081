import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { asDateTime } from '../date-time';
import {
  CLIENT_EVENT_TYPES,
  CLIENT_TRANSITIONS,
  clientOrderProblems,
  createClientOrder,
  isMoreTimeRequest,
  transitionClient,
  type ClientEffect,
  type ClientEvent,
  type ClientEventType,
  type ClientOrderState,
} from '../fsm/client';
import type { AlarmEffect } from '../fsm/events';
import { CLIENT_STATES, type ClientState } from '../fsm/states';

const T1 = asDateTime('2026-03-01T10:00:00Z');
const T2 = asDateTime('2026-03-01T12:00:00Z');

/** One sample of every event type (the mapped type makes the compiler demand all of them). */
const SAMPLE: { [K in ClientEventType]: Extract<ClientEvent, { type: K }> } = {
  adminApprove: { type: 'adminApprove' },
  adminReject: { type: 'adminReject' },
  sendQuotation: { type: 'sendQuotation', expectedResponseTime: T1 },
  sendUpdate: { type: 'sendUpdate', expectedResponseTime: T1 },
  processOffer: { type: 'processOffer' },
  accept: { type: 'accept' },
  decline: { type: 'decline', reasons: [1] },
  cancel: { type: 'cancel' },
  withdraw: { type: 'withdraw' },
  activate: { type: 'activate', schedule: null },
  grantMoreTime: { type: 'grantMoreTime' },
  refuseMoreTime: { type: 'refuseMoreTime' },
  stopRetrying: { type: 'stopRetrying' },
  processingReceived: { type: 'processingReceived' },
  moreTimeRequestReceived: { type: 'moreTimeRequestReceived', expectedOfferTime: T2 },
  offerReceived: { type: 'offerReceived', validityOfferTime: T2 },
  ackReceived: { type: 'ackReceived' },
  failReceived: { type: 'failReceived', statusCode: 5 },
  expectedResponseTimeout: { type: 'expectedResponseTimeout' },
  expectedOfferTimeout: { type: 'expectedOfferTimeout' },
  validityOfferTimeout: { type: 'validityOfferTimeout' },
  retransmitTimeout: { type: 'retransmitTimeout' },
  retriesExhausted: { type: 'retriesExhausted' },
  withdrawalRetryDue: { type: 'withdrawalRetryDue' },
  requeryDue: { type: 'requeryDue' },
};
const EVENTS = Object.values(SAMPLE) as ClientEvent[];

const AGREEMENT = { hasAgreement: true, activation: { status: 'active' } } as const;

/**
 * Representative orders: every state, plus the variants whose data changes the outcome
 * (UPDATE cycle, pending time request, outstanding requests, activation type).
 */
const FIXTURES: Record<string, ClientOrderState> = {
  Created: { state: 'Created', cycle: 'quotation', hasAgreement: false },
  AwaitingProcessing: { state: 'AwaitingProcessing', cycle: 'quotation', hasAgreement: false },
  PQOSent: {
    state: 'PQOSent',
    cycle: 'quotation',
    hasAgreement: false,
    outstanding: { method: 'QUOTATION', retransmitting: true },
    terms: {},
  },
  'PQOSent/update': {
    state: 'PQOSent',
    cycle: 'update',
    ...AGREEMENT,
    outstanding: { method: 'UPDATE', retransmitting: true },
    terms: {},
  },
  ServerProcessing: { state: 'ServerProcessing', cycle: 'quotation', hasAgreement: false, terms: {} },
  'ServerProcessing/moreTime': {
    state: 'ServerProcessing',
    cycle: 'quotation',
    hasAgreement: false,
    terms: {},
    moreTimeRequested: T2,
  },
  'ServerProcessing/update': { state: 'ServerProcessing', cycle: 'update', ...AGREEMENT, terms: {} },
  OfferReceived: { state: 'OfferReceived', cycle: 'quotation', hasAgreement: false, terms: {} },
  'OfferReceived/update': { state: 'OfferReceived', cycle: 'update', ...AGREEMENT, terms: {} },
  OfferProcessing: { state: 'OfferProcessing', cycle: 'quotation', hasAgreement: false, terms: {} },
  AcceptSent: {
    state: 'AcceptSent',
    cycle: 'quotation',
    hasAgreement: false,
    terms: {},
    outstanding: { method: 'ACCEPT', retransmitting: true },
  },
  'AcceptSent/interim': {
    state: 'AcceptSent',
    cycle: 'quotation',
    hasAgreement: false,
    terms: {},
    outstanding: { method: 'ACCEPT', retransmitting: false, interim: 1 },
  },
  'AcceptSent/update': {
    state: 'AcceptSent',
    cycle: 'update',
    ...AGREEMENT,
    terms: {},
    outstanding: { method: 'ACCEPT', retransmitting: true },
  },
  Completed: { state: 'Completed', cycle: 'quotation', ...AGREEMENT },
  'Completed/scheduled': {
    state: 'Completed',
    cycle: 'quotation',
    hasAgreement: true,
    activationType: 'scheduled',
    activation: { status: 'inactive' },
  },
  'Completed/ACTIVATE': {
    state: 'Completed',
    cycle: 'quotation',
    hasAgreement: true,
    activationType: 'scheduled',
    activation: { status: 'inactive' },
    outstanding: { method: 'ACTIVATE', retransmitting: true, activationSchedule: null },
  },
  'Completed/CANCEL': {
    state: 'Completed',
    cycle: 'update',
    ...AGREEMENT,
    updateEndedBy: 'cancelled',
    outstanding: { method: 'CANCEL', retransmitting: true },
  },
  Cancelled: { state: 'Cancelled', cycle: 'quotation', hasAgreement: false, cancelReason: 'failed' },
  'Cancelled/WITHDRAW': {
    state: 'Cancelled',
    cycle: 'quotation',
    hasAgreement: false,
    cancelReason: 'withdrawn',
    outstanding: { method: 'WITHDRAW', retransmitting: true },
  },
  'Cancelled/WITHDRAW-wait': {
    state: 'Cancelled',
    cycle: 'quotation',
    hasAgreement: false,
    cancelReason: 'withdrawn',
    outstanding: { method: 'WITHDRAW', retransmitting: false },
  },
  'Cancelled/CANCEL': {
    state: 'Cancelled',
    cycle: 'quotation',
    hasAgreement: false,
    cancelReason: 'cancelled',
    outstanding: { method: 'CANCEL', retransmitting: true },
  },
  'Cancelled/CANCEL-interim': {
    state: 'Cancelled',
    cycle: 'quotation',
    hasAgreement: false,
    cancelReason: 'cancelled',
    outstanding: { method: 'CANCEL', retransmitting: false, interim: 1 },
  },
  'Completed/ACTIVATE-unknown': {
    state: 'Completed',
    cycle: 'quotation',
    hasAgreement: true,
    activationType: 'scheduled',
    activation: { status: 'inactive' },
    outstanding: { method: 'ACTIVATE', retransmitting: false, activationSchedule: null, unknown: true },
  },
};

/**
 * The expected outcome of every (fixture, event type) pair, written from the RFC (see
 * docs/state-machines.md), not from the implementation: listed pairs are accepted with that
 * next state, every other pair must be rejected.
 */
const EXPECTED: Record<string, Partial<Record<ClientEventType, ClientState>>> = {
  Created: { adminApprove: 'AwaitingProcessing', adminReject: 'Cancelled', cancel: 'Cancelled' },
  AwaitingProcessing: { sendQuotation: 'PQOSent', adminReject: 'Cancelled', cancel: 'Cancelled' },
  PQOSent: {
    processingReceived: 'ServerProcessing',
    moreTimeRequestReceived: 'ServerProcessing',
    offerReceived: 'OfferReceived',
    failReceived: 'Cancelled',
    cancel: 'Cancelled',
    expectedResponseTimeout: 'Cancelled',
    retransmitTimeout: 'PQOSent',
    retriesExhausted: 'Cancelled',
  },
  'PQOSent/update': {
    processingReceived: 'ServerProcessing',
    moreTimeRequestReceived: 'ServerProcessing',
    offerReceived: 'OfferReceived',
    failReceived: 'Completed',
    cancel: 'Completed',
    expectedResponseTimeout: 'Completed',
    retransmitTimeout: 'PQOSent',
    retriesExhausted: 'Completed',
  },
  ServerProcessing: {
    moreTimeRequestReceived: 'ServerProcessing',
    offerReceived: 'OfferReceived',
    failReceived: 'Cancelled',
    cancel: 'Cancelled',
    expectedResponseTimeout: 'Cancelled',
    expectedOfferTimeout: 'Cancelled',
  },
  'ServerProcessing/moreTime': {
    moreTimeRequestReceived: 'ServerProcessing',
    grantMoreTime: 'ServerProcessing',
    refuseMoreTime: 'ServerProcessing',
    offerReceived: 'OfferReceived',
    failReceived: 'Cancelled',
    cancel: 'Cancelled',
    expectedResponseTimeout: 'Cancelled',
    expectedOfferTimeout: 'Cancelled',
  },
  'ServerProcessing/update': {
    moreTimeRequestReceived: 'ServerProcessing',
    offerReceived: 'OfferReceived',
    failReceived: 'Completed',
    cancel: 'Completed',
    expectedResponseTimeout: 'Completed',
    expectedOfferTimeout: 'Completed',
  },
  OfferReceived: {
    processOffer: 'OfferProcessing',
    accept: 'AcceptSent',
    decline: 'Cancelled',
    cancel: 'Cancelled',
    validityOfferTimeout: 'Cancelled',
  },
  'OfferReceived/update': {
    processOffer: 'OfferProcessing',
    accept: 'AcceptSent',
    decline: 'Completed',
    cancel: 'Completed',
    validityOfferTimeout: 'Completed',
  },
  OfferProcessing: {
    accept: 'AcceptSent',
    decline: 'Cancelled',
    cancel: 'Cancelled',
    failReceived: 'Cancelled',
    validityOfferTimeout: 'Cancelled',
  },
  AcceptSent: {
    ackReceived: 'Completed',
    processingReceived: 'AcceptSent',
    failReceived: 'Cancelled',
    cancel: 'AcceptSent',
    retransmitTimeout: 'AcceptSent',
    retriesExhausted: 'AcceptSent',
  },
  'AcceptSent/interim': {
    ackReceived: 'Completed',
    processingReceived: 'AcceptSent',
    failReceived: 'Cancelled',
    cancel: 'AcceptSent',
    retriesExhausted: 'AcceptSent',
    requeryDue: 'AcceptSent',
  },
  'AcceptSent/update': {
    ackReceived: 'Completed',
    processingReceived: 'AcceptSent',
    failReceived: 'Completed',
    cancel: 'AcceptSent',
    retransmitTimeout: 'AcceptSent',
    retriesExhausted: 'AcceptSent',
  },
  Completed: { sendUpdate: 'PQOSent', withdraw: 'Cancelled' },
  'Completed/scheduled': { sendUpdate: 'PQOSent', withdraw: 'Cancelled', activate: 'Completed' },
  'Completed/ACTIVATE': {
    ackReceived: 'Completed',
    failReceived: 'Completed',
    processingReceived: 'Completed',
    retransmitTimeout: 'Completed',
    retriesExhausted: 'Completed',
    stopRetrying: 'Completed',
  },
  'Completed/CANCEL': {
    ackReceived: 'Completed',
    failReceived: 'Completed',
    processingReceived: 'Completed',
    retransmitTimeout: 'Completed',
    retriesExhausted: 'Completed',
    stopRetrying: 'Completed',
  },
  Cancelled: {},
  'Cancelled/WITHDRAW': {
    ackReceived: 'Cancelled',
    failReceived: 'Cancelled',
    processingReceived: 'Cancelled',
    retransmitTimeout: 'Cancelled',
    retriesExhausted: 'Cancelled',
    stopRetrying: 'Cancelled',
  },
  'Cancelled/WITHDRAW-wait': {
    ackReceived: 'Cancelled',
    failReceived: 'Cancelled',
    processingReceived: 'Cancelled',
    stopRetrying: 'Cancelled',
    withdrawalRetryDue: 'Cancelled',
  },
  'Cancelled/CANCEL-interim': {
    ackReceived: 'Cancelled',
    failReceived: 'Cancelled',
    processingReceived: 'Cancelled',
    retriesExhausted: 'Cancelled',
    stopRetrying: 'Cancelled',
    requeryDue: 'Cancelled',
  },
  'Completed/ACTIVATE-unknown': {
    ackReceived: 'Completed',
    failReceived: 'Completed',
    processingReceived: 'Completed',
    retriesExhausted: 'Completed',
    stopRetrying: 'Completed',
    requeryDue: 'Completed',
  },
  'Cancelled/CANCEL': {
    ackReceived: 'Cancelled',
    failReceived: 'Cancelled',
    processingReceived: 'Cancelled',
    retransmitTimeout: 'Cancelled',
    retriesExhausted: 'Cancelled',
    stopRetrying: 'Cancelled',
  },
};

/**
 * Every alarm a (fixture, event type) pair raises, written from the RFC and
 * docs/state-machines.md (C10, C11, C12): the client alarms its administrator exactly when it
 * gives up or is refused while the outcome at the server is unknown. Every pair not listed
 * must raise none.
 */
const EXPECTED_ALARMS: Record<string, Partial<Record<ClientEventType, AlarmEffect['reason'][]>>> = {
  AcceptSent: { retriesExhausted: ['acceptUnanswered'] },
  'AcceptSent/interim': { retriesExhausted: ['acceptUnanswered'] },
  'AcceptSent/update': { retriesExhausted: ['acceptUnanswered'] },
  'Completed/ACTIVATE': { retriesExhausted: ['activationUnanswered'] },
  'Completed/ACTIVATE-unknown': { retriesExhausted: ['activationUnanswered'], processingReceived: [] },
  'Cancelled/WITHDRAW': { retriesExhausted: ['withdrawalUnanswered'], failReceived: ['withdrawalRefused'] },
  'Cancelled/WITHDRAW-wait': { failReceived: ['withdrawalRefused'] },
};

function step(order: ClientOrderState, event: ClientEvent): { next: ClientOrderState; effects: ClientEffect[] } {
  const out = transitionClient(order, event);
  if (!out.ok) assert.fail(`${event.type} rejected in ${order.state}: ${out.rejection.reason}`);
  return out;
}

const sends = (effects: ClientEffect[]) => effects.filter((e) => e.type === 'send');

describe('client FSM: exhaustive state × event table', () => {
  test('samples cover every event type and fixtures cover every state', () => {
    assert.deepEqual(Object.keys(SAMPLE).sort(), [...CLIENT_EVENT_TYPES].sort());
    assert.deepEqual(new Set(Object.values(FIXTURES).map((f) => f.state)), new Set(CLIENT_STATES));
    assert.deepEqual(Object.keys(EXPECTED).sort(), Object.keys(FIXTURES).sort());
  });

  test('every fixture satisfies the invariants', () => {
    for (const [name, order] of Object.entries(FIXTURES)) assert.deepEqual(clientOrderProblems(order), [], name);
  });

  for (const [name, order] of Object.entries(FIXTURES)) {
    test(`${name}: outcome of all ${CLIENT_EVENT_TYPES.length} event types`, () => {
      const expected = EXPECTED[name] ?? {};
      for (const event of EVENTS) {
        const out = transitionClient(order, event);
        const want = expected[event.type];
        if (want === undefined) {
          assert.equal(out.ok, false, `${name} + ${event.type} must be rejected`);
          if (!out.ok) {
            assert.equal(out.rejection.state, order.state);
            assert.equal(out.rejection.event, event.type);
            assert.ok(out.rejection.reason.length > 0);
            assert.equal(out.rejection.failWith, undefined, 'a client never answers with FAIL');
          }
        } else {
          assert.ok(out.ok, `${name} + ${event.type} must be accepted: ${out.ok ? '' : out.rejection.reason}`);
          if (out.ok) {
            assert.equal(out.next.state, want, `${name} + ${event.type}`);
            assert.deepEqual(clientOrderProblems(out.next), [], `${name} + ${event.type}`);
          }
        }
      }
    });
  }

  test('alarms: exactly the listed (state, event) pairs raise one, and which (11.1.2, C10, C12)', () => {
    for (const name of Object.keys(EXPECTED_ALARMS)) assert.ok(name in FIXTURES, name);
    for (const [name, order] of Object.entries(FIXTURES)) {
      for (const event of EVENTS) {
        const out = transitionClient(order, event);
        const alarms = out.ok ? out.effects.flatMap((e) => (e.type === 'alarm' ? [e.reason] : [])) : [];
        assert.deepEqual(alarms, EXPECTED_ALARMS[name]?.[event.type] ?? [], `${name} + ${event.type}`);
      }
    }
  });

  test('the table lists exactly the event types some fixture accepts (the table is enumerable data)', () => {
    for (const state of CLIENT_STATES) {
      const accepted = new Set<string>();
      for (const [name, order] of Object.entries(FIXTURES)) {
        if (order.state === state) for (const type of Object.keys(EXPECTED[name] ?? {})) accepted.add(type);
      }
      assert.deepEqual(Object.keys(CLIENT_TRANSITIONS[state]).sort(), [...accepted].sort(), state);
    }
  });

  test('unknown states, unknown event types and prototype keys are rejections, not exceptions', () => {
    const weird = [
      { type: 'toString' },
      { type: '__proto__' },
      { type: 'constructor' },
      { type: 'nope' },
    ] as unknown as ClientEvent[];
    for (const event of weird) {
      const out = transitionClient(createClientOrder(), event);
      assert.equal(out.ok, false);
    }
    const out = transitionClient({ state: 'Bogus', cycle: 'quotation', hasAgreement: false } as unknown as ClientOrderState, SAMPLE.cancel);
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.rejection.reason, /unknown state/);
  });
});

describe('client FSM: effects and state data', () => {
  test('approve then QUOTATION: retransmission and response timers (11.1.1)', () => {
    const approved = step(createClientOrder(), SAMPLE.adminApprove).next;
    const { next, effects } = step(approved, { type: 'sendQuotation', expectedResponseTime: T1, activationType: 'scheduled' });
    assert.deepEqual(effects, [
      { type: 'send', method: 'QUOTATION', expectedResponseTime: T1 },
      { type: 'startTimer', timer: 'retransmit' },
      { type: 'startTimer', timer: 'expectedResponse', at: T1 },
    ]);
    assert.deepEqual(next.outstanding, { method: 'QUOTATION', retransmitting: true });
    assert.deepEqual(next.terms, { activationType: 'scheduled' });
    // Without EXPECTED_RESPONSE_TIME no response timer runs ("infinite", 11.1.1).
    const noTimer = step(approved, { type: 'sendQuotation' }).effects;
    assert.ok(!noTimer.some((e) => e.type === 'startTimer' && e.timer === 'expectedResponse'));
  });

  test('admin rejection and local cancel before sending send nothing', () => {
    for (const [event, reason] of [
      [SAMPLE.adminReject, 'rejected'],
      [SAMPLE.cancel, 'cancelled'],
    ] as const) {
      const { next, effects } = step(FIXTURES.AwaitingProcessing!, event);
      assert.equal(next.cancelReason, reason);
      assert.deepEqual(sends(effects), []);
    }
  });

  test('PROCESSING with EXPECTED_OFFER_TIME replaces the response deadline (11.1.1)', () => {
    const { next, effects } = step(FIXTURES.PQOSent!, { type: 'processingReceived', expectedOfferTime: T2 });
    assert.equal(next.outstanding, undefined);
    assert.deepEqual(effects, [
      { type: 'cancelTimer', timer: 'retransmit' },
      { type: 'cancelTimer', timer: 'expectedResponse' },
      { type: 'startTimer', timer: 'expectedOffer', at: T2 },
    ]);
  });

  test('more time: grant sends ACK with the time and moves the offer deadline; refuse sends FAIL 7 (9.2.2)', () => {
    const asked = step(FIXTURES.ServerProcessing!, { type: 'moreTimeRequestReceived', expectedOfferTime: T2 });
    assert.equal(asked.next.moreTimeRequested, T2);
    assert.deepEqual(asked.effects, [{ type: 'notify', what: 'decideMoreTime' }]);
    const granted = step(asked.next, SAMPLE.grantMoreTime);
    assert.equal(granted.next.moreTimeRequested, undefined);
    assert.deepEqual(granted.effects, [
      { type: 'send', method: 'ACK', cpd: 'none', expectedResponseTime: T2 },
      { type: 'cancelTimer', timer: 'expectedResponse' },
      { type: 'cancelTimer', timer: 'expectedOffer' },
      { type: 'startTimer', timer: 'expectedOffer', at: T2 },
    ]);
    const refused = step(asked.next, SAMPLE.refuseMoreTime);
    assert.equal(refused.next.state, 'ServerProcessing');
    assert.deepEqual(refused.effects, [{ type: 'send', method: 'FAIL', statusCode: 7 }]);
  });

  test('OFFER starts the validity timer and records the offered activation terms', () => {
    const { next, effects } = step(FIXTURES.ServerProcessing!, {
      type: 'offerReceived',
      validityOfferTime: T2,
      activationType: 'scheduled',
      activationSchedule: T1,
    });
    assert.deepEqual(next.terms, { activationType: 'scheduled', activationSchedule: T1 });
    assert.ok(effects.some((e) => e.type === 'startTimer' && e.timer === 'validityOffer' && e.at === T2));
  });

  test('DECLINE carries its reasons, ends the cycle and waits for the ACK', () => {
    const { next, effects } = step(FIXTURES.OfferProcessing!, { type: 'decline', reasons: [1, 3] });
    assert.equal(next.cancelReason, 'declined');
    assert.deepEqual(next.outstanding, { method: 'DECLINE', retransmitting: true });
    assert.deepEqual(sends(effects), [{ type: 'send', method: 'DECLINE', reasons: [1, 3] }]);
    const acked = step(next, SAMPLE.ackReceived);
    assert.equal(acked.next.outstanding, undefined);
  });

  test('timeouts: the response and offer timers send CANCEL (8.5), offer expiry sends nothing (9.1.8)', () => {
    for (const [fixture, event] of [
      ['PQOSent', SAMPLE.expectedResponseTimeout],
      ['ServerProcessing', SAMPLE.expectedOfferTimeout],
    ] as const) {
      const { next, effects } = step(FIXTURES[fixture]!, event);
      assert.equal(next.cancelReason, 'timeout');
      assert.deepEqual(sends(effects), [{ type: 'send', method: 'CANCEL' }]);
    }
    const expired = step(FIXTURES.OfferReceived!, SAMPLE.validityOfferTimeout);
    assert.equal(expired.next.cancelReason, 'expired');
    assert.deepEqual(sends(expired.effects), []);
  });

  test('ACK to ACCEPT concludes the agreement with its activation sub-state', () => {
    const plain = step(FIXTURES.AcceptSent!, SAMPLE.ackReceived).next;
    assert.deepEqual(plain, { state: 'Completed', cycle: 'quotation', hasAgreement: true, activation: { status: 'active' } });
    const scheduled = step({ ...FIXTURES.AcceptSent!, terms: { activationType: 'scheduled' } }, SAMPLE.ackReceived).next;
    assert.deepEqual(scheduled.activation, { status: 'inactive' });
    assert.equal(scheduled.activationType, 'scheduled');
    const at = step({ ...FIXTURES.AcceptSent!, terms: { activationSchedule: T1 } }, SAMPLE.ackReceived).next;
    assert.deepEqual(at.activation, { status: 'scheduled', at: T1 });
  });

  test('a failed, cancelled or timed-out UPDATE cycle keeps the agreement', () => {
    const base: ClientOrderState = {
      state: 'ServerProcessing',
      cycle: 'update',
      hasAgreement: true,
      activationType: 'scheduled',
      activation: { status: 'scheduled', at: T1 },
      terms: { activationType: 'scheduled' },
    };
    const failed = step(base, SAMPLE.failReceived).next;
    assert.deepEqual(failed, {
      state: 'Completed',
      cycle: 'update',
      hasAgreement: true,
      updateEndedBy: 'failed',
      activationType: 'scheduled',
      activation: { status: 'scheduled', at: T1 },
    });
    const cancelled = step(base, SAMPLE.cancel);
    assert.equal(cancelled.next.state, 'Completed');
    assert.equal(cancelled.next.updateEndedBy, 'cancelled');
    assert.deepEqual(cancelled.next.outstanding, { method: 'CANCEL', retransmitting: true });
    // The next UPDATE clears the remark about the previous one.
    const again = step({ ...failed }, SAMPLE.sendUpdate).next;
    assert.equal(again.updateEndedBy, undefined);
    assert.equal(again.cycle, 'update');
  });

  test('a successful UPDATE of a scheduled order keeps its activation status', () => {
    const order: ClientOrderState = {
      state: 'AcceptSent',
      cycle: 'update',
      hasAgreement: true,
      activationType: 'scheduled',
      activation: { status: 'active' },
      terms: { activationType: 'scheduled' },
      outstanding: { method: 'ACCEPT', retransmitting: true },
    };
    assert.deepEqual(step(order, SAMPLE.ackReceived).next.activation, { status: 'active' });
  });

  test('ACTIVATE: only for scheduled orders; the ACK applies the schedule (9.2.11)', () => {
    const rejected = transitionClient(FIXTURES.Completed!, SAMPLE.activate);
    assert.equal(rejected.ok, false);
    for (const [schedule, activation] of [
      [null, { status: 'active' }],
      [0, { status: 'inactive' }],
      [T2, { status: 'scheduled', at: T2 }],
    ] as const) {
      const sent = step(FIXTURES['Completed/scheduled']!, { type: 'activate', schedule });
      assert.deepEqual(sends(sent.effects), [{ type: 'send', method: 'ACTIVATE', activationSchedule: schedule }]);
      const acked = step(sent.next, SAMPLE.ackReceived).next;
      assert.deepEqual(acked.activation, activation);
      assert.equal(acked.outstanding, undefined);
    }
  });

  test('one outstanding request at a time on an agreement', () => {
    for (const event of [SAMPLE.withdraw, SAMPLE.sendUpdate, SAMPLE.activate]) {
      const out = transitionClient(FIXTURES['Completed/ACTIVATE']!, event);
      assert.equal(out.ok, false);
      if (!out.ok) assert.match(out.rejection.reason, /ACTIVATE still waits/);
    }
  });

  test('WITHDRAW unanswered: alarm, retry cycle no more often than every 60 s, then a fresh WITHDRAW (11.1.2)', () => {
    const withdrawn = step(FIXTURES.Completed!, SAMPLE.withdraw);
    assert.equal(withdrawn.next.state, 'Cancelled');
    assert.equal(withdrawn.next.cancelReason, 'withdrawn');
    assert.equal(withdrawn.next.activation, undefined);
    const resent = step(withdrawn.next, SAMPLE.retransmitTimeout);
    assert.deepEqual(sends(resent.effects), [{ type: 'send', method: 'WITHDRAW', retransmission: true }]);
    const exhausted = step(resent.next, SAMPLE.retriesExhausted);
    assert.deepEqual(exhausted.effects, [
      { type: 'cancelTimer', timer: 'retransmit' },
      { type: 'cancelTimer', timer: 'requery' },
      { type: 'alarm', reason: 'withdrawalUnanswered' },
      { type: 'startTimer', timer: 'withdrawalRetry', minDelaySeconds: 60, preferredDelaySeconds: 300 },
    ]);
    const cycle = step(exhausted.next, SAMPLE.withdrawalRetryDue);
    assert.deepEqual(cycle.effects, [{ type: 'send', method: 'WITHDRAW' }, { type: 'startTimer', timer: 'retransmit' }]);
    const done = step(cycle.next, SAMPLE.ackReceived).next;
    assert.equal(done.outstanding, undefined);
    // A refused WITHDRAW leaves the agreement's fate unknown: alarm.
    const refused = step(withdrawn.next, SAMPLE.failReceived).effects;
    assert.ok(refused.some((e) => e.type === 'alarm' && e.reason === 'withdrawalRefused'));
  });

  test('ACTIVATE unanswered after the last retry: the request is given up with an alarm, the activation is unchanged', () => {
    const sent = step(FIXTURES['Completed/scheduled']!, { type: 'activate', schedule: null });
    const resent = step(sent.next, SAMPLE.retransmitTimeout);
    assert.deepEqual(sends(resent.effects), [{ type: 'send', method: 'ACTIVATE', retransmission: true }]);
    const { next, effects } = step(resent.next, SAMPLE.retriesExhausted);
    assert.deepEqual(effects, [
      { type: 'cancelTimer', timer: 'retransmit' },
      { type: 'cancelTimer', timer: 'requery' },
      { type: 'alarm', reason: 'activationUnanswered' },
      { type: 'notify', what: 'requestUnanswered' },
    ]);
    assert.equal(next.state, 'Completed');
    assert.equal(next.outstanding, undefined);
    assert.deepEqual(next.activation, { status: 'inactive' }, 'the schedule asked for is not applied');
    // The administrator giving up on purpose is no alarm.
    const stopped = step(sent.next, SAMPLE.stopRetrying);
    assert.ok(!stopped.effects.some((e) => e.type === 'alarm'));
  });

  test('ACCEPT unanswered after the last retry (C10): outcome unknown, alarm once, re-queried, a late ACK is the truth', () => {
    const { next, effects } = step(FIXTURES.AcceptSent!, { type: 'retriesExhausted', requery: true });
    assert.equal(next.state, 'AcceptSent');
    assert.deepEqual(next.outstanding, { method: 'ACCEPT', retransmitting: false, unknown: true });
    assert.ok(effects.some((e) => e.type === 'alarm' && e.reason === 'acceptUnanswered'));
    assert.ok(effects.some((e) => e.type === 'startTimer' && e.timer === 'requery'));
    const again = step(next, SAMPLE.requeryDue);
    assert.deepEqual(sends(again.effects), [{ type: 'send', method: 'ACCEPT', retransmission: true }]);
    const second = step(again.next, { type: 'retriesExhausted' });
    assert.ok(!second.effects.some((e) => e.type === 'alarm'), 'the alarm is raised once');
    assert.ok(!second.effects.some((e) => e.type === 'startTimer'), 'no more rounds when the runtime says so');
    const late = step(second.next, SAMPLE.ackReceived);
    assert.equal(late.next.state, 'Completed');
    assert.ok(late.effects.some((e) => e.type === 'notify' && e.what === 'outcomeKnown'));
  });

  test('interim PROCESSING keeps a deadline (C9): re-query later, overdue after the allowed rounds', () => {
    const interim = step(FIXTURES.AcceptSent!, SAMPLE.processingReceived);
    assert.deepEqual(interim.next.outstanding, { method: 'ACCEPT', retransmitting: false, interim: 1 });
    assert.ok(interim.effects.some((e) => e.type === 'startTimer' && e.timer === 'requery'));
    const overdue = step(interim.next, { type: 'processingReceived', overdue: true });
    assert.equal(overdue.next.outstanding?.unknown, true);
    assert.ok(overdue.effects.some((e) => e.type === 'alarm' && e.reason === 'answerOverdue'));
  });

  test('cancel while the ACCEPT is outstanding (C23): no CANCEL on the wire; an ACK then withdraws the agreement', () => {
    const deferred = step(FIXTURES.AcceptSent!, SAMPLE.cancel);
    assert.equal(deferred.next.cancelRequested, true);
    assert.deepEqual(sends(deferred.effects), []);
    const acked = step(deferred.next, SAMPLE.ackReceived);
    assert.equal(acked.next.state, 'Cancelled');
    assert.equal(acked.next.cancelReason, 'withdrawn');
    assert.deepEqual(sends(acked.effects), [{ type: 'send', method: 'WITHDRAW' }]);
    const failed = step(deferred.next, SAMPLE.failReceived);
    assert.equal(failed.next.cancelReason, 'failed');
    const update = step(step(FIXTURES['AcceptSent/update']!, SAMPLE.cancel).next, SAMPLE.ackReceived);
    assert.equal(update.next.state, 'Completed');
    assert.ok(update.effects.some((e) => e.type === 'alarm' && e.reason === 'cancelTooLate'));
  });

  test('isMoreTimeRequest tells time-extension requests from the first PROCESSING', () => {
    assert.equal(isMoreTimeRequest(FIXTURES.PQOSent!, { expectedOfferTime: T1 }), false);
    assert.equal(isMoreTimeRequest(FIXTURES.PQOSent!, { expectedOfferTime: T1, processingSubcode: 2 }), true);
    assert.equal(isMoreTimeRequest(FIXTURES.ServerProcessing!, { expectedOfferTime: T1 }), true);
    assert.equal(isMoreTimeRequest(FIXTURES.ServerProcessing!, {}), false);
    assert.equal(isMoreTimeRequest(FIXTURES.AcceptSent!, { expectedOfferTime: T1 }), false);
  });

  test('clientOrderProblems reports broken orders', () => {
    assert.notDeepEqual(clientOrderProblems({ state: 'Cancelled', cycle: 'quotation', hasAgreement: false }), []);
    assert.notDeepEqual(clientOrderProblems({ state: 'Completed', cycle: 'quotation', hasAgreement: false }), []);
    assert.notDeepEqual(clientOrderProblems({ ...FIXTURES.Completed!, outstanding: { method: 'ACCEPT', retransmitting: true } }), []);
    assert.notDeepEqual(clientOrderProblems(null), []);
    assert.notDeepEqual(clientOrderProblems({ state: 'Nope' }), []);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const dateTimeArb = fc
  .integer({ min: 1_700_000_000, max: 1_900_000_000 })
  .map((seconds) => asDateTime(new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')));
const scheduleArb = fc.oneof(fc.constant(null), fc.constant(0 as const), dateTimeArb);
const activationTypeArb = fc.option(fc.constantFrom('permanent' as const, 'scheduled' as const), { nil: undefined });
const statusArb = fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8 as const);

const eventArb: fc.Arbitrary<ClientEvent> = fc.oneof(
  fc.constantFrom(
    ...EVENTS.filter((e) =>
      ['sendQuotation', 'sendUpdate', 'activate', 'moreTimeRequestReceived', 'offerReceived', 'failReceived', 'decline', 'processingReceived'].every(
        (t) => t !== e.type,
      ),
    ),
  ),
  fc.record({ type: fc.constant('sendQuotation' as const), expectedResponseTime: fc.option(dateTimeArb, { nil: undefined }), activationType: activationTypeArb }),
  fc.record({ type: fc.constant('sendUpdate' as const), expectedResponseTime: dateTimeArb, activationType: activationTypeArb }),
  fc.record({ type: fc.constant('activate' as const), schedule: scheduleArb }),
  fc.record({ type: fc.constant('moreTimeRequestReceived' as const), expectedOfferTime: dateTimeArb }),
  fc.record({
    type: fc.constant('offerReceived' as const),
    validityOfferTime: dateTimeArb,
    activationType: activationTypeArb,
    activationSchedule: fc.option(scheduleArb, { nil: undefined }),
  }),
  fc.record({ type: fc.constant('failReceived' as const), statusCode: statusArb }),
  fc.record({ type: fc.constant('decline' as const), reasons: fc.option(fc.subarray([1, 2, 3] as const, { minLength: 1 }), { nil: undefined }) }),
  fc.record({ type: fc.constant('processingReceived' as const), expectedOfferTime: fc.option(dateTimeArb, { nil: undefined }) }),
);

const startArb = fc.constantFrom(createClientOrder(), ...Object.values(FIXTURES));

function checkStep(order: ClientOrderState, event: ClientEvent): ClientOrderState {
  const out = transitionClient(order, event);
  if (!out.ok) {
    assert.equal(typeof out.rejection.reason, 'string');
    return order;
  }
  assert.deepEqual(clientOrderProblems(out.next), [], `${order.state} + ${event.type}`);
  assert.deepEqual(JSON.parse(JSON.stringify(out.next)), out.next, 'the state is plain JSON');
  assert.deepEqual(JSON.parse(JSON.stringify(out.effects)), out.effects, 'the effects are plain JSON');
  const rule = CLIENT_TRANSITIONS[order.state][event.type];
  assert.ok(rule && rule.to.includes(out.next.state), `${order.state} + ${event.type} → ${out.next.state} is declared`);
  if (order.state === 'Cancelled') assert.equal(out.next.state, 'Cancelled', 'Cancelled is final');
  return out.next;
}

describe('client FSM: properties', () => {
  test('random event sequences never throw and always leave a valid, serialisable order', () => {
    fc.assert(
      fc.property(startArb, fc.array(eventArb, { maxLength: 40 }), (start, events) => {
        let order = start;
        for (const event of events) order = checkStep(order, event);
      }),
      { numRuns: 400 },
    );
  });

  test('random walks along accepted transitions stay valid (deep coverage)', () => {
    const walkEvents: ClientEvent[] = [
      ...EVENTS,
      { type: 'sendQuotation', activationType: 'scheduled' },
      { type: 'offerReceived', validityOfferTime: T2, activationType: 'scheduled' },
      { type: 'activate', schedule: 0 },
      { type: 'activate', schedule: T1 },
      { type: 'failReceived', statusCode: 7 },
    ];
    fc.assert(
      fc.property(startArb, fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (start, choices) => {
        let order = start;
        for (const choice of choices) {
          const accepted = walkEvents.filter((event) => transitionClient(order, event).ok);
          if (accepted.length === 0) break;
          order = checkStep(order, accepted[choice % accepted.length]!);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('garbage events are rejected without exceptions', () => {
    fc.assert(
      fc.property(startArb, fc.string(), (start, type) => {
        const out = transitionClient(start, { type } as unknown as ClientEvent);
        if (!(CLIENT_EVENT_TYPES as readonly string[]).includes(type)) assert.equal(out.ok, false);
      }),
      { numRuns: 300 },
    );
  });
});
