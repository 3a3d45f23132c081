import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { asDateTime } from '../date-time';
import {
  SERVER_EVENT_TYPES,
  SERVER_TRANSITIONS,
  createServerOrder,
  serverOrderProblems,
  transitionServer,
  type ServerEffect,
  type ServerEvent,
  type ServerEventType,
  type ServerOrderState,
} from '../fsm/server';
import { SERVER_STATES, type ServerState } from '../fsm/states';

const T1 = asDateTime('2026-03-01T10:00:00Z');
const T2 = asDateTime('2026-03-01T12:00:00Z');

/** One sample of every event type (the mapped type makes the compiler demand all of them). */
const SAMPLE: { [K in ServerEventType]: Extract<ServerEvent, { type: K }> } = {
  updateReceived: { type: 'updateReceived' },
  processingReceived: { type: 'processingReceived' },
  acceptReceived: { type: 'acceptReceived' },
  declineReceived: { type: 'declineReceived' },
  cancelReceived: { type: 'cancelReceived' },
  withdrawReceived: { type: 'withdrawReceived' },
  activateReceived: { type: 'activateReceived', schedule: null },
  ackReceived: { type: 'ackReceived', expectedResponseTime: T2 },
  failReceived: { type: 'failReceived', statusCode: 7 },
  startProcessing: { type: 'startProcessing', expectedOfferTime: T1 },
  makeOffer: { type: 'makeOffer', validityOfferTime: T2 },
  decideFail: { type: 'decideFail', statusCode: 5 },
  needChildOrder: { type: 'needChildOrder' },
  needAdminApproval: { type: 'needAdminApproval' },
  needMoreTime: { type: 'needMoreTime', expectedOfferTime: T2, processingSubcode: 2 },
  adminApprove: { type: 'adminApprove' },
  adminReject: { type: 'adminReject' },
  confirmAccept: { type: 'confirmAccept' },
  refuseAccept: { type: 'refuseAccept', statusCode: 5 },
  refuseActivate: { type: 'refuseActivate', statusCode: 5 },
  testPeriodEnded: { type: 'testPeriodEnded' },
  sendChildQuotation: { type: 'sendChildQuotation' },
  childProcessingReceived: { type: 'childProcessingReceived' },
  childOfferReceived: { type: 'childOfferReceived' },
  processChildOffer: { type: 'processChildOffer' },
  acceptChildOffer: { type: 'acceptChildOffer' },
  childAckReceived: { type: 'childAckReceived' },
  childFailReceived: { type: 'childFailReceived', statusCode: 5 },
  cancelChild: { type: 'cancelChild' },
  declineChildOffer: { type: 'declineChildOffer', reasons: [2] },
  withdrawChild: { type: 'withdrawChild' },
  childTimeout: { type: 'childTimeout' },
  resumeParent: { type: 'resumeParent' },
  validityOfferTimeout: { type: 'validityOfferTimeout' },
  retransmitTimeout: { type: 'retransmitTimeout' },
  retriesExhausted: { type: 'retriesExhausted' },
};
const EVENTS = Object.values(SAMPLE) as ServerEvent[];

const Q = { cycle: 'quotation', hasAgreement: false, recursionAllowed: true } as const;
const U = { cycle: 'update', hasAgreement: true, recursionAllowed: true, activation: { status: 'active' } } as const;

/** Representative orders: every state, plus the variants whose data changes the outcome. */
const FIXTURES: Record<string, ServerOrderState> = {
  PQOReceived: { state: 'PQOReceived', ...Q, terms: {} },
  'PQOReceived/update': { state: 'PQOReceived', ...U, terms: {} },
  AwaitingProcessing: { state: 'AwaitingProcessing', ...Q, terms: {} },
  'AwaitingProcessing/local': { state: 'AwaitingProcessing', ...Q, recursionAllowed: false, terms: {} },
  'AwaitingProcessing/admin': { state: 'AwaitingProcessing', ...Q, adminApprovalPending: true, terms: {} },
  'AwaitingProcessing/moreTime': { state: 'AwaitingProcessing', ...Q, moreTimeRequested: T2, terms: {} },
  'AwaitingProcessing/update': { state: 'AwaitingProcessing', ...U, terms: {} },
  OfferProposed: { state: 'OfferProposed', ...Q, offerReserved: true, offerRetransmitting: true, terms: {} },
  'OfferProposed/quiet': { state: 'OfferProposed', ...Q, offerReserved: true, terms: {} },
  'OfferProposed/update': { state: 'OfferProposed', ...U, offerReserved: true, offerRetransmitting: true, terms: {} },
  ProcessingReceived: { state: 'ProcessingReceived', ...Q, offerReserved: true, terms: {} },
  AcceptReceived: { state: 'AcceptReceived', ...Q, offerReserved: true, terms: {} },
  'AcceptReceived/update': { state: 'AcceptReceived', ...U, offerReserved: true, terms: {} },
  Completed: { state: 'Completed', ...Q, hasAgreement: true, activation: { status: 'active' } },
  'Completed/scheduled': {
    state: 'Completed',
    ...Q,
    hasAgreement: true,
    activationType: 'scheduled',
    activation: { status: 'inactive' },
  },
  Cancelled: { state: 'Cancelled', ...Q, cancelReason: 'declined' },
  ChildCreated: { state: 'ChildCreated', ...Q, terms: {} },
  ChildPQOSent: { state: 'ChildPQOSent', ...Q, terms: {} },
  ChildServerProcessing: { state: 'ChildServerProcessing', ...Q, terms: {} },
  'ChildServerProcessing/moreTime': { state: 'ChildServerProcessing', ...Q, moreTimeRequested: T2, terms: {} },
  ChildOfferReceived: { state: 'ChildOfferReceived', ...Q, terms: {} },
  ChildOfferProcessing: { state: 'ChildOfferProcessing', ...Q, terms: {} },
  ChildAcceptSent: { state: 'ChildAcceptSent', ...Q, terms: {} },
  ChildCompleted: { state: 'ChildCompleted', ...Q, childAgreementsInCycle: 1, terms: {} },
};

const fixture = (name: string): ServerOrderState => {
  const order = FIXTURES[name];
  if (!order) throw new Error(name);
  return order;
};

const AP = 'AwaitingProcessing';
/**
 * Expected outcome of every (fixture, event type) pair, written from the RFC and
 * docs/state-machines.md, not from the implementation. Unlisted pairs must be rejected.
 */
const EXPECTED: Record<string, Partial<Record<ServerEventType, ServerState>>> = {
  PQOReceived: { startProcessing: AP, makeOffer: 'OfferProposed', decideFail: 'Cancelled', cancelReceived: 'Cancelled' },
  'PQOReceived/update': { startProcessing: AP, makeOffer: 'OfferProposed', decideFail: 'Completed', cancelReceived: 'Completed' },
  AwaitingProcessing: {
    makeOffer: 'OfferProposed',
    decideFail: 'Cancelled',
    needChildOrder: 'ChildCreated',
    needAdminApproval: AP,
    needMoreTime: AP,
    cancelReceived: 'Cancelled',
  },
  'AwaitingProcessing/local': {
    makeOffer: 'OfferProposed',
    decideFail: 'Cancelled',
    needAdminApproval: AP,
    needMoreTime: AP,
    cancelReceived: 'Cancelled',
  },
  'AwaitingProcessing/admin': { adminApprove: AP, adminReject: 'Cancelled', needMoreTime: AP, cancelReceived: 'Cancelled' },
  'AwaitingProcessing/moreTime': {
    makeOffer: 'OfferProposed',
    decideFail: 'Cancelled',
    needChildOrder: 'ChildCreated',
    needAdminApproval: AP,
    ackReceived: AP,
    failReceived: AP,
    cancelReceived: 'Cancelled',
  },
  'AwaitingProcessing/update': {
    makeOffer: 'OfferProposed',
    decideFail: 'Completed',
    needChildOrder: 'ChildCreated',
    needAdminApproval: AP,
    needMoreTime: AP,
    cancelReceived: 'Completed',
  },
  OfferProposed: {
    processingReceived: 'ProcessingReceived',
    acceptReceived: 'AcceptReceived',
    declineReceived: 'Cancelled',
    cancelReceived: 'Cancelled',
    validityOfferTimeout: 'Cancelled',
    retransmitTimeout: 'OfferProposed',
    retriesExhausted: 'OfferProposed',
  },
  'OfferProposed/quiet': {
    processingReceived: 'ProcessingReceived',
    acceptReceived: 'AcceptReceived',
    declineReceived: 'Cancelled',
    cancelReceived: 'Cancelled',
    validityOfferTimeout: 'Cancelled',
  },
  'OfferProposed/update': {
    processingReceived: 'ProcessingReceived',
    acceptReceived: 'AcceptReceived',
    declineReceived: 'Completed',
    cancelReceived: 'Completed',
    validityOfferTimeout: 'Completed',
    retransmitTimeout: 'OfferProposed',
    retriesExhausted: 'OfferProposed',
  },
  ProcessingReceived: {
    acceptReceived: 'AcceptReceived',
    declineReceived: 'Cancelled',
    cancelReceived: 'Cancelled',
    validityOfferTimeout: 'Cancelled',
  },
  AcceptReceived: { confirmAccept: 'Completed', refuseAccept: 'Cancelled', cancelReceived: 'Cancelled' },
  'AcceptReceived/update': { confirmAccept: 'Completed', refuseAccept: 'Completed', cancelReceived: 'Completed' },
  Completed: { updateReceived: 'PQOReceived', withdrawReceived: 'Cancelled', refuseActivate: 'Completed', testPeriodEnded: 'Cancelled' },
  'Completed/scheduled': {
    updateReceived: 'PQOReceived',
    withdrawReceived: 'Cancelled',
    testPeriodEnded: 'Cancelled',
    activateReceived: 'Completed',
    refuseActivate: 'Completed',
  },
  Cancelled: {},
  ChildCreated: { sendChildQuotation: 'ChildPQOSent', cancelChild: AP, cancelReceived: 'Cancelled', needMoreTime: 'ChildCreated' },
  ChildPQOSent: {
    childProcessingReceived: 'ChildServerProcessing',
    childOfferReceived: 'ChildOfferReceived',
    childFailReceived: AP,
    cancelChild: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    needMoreTime: 'ChildPQOSent',
  },
  ChildServerProcessing: {
    childOfferReceived: 'ChildOfferReceived',
    childFailReceived: AP,
    cancelChild: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    needMoreTime: 'ChildServerProcessing',
  },
  'ChildServerProcessing/moreTime': {
    childOfferReceived: 'ChildOfferReceived',
    childFailReceived: AP,
    cancelChild: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    ackReceived: 'ChildServerProcessing',
    failReceived: 'ChildServerProcessing',
  },
  ChildOfferReceived: {
    processChildOffer: 'ChildOfferProcessing',
    acceptChildOffer: 'ChildAcceptSent',
    declineChildOffer: AP,
    cancelChild: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    needMoreTime: 'ChildOfferReceived',
  },
  ChildOfferProcessing: {
    acceptChildOffer: 'ChildAcceptSent',
    declineChildOffer: AP,
    cancelChild: AP,
    childFailReceived: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    needMoreTime: 'ChildOfferProcessing',
  },
  ChildAcceptSent: {
    childAckReceived: 'ChildCompleted',
    childFailReceived: AP,
    cancelChild: AP,
    childTimeout: AP,
    cancelReceived: 'Cancelled',
    needMoreTime: 'ChildAcceptSent',
  },
  ChildCompleted: { resumeParent: AP, withdrawChild: AP, cancelReceived: 'Cancelled', needMoreTime: 'ChildCompleted' },
};

/**
 * While a request for more time is pending, every child state also takes the client's ACK or
 * FAIL 7 (staying put) and refuses a second request.
 */
for (const state of ['ChildCreated', 'ChildPQOSent', 'ChildOfferReceived', 'ChildOfferProcessing', 'ChildAcceptSent', 'ChildCompleted'] as const) {
  FIXTURES[`${state}/moreTime`] = { ...fixture(state), moreTimeRequested: T2 };
  const { needMoreTime: _refused, ...rest } = EXPECTED[state] ?? {};
  EXPECTED[`${state}/moreTime`] = { ...rest, ackReceived: state, failReceived: state };
}

/** Client requests a server answers with FAIL when they do not fit (10.2, 9.2.5, 9.2.7, 9.2.8, 9.2.11). */
const REQUESTS: readonly ServerEventType[] = [
  'updateReceived',
  'acceptReceived',
  'declineReceived',
  'cancelReceived',
  'withdrawReceived',
  'activateReceived',
];

function step(order: ServerOrderState, event: ServerEvent): { next: ServerOrderState; effects: ServerEffect[] } {
  const out = transitionServer(order, event);
  if (!out.ok) assert.fail(`${event.type} rejected in ${order.state}: ${out.rejection.reason}`);
  return out;
}
const sends = (effects: ServerEffect[]) => effects.filter((e) => e.type === 'send');
const has = (effects: ServerEffect[], wanted: ServerEffect) => effects.some((e) => JSON.stringify(e) === JSON.stringify(wanted));

describe('server FSM: exhaustive state × event table', () => {
  test('samples cover every event type and fixtures cover every state', () => {
    assert.deepEqual(Object.keys(SAMPLE).sort(), [...SERVER_EVENT_TYPES].sort());
    assert.deepEqual(new Set(Object.values(FIXTURES).map((f) => f.state)), new Set(SERVER_STATES));
    assert.deepEqual(Object.keys(EXPECTED).sort(), Object.keys(FIXTURES).sort());
  });

  test('every fixture satisfies the invariants', () => {
    for (const [name, order] of Object.entries(FIXTURES)) assert.deepEqual(serverOrderProblems(order), [], name);
  });

  for (const [name, order] of Object.entries(FIXTURES)) {
    test(`${name}: outcome of all ${SERVER_EVENT_TYPES.length} event types`, () => {
      const expected = EXPECTED[name] ?? {};
      for (const event of EVENTS) {
        const out = transitionServer(order, event);
        const want = expected[event.type];
        if (want === undefined) {
          assert.equal(out.ok, false, `${name} + ${event.type} must be rejected`);
          if (!out.ok) {
            assert.equal(out.rejection.state, order.state);
            assert.equal(out.rejection.event, event.type);
            const failWith = !REQUESTS.includes(event.type)
              ? undefined
              : event.type === 'activateReceived' && order.state === 'Completed'
                ? 8 // 9.2.11: explicit activation was not negotiated
                : 1;
            assert.equal(out.rejection.failWith, failWith, `${name} + ${event.type} FAIL code`);
          }
        } else {
          assert.ok(out.ok, `${name} + ${event.type} must be accepted: ${out.ok ? '' : out.rejection.reason}`);
          if (out.ok) {
            assert.equal(out.next.state, want, `${name} + ${event.type}`);
            assert.deepEqual(serverOrderProblems(out.next), [], `${name} + ${event.type}`);
          }
        }
      }
    });
  }

  test('the table lists exactly the event types some fixture accepts (the table is enumerable data)', () => {
    for (const state of SERVER_STATES) {
      const accepted = new Set<string>();
      for (const [name, order] of Object.entries(FIXTURES)) {
        if (order.state === state) for (const type of Object.keys(EXPECTED[name] ?? {})) accepted.add(type);
      }
      assert.deepEqual(Object.keys(SERVER_TRANSITIONS[state]).sort(), [...accepted].sort(), state);
    }
  });

  test('unknown states and event types are rejections, not exceptions', () => {
    for (const type of ['toString', '__proto__', 'hasOwnProperty', 'quotationReceived']) {
      assert.equal(transitionServer(fixture('Completed'), { type } as unknown as ServerEvent).ok, false);
    }
    const out = transitionServer({ ...fixture('Completed'), state: 'Gone' } as unknown as ServerOrderState, SAMPLE.withdrawReceived);
    assert.equal(out.ok, false);
  });
});

describe('server FSM: effects and state data', () => {
  test('a QUOTATION creates the order in PQOReceived; scope "local" forbids child orders (8.8)', () => {
    const { next, effects } = createServerOrder({ activationType: 'scheduled' });
    assert.deepEqual(next, { state: 'PQOReceived', ...Q, terms: { activationType: 'scheduled' } });
    assert.deepEqual(effects, [{ type: 'notify', what: 'decide' }]);
    assert.equal(createServerOrder({ scope: 'local' }).next.recursionAllowed, false);
  });

  test('PROCESSING, more time and the client answers (9.2.2, Figs. 11, 12)', () => {
    const processing = step(fixture('PQOReceived'), SAMPLE.startProcessing);
    assert.deepEqual(processing.effects, [{ type: 'send', method: 'PROCESSING', expectedOfferTime: T1 }]);
    const asked = step(processing.next, SAMPLE.needMoreTime);
    assert.deepEqual(asked.effects, [{ type: 'send', method: 'PROCESSING', expectedOfferTime: T2, processingSubcode: 2 }]);
    assert.equal(asked.next.moreTimeRequested, T2);
    assert.equal(transitionServer(asked.next, SAMPLE.needMoreTime).ok, false, 'one request at a time');
    assert.deepEqual(step(asked.next, SAMPLE.ackReceived).effects, [{ type: 'notify', what: 'moreTimeGranted' }]);
    assert.deepEqual(step(asked.next, SAMPLE.failReceived).effects, [{ type: 'notify', what: 'moreTimeRefused' }]);
    // A client FAIL with another status than 7 does not answer the request for more time.
    assert.equal(transitionServer(asked.next, { type: 'failReceived', statusCode: 1 }).ok, false);
  });

  test('an offer reserves resources, is sent, and starts the validity and retransmission timers', () => {
    const { next, effects } = step(fixture('AwaitingProcessing/moreTime'), {
      type: 'makeOffer',
      validityOfferTime: T2,
      activationType: 'scheduled',
      activationSchedule: T1,
    });
    assert.deepEqual(effects, [
      { type: 'reserveResources' },
      { type: 'send', method: 'OFFER', validityOfferTime: T2, activationSchedule: T1 },
      { type: 'startTimer', timer: 'validityOffer', at: T2 },
      { type: 'startTimer', timer: 'retransmit' },
    ]);
    assert.equal(next.moreTimeRequested, undefined, 'the offer answers the pending time request');
    assert.deepEqual(next.terms, { activationType: 'scheduled', activationSchedule: T1 });
  });

  test('the OFFER is retransmitted until PROCESSING, ACCEPT or DECLINE, or until the last retry (11.2.1)', () => {
    const offered = fixture('OfferProposed');
    assert.deepEqual(step(offered, SAMPLE.retransmitTimeout).effects, [
      { type: 'send', method: 'OFFER', retransmission: true },
      { type: 'startTimer', timer: 'retransmit' },
    ]);
    const quiet = step(offered, SAMPLE.retriesExhausted).next;
    assert.equal(quiet.state, 'OfferProposed');
    assert.equal(quiet.offerRetransmitting, undefined);
    assert.equal(step(offered, SAMPLE.processingReceived).next.offerRetransmitting, undefined);
  });

  test('DECLINE: Cancelled, resources released, ACK with an Empty CPD (9.2.5, 9.2.6)', () => {
    const { next, effects } = step(fixture('ProcessingReceived'), SAMPLE.declineReceived);
    assert.deepEqual(next, { state: 'Cancelled', ...Q, cancelReason: 'declined' });
    assert.ok(has(effects, { type: 'releaseResources', scope: 'negotiation' }));
    assert.deepEqual(sends(effects), [{ type: 'send', method: 'ACK', cpd: 'empty' }]);
  });

  test('CANCEL: ACK with the Requested CPD before the offer, the Offered CPD after; release only if reserved', () => {
    const early = step(fixture('AwaitingProcessing'), SAMPLE.cancelReceived);
    assert.deepEqual(sends(early.effects), [{ type: 'send', method: 'ACK', cpd: 'requested' }]);
    assert.ok(!early.effects.some((e) => e.type === 'releaseResources'));
    const late = step(fixture('AcceptReceived'), SAMPLE.cancelReceived);
    assert.deepEqual(sends(late.effects), [{ type: 'send', method: 'ACK', cpd: 'offered' }]);
    assert.ok(has(late.effects, { type: 'releaseResources', scope: 'negotiation' }));
    assert.equal(late.next.cancelReason, 'cancelled');
  });

  test('CANCEL during a child negotiation cancels or withdraws the child order too', () => {
    const open = step(fixture('ChildOfferReceived'), SAMPLE.cancelReceived).effects;
    assert.ok(has(open, { type: 'send', method: 'CANCEL', to: 'child' }));
    const done = step(fixture('ChildCompleted'), SAMPLE.cancelReceived).effects;
    assert.ok(has(done, { type: 'withdrawChildAgreements', scope: 'negotiation' }));
    assert.ok(!done.some((e) => e.type === 'send' && e.to === 'child'));
    const created = step(fixture('ChildCreated'), SAMPLE.cancelReceived).effects;
    assert.ok(!created.some((e) => e.type === 'send' && e.to === 'child'), 'nothing was sent to the child server yet');
  });

  test('offer expiry removes the order silently and releases its resources (9.1.8)', () => {
    const { next, effects } = step(fixture('OfferProposed'), SAMPLE.validityOfferTimeout);
    assert.equal(next.cancelReason, 'expired');
    assert.deepEqual(sends(effects), []);
    assert.ok(has(effects, { type: 'releaseResources', scope: 'negotiation' }));
  });

  test('ACCEPT then ACK: Completed, ACK with the Offered or Updated CPD, resources committed', () => {
    const accepted = step(fixture('ProcessingReceived'), SAMPLE.acceptReceived);
    assert.deepEqual(accepted.effects, [
      { type: 'cancelTimer', timer: 'validityOffer' },
      { type: 'notify', what: 'confirmAccept' },
    ]);
    const done = step(accepted.next, SAMPLE.confirmAccept);
    assert.deepEqual(done.next, { state: 'Completed', ...Q, hasAgreement: true, activation: { status: 'active' } });
    assert.deepEqual(done.effects, [
      { type: 'send', method: 'ACK', cpd: 'offered' },
      { type: 'commitResources' },
      { type: 'notify', what: 'agreementReached' },
    ]);
    assert.ok(has(step(fixture('AcceptReceived/update'), SAMPLE.confirmAccept).effects, { type: 'send', method: 'ACK', cpd: 'updated' }));
    const withChildren = step({ ...fixture('AcceptReceived'), childAgreementsInCycle: 2 }, SAMPLE.confirmAccept).next;
    assert.equal(withChildren.agreementHasChildren, true);
  });

  test('WITHDRAW releases everything, withdraws child agreements and ACKs with an Empty CPD (11.2.2)', () => {
    const { next, effects } = step({ ...fixture('Completed'), agreementHasChildren: true }, SAMPLE.withdrawReceived);
    assert.deepEqual(next, { state: 'Cancelled', ...Q, cancelReason: 'withdrawn' });
    assert.deepEqual(effects, [
      { type: 'releaseResources', scope: 'all' },
      { type: 'withdrawChildAgreements', scope: 'all' },
      { type: 'send', method: 'ACK', cpd: 'empty' },
      { type: 'notify', what: 'cycleEnded' },
    ]);
  });

  test('the end of a test period (9.1.10.3) withdraws the agreement like a WITHDRAW, but sends nothing (C25)', () => {
    const { next, effects } = step({ ...fixture('Completed'), agreementHasChildren: true }, SAMPLE.testPeriodEnded);
    assert.deepEqual(next, { state: 'Cancelled', ...Q, cancelReason: 'withdrawn' });
    assert.deepEqual(effects, [
      { type: 'releaseResources', scope: 'all' },
      { type: 'withdrawChildAgreements', scope: 'all' },
      { type: 'notify', what: 'cycleEnded' },
    ]);
  });

  test('a first PROCESSING asking for more time (C24): FAIL 7 ends the cycle, ACK keeps it; a later request refused keeps it', () => {
    const asked = step(fixture('PQOReceived'), { type: 'startProcessing', expectedOfferTime: T2, asksMoreTime: true }).next;
    assert.equal(asked.moreTimeRequested, T2);
    assert.equal(asked.moreTimeInitial, true);
    assert.deepEqual(serverOrderProblems(asked), []);
    const refused = step(asked, { type: 'failReceived', statusCode: 7 });
    assert.deepEqual(refused.next, { state: 'Cancelled', ...Q, cancelReason: 'failed' });
    assert.deepEqual(refused.effects.at(-2), { type: 'notify', what: 'moreTimeRefused' });
    assert.deepEqual(refused.effects.at(-1), { type: 'notify', what: 'cycleEnded' });
    const granted = step(asked, { type: 'ackReceived', expectedResponseTime: T2 }).next;
    assert.equal(granted.state, 'AwaitingProcessing');
    assert.equal(granted.moreTimeRequested, undefined);
    assert.equal(granted.moreTimeInitial, undefined);
    // Without asksMoreTime the first PROCESSING asks nothing, as before.
    assert.equal(step(fixture('PQOReceived'), { type: 'startProcessing', expectedOfferTime: T2 }).next.moreTimeRequested, undefined);
    // An UPDATE cycle refused this way falls back to the agreement.
    const update = step(fixture('PQOReceived/update'), { type: 'startProcessing', expectedOfferTime: T2, asksMoreTime: true }).next;
    const back = step(update, { type: 'failReceived', statusCode: 7 }).next;
    assert.equal(back.state, 'Completed');
    assert.equal(back.updateEndedBy, 'failed');
    // In a child state the child negotiation is cancelled with it.
    const child = step(step(asked, { type: 'needChildOrder' }).next, { type: 'sendChildQuotation' }).next;
    const ended = step(child, { type: 'failReceived', statusCode: 7 });
    assert.equal(ended.next.state, 'Cancelled');
    assert.ok(has(ended.effects, { type: 'send', method: 'CANCEL', to: 'child' }));
  });

  test('ACTIVATE keeps the order Completed and switches its activation sub-state (9.2.11)', () => {
    for (const [schedule, activation] of [
      [null, { status: 'active' }],
      [0, { status: 'inactive' }],
      [T1, { status: 'scheduled', at: T1 }],
    ] as const) {
      const { next, effects } = step(fixture('Completed/scheduled'), { type: 'activateReceived', schedule });
      assert.equal(next.state, 'Completed');
      assert.deepEqual(next.activation, activation);
      assert.deepEqual(effects, [
        { type: 'applyActivation', schedule },
        { type: 'send', method: 'ACK', cpd: 'none' },
      ]);
    }
    const refused = step(fixture('Completed/scheduled'), SAMPLE.refuseActivate);
    assert.deepEqual(refused.next, fixture('Completed/scheduled'));
    assert.deepEqual(refused.effects, [{ type: 'send', method: 'FAIL', statusCode: 5 }]);
  });

  test('UPDATE re-enters the negotiation; a failed or declined UPDATE keeps the agreement (9.2.9)', () => {
    const agreement: ServerOrderState = {
      state: 'Completed',
      ...Q,
      hasAgreement: true,
      agreementHasChildren: true,
      activationType: 'scheduled',
      activation: { status: 'active' },
    };
    const update = step(agreement, { type: 'updateReceived', scope: 'local' }).next;
    assert.equal(update.cycle, 'update');
    assert.equal(update.recursionAllowed, false);
    assert.deepEqual(update.terms, { activationType: 'scheduled' });
    const failed = step(step(update, SAMPLE.startProcessing).next, SAMPLE.decideFail);
    assert.deepEqual(failed.next, { ...agreement, cycle: 'update', recursionAllowed: false, updateEndedBy: 'failed' });
    assert.deepEqual(sends(failed.effects), [{ type: 'send', method: 'FAIL', statusCode: 5 }]);
    // Declining the updated offer releases only what the update reserved.
    const offered = step(update, SAMPLE.makeOffer).next;
    const declined = step(offered, SAMPLE.declineReceived);
    assert.equal(declined.next.state, 'Completed');
    assert.equal(declined.next.updateEndedBy, 'declined');
    assert.ok(has(declined.effects, { type: 'releaseResources', scope: 'negotiation' }));
    assert.ok(!declined.effects.some((e) => e.type === 'releaseResources' && e.scope === 'all'));
  });

  test('administrative validation (8.2): decisions wait; rejection FAILs with status 4 by default', () => {
    const pending = step(fixture('AwaitingProcessing'), SAMPLE.needAdminApproval);
    assert.deepEqual(pending.effects, [{ type: 'notify', what: 'adminApprovalRequested' }]);
    assert.equal(transitionServer(pending.next, SAMPLE.makeOffer).ok, false);
    const rejected = step(pending.next, SAMPLE.adminReject);
    assert.equal(rejected.next.cancelReason, 'rejected');
    assert.deepEqual(sends(rejected.effects), [{ type: 'send', method: 'FAIL', statusCode: 4 }]);
    const approved = step(pending.next, SAMPLE.adminApprove).next;
    assert.equal(approved.adminApprovalPending, undefined);
    assert.equal(step(approved, SAMPLE.makeOffer).next.state, 'OfferProposed');
  });

  test('the server never sends FAIL status 7 (the client\'s code)', () => {
    assert.equal(transitionServer(fixture('AwaitingProcessing'), { type: 'decideFail', statusCode: 7 }).ok, false);
    assert.equal(transitionServer(fixture('AcceptReceived'), { type: 'refuseAccept', statusCode: 7 }).ok, false);
  });

  test('child order: messages go to the child server; a failed child returns to the decision', () => {
    const created = step(fixture('AwaitingProcessing'), SAMPLE.needChildOrder).next;
    const sent = step(created, SAMPLE.sendChildQuotation);
    assert.deepEqual(sent.effects, [
      { type: 'send', method: 'QUOTATION', to: 'child' },
      { type: 'startTimer', timer: 'child' },
    ]);
    const failed = step(sent.next, SAMPLE.childFailReceived);
    assert.equal(failed.next.state, 'AwaitingProcessing');
    assert.ok(has(failed.effects, { type: 'notify', what: 'childOrderEnded' }));
    assert.deepEqual(sends(failed.effects), [], 'the client hears nothing until the server decides');
    const declined = step(fixture('ChildOfferProcessing'), SAMPLE.declineChildOffer).effects;
    assert.deepEqual(sends(declined), [{ type: 'send', method: 'DECLINE', to: 'child', reasons: [2] }]);
    const acked = step(fixture('ChildAcceptSent'), SAMPLE.childAckReceived).next;
    assert.equal(acked.childAgreementsInCycle, 1);
    const withdrawn = step(acked, SAMPLE.withdrawChild);
    assert.equal(withdrawn.next.childAgreementsInCycle, undefined);
    assert.deepEqual(sends(withdrawn.effects), [{ type: 'send', method: 'WITHDRAW', to: 'child' }]);
  });

  test('serverOrderProblems reports broken orders', () => {
    assert.notDeepEqual(serverOrderProblems({ ...fixture('OfferProposed'), offerReserved: undefined }), []);
    assert.notDeepEqual(serverOrderProblems({ ...fixture('Completed'), adminApprovalPending: true }), []);
    assert.notDeepEqual(serverOrderProblems({ ...fixture('ChildCompleted'), childAgreementsInCycle: 0 }), []);
    assert.notDeepEqual(serverOrderProblems('x'), []);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const dateTimeArb = fc
  .integer({ min: 1_700_000_000, max: 1_900_000_000 })
  .map((seconds) => asDateTime(new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')));
const scheduleArb = fc.oneof(fc.constant(null), fc.constant(0 as const), dateTimeArb);
const statusArb = fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8 as const);
const activationTypeArb = fc.option(fc.constantFrom('permanent' as const, 'scheduled' as const), { nil: undefined });

const eventArb: fc.Arbitrary<ServerEvent> = fc.oneof(
  fc.constantFrom(...EVENTS),
  fc.record({ type: fc.constant('updateReceived' as const), activationType: activationTypeArb, scope: fc.constantFrom('local' as const, 'any' as const) }),
  fc.record({ type: fc.constant('activateReceived' as const), schedule: scheduleArb }),
  fc.record({ type: fc.constant('failReceived' as const), statusCode: statusArb }),
  fc.record({ type: fc.constant('decideFail' as const), statusCode: statusArb }),
  fc.record({
    type: fc.constant('makeOffer' as const),
    validityOfferTime: dateTimeArb,
    activationType: activationTypeArb,
    activationSchedule: fc.option(scheduleArb, { nil: undefined }),
  }),
  fc.record({ type: fc.constant('needMoreTime' as const), expectedOfferTime: dateTimeArb }),
);

const startArb = fc.constantFrom(createServerOrder().next, createServerOrder({ scope: 'local', activationType: 'scheduled' }).next, ...Object.values(FIXTURES));

function checkStep(order: ServerOrderState, event: ServerEvent): ServerOrderState {
  const out = transitionServer(order, event);
  if (!out.ok) return order;
  assert.deepEqual(serverOrderProblems(out.next), [], `${order.state} + ${event.type}`);
  assert.deepEqual(JSON.parse(JSON.stringify(out.next)), out.next, 'the state is plain JSON');
  assert.deepEqual(JSON.parse(JSON.stringify(out.effects)), out.effects, 'the effects are plain JSON');
  const rule = SERVER_TRANSITIONS[order.state][event.type];
  assert.ok(rule && rule.to.includes(out.next.state), `${order.state} + ${event.type} → ${out.next.state} is declared`);
  if (order.state === 'Cancelled') assert.fail('Cancelled is final');
  // 8.11.2: entering Cancelled releases whatever the order had reserved.
  if (out.next.state === 'Cancelled' && (order.offerReserved || order.state === 'Completed')) {
    assert.ok(out.effects.some((e) => e.type === 'releaseResources'), `${order.state} + ${event.type} releases resources`);
  }
  return out.next;
}

describe('server FSM: properties', () => {
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
    const walkEvents: ServerEvent[] = [
      ...EVENTS,
      { type: 'makeOffer', validityOfferTime: T2, activationType: 'scheduled' },
      { type: 'activateReceived', schedule: 0 },
      { type: 'updateReceived', activationType: 'scheduled' },
    ];
    fc.assert(
      fc.property(startArb, fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (start, choices) => {
        let order = start;
        for (const choice of choices) {
          const accepted = walkEvents.filter((event) => transitionServer(order, event).ok);
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
        const out = transitionServer(start, { type } as unknown as ServerEvent);
        if (!(SERVER_EVENT_TYPES as readonly string[]).includes(type)) assert.equal(out.ok, false);
      }),
      { numRuns: 300 },
    );
  });
});
