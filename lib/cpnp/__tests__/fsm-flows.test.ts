/**
 * The message flows of RFC 8921 replayed through the state machines. A tiny simulated network
 * turns each `send` effect into the peer's "received" event, so a flow is a script of local
 * decisions and timer firings; the resulting message trace is compared with the RFC figure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asDateTime } from '../date-time';
import type { SendEffect } from '../fsm/events';
import {
  createClientOrder,
  isMoreTimeRequest,
  transitionClient,
  type ClientEffect,
  type ClientEvent,
  type ClientOrderState,
} from '../fsm/client';
import {
  createServerOrder,
  transitionServer,
  type ServerEffect,
  type ServerEvent,
  type ServerOrderOptions,
  type ServerOrderState,
} from '../fsm/server';

const RESPONSE_BY = asDateTime('2026-05-01T10:00:00Z');
const OFFER_BY = asDateTime('2026-05-01T09:00:00Z');
const MORE_TIME = asDateTime('2026-05-01T11:00:00Z');
const VALID_UNTIL = asDateTime('2026-05-02T00:00:00Z');

type Peer = 'client' | 'A' | 'B';
type ServerName = 'A' | 'B';
interface Wire {
  from: Peer;
  to: Peer;
  send: SendEffect;
}

/**
 * The client talks to server A; A's child order (8.8) talks to server B. Each machine is
 * driven only through its transition function; rejected deliveries are recorded, not hidden.
 */
class Net {
  client: ClientOrderState = createClientOrder();
  readonly servers: Partial<Record<ServerName, ServerOrderState>> = {};
  readonly trace: string[] = [];
  readonly rejected: string[] = [];
  readonly log: { client: ClientEffect[]; A: ServerEffect[]; B: ServerEffect[] } = { client: [], A: [], B: [] };
  /** Return true to lose a message in transit. */
  lose: (wire: Wire) => boolean = () => false;
  private readonly queue: Wire[] = [];
  private readonly lastSent = new Map<string, SendEffect>();

  constructor(private readonly options: Partial<Record<ServerName, ServerOrderOptions>> = {}) {}

  /** A local command or timer at the client; it must be accepted. */
  clientDo(event: ClientEvent): ClientEffect[] {
    const out = transitionClient(this.client, event);
    if (!out.ok) assert.fail(`client: ${event.type} rejected in ${this.client.state}: ${out.rejection.reason}`);
    this.client = out.next;
    this.log.client.push(...out.effects);
    for (const effect of out.effects) if (effect.type === 'send') this.post('client', 'A', effect);
    return out.effects;
  }

  /** A decision or timer at a server; it must be accepted. */
  serverDo(name: ServerName, event: ServerEvent): ServerEffect[] {
    const order = this.servers[name];
    if (!order) assert.fail(`${name} has no order`);
    const out = transitionServer(order, event);
    if (!out.ok) assert.fail(`${name}: ${event.type} rejected in ${order.state}: ${out.rejection.reason}`);
    this.servers[name] = out.next;
    this.emit(name, out.effects);
    return out.effects;
  }

  server(name: ServerName): ServerOrderState {
    const order = this.servers[name];
    if (!order) assert.fail(`${name} has no order`);
    return order;
  }

  /** A message produced outside the machines (the session layer's interim PROCESSING, 11.4). */
  inject(from: Peer, to: Peer, send: SendEffect): void {
    this.queue.push({ from, to, send });
  }

  /** Delivers queued messages, and the messages they cause, until the network is quiet. */
  deliver(): void {
    for (let wire = this.queue.shift(); wire; wire = this.queue.shift()) {
      const original = wire.send.retransmission ? this.lastSent.get(`${wire.from}>${wire.to}:${wire.send.method}`) : undefined;
      const send = original ?? wire.send;
      const label = `${wire.from}->${wire.to} ${describeSend(send)}${wire.send.retransmission ? ' (again)' : ''}`;
      if (this.lose(wire)) {
        this.trace.push(`${label} LOST`);
        continue;
      }
      this.trace.push(label);
      this.receive({ ...wire, send });
    }
  }

  private post(from: Peer, to: Peer, send: SendEffect): void {
    if (!send.retransmission) this.lastSent.set(`${from}>${to}:${send.method}`, send);
    this.queue.push({ from, to, send });
  }

  private emit(name: ServerName, effects: ServerEffect[]): void {
    this.log[name].push(...effects);
    for (const effect of effects) {
      if (effect.type !== 'send') continue;
      const to: Peer = name === 'B' ? 'A' : effect.to === 'child' ? 'B' : 'client';
      this.post(name, to, effect);
    }
  }

  private receive(wire: Wire): void {
    const { send } = wire;
    if (wire.to === 'client') {
      this.applyClient(clientEvent(this.client, send, this.server('A')));
    } else if (wire.to === 'B' || wire.from === 'client') {
      const name: ServerName = wire.to === 'B' ? 'B' : 'A';
      if (send.method === 'QUOTATION') {
        const activationType = name === 'A' ? this.client.terms?.activationType : undefined;
        const created = createServerOrder({ activationType, ...this.options[name] });
        this.servers[name] = created.next;
        this.emit(name, created.effects);
      } else {
        this.applyServer(name, serverEvent(send, this.client));
      }
    } else {
      this.applyServer('A', childEvent(send));
    }
  }

  private applyClient(event: ClientEvent): void {
    const out = transitionClient(this.client, event);
    if (!out.ok) {
      this.rejected.push(`client: ${event.type} in ${out.rejection.state}`);
      return;
    }
    this.client = out.next;
    this.log.client.push(...out.effects);
    for (const effect of out.effects) if (effect.type === 'send') this.post('client', 'A', effect);
  }

  private applyServer(name: ServerName, event: ServerEvent): void {
    const out = transitionServer(this.server(name), event);
    if (!out.ok) {
      this.rejected.push(`${name}: ${event.type} in ${out.rejection.state} (FAIL ${out.rejection.failWith ?? '-'})`);
      return;
    }
    this.servers[name] = out.next;
    this.emit(name, out.effects);
  }
}

function describeSend(send: SendEffect): string {
  if (send.method === 'ACK') return `ACK(${send.cpd ?? '?'})`;
  if (send.method === 'FAIL') return `FAIL(${send.statusCode ?? '?'})`;
  if (send.method === 'PROCESSING' && send.processingSubcode !== undefined) return 'PROCESSING(more time)';
  return send.method;
}

/** What a server message means to the client (the session layer's classification, 9.2.2). */
function clientEvent(order: ClientOrderState, send: SendEffect, server: ServerOrderState): ClientEvent {
  switch (send.method) {
    case 'PROCESSING':
      return isMoreTimeRequest(order, send) && send.expectedOfferTime
        ? { type: 'moreTimeRequestReceived', expectedOfferTime: send.expectedOfferTime, processingSubcode: send.processingSubcode }
        : { type: 'processingReceived', expectedOfferTime: send.expectedOfferTime };
    case 'OFFER':
      if (!send.validityOfferTime) assert.fail('OFFER without VALIDITY_OFFER_TIME');
      return {
        type: 'offerReceived',
        validityOfferTime: send.validityOfferTime,
        activationType: server.terms?.activationType,
        activationSchedule: send.activationSchedule,
      };
    case 'ACK':
      return { type: 'ackReceived' };
    case 'FAIL':
      return { type: 'failReceived', statusCode: send.statusCode ?? 1 };
    default:
      return assert.fail(`a server does not send ${send.method}`);
  }
}

/** What a client message (or a child-order message from A) means to its server. */
function serverEvent(send: SendEffect, client: ClientOrderState): ServerEvent {
  switch (send.method) {
    case 'PROCESSING':
      return { type: 'processingReceived' };
    case 'ACCEPT':
      return { type: 'acceptReceived' };
    case 'DECLINE':
      return { type: 'declineReceived' };
    case 'CANCEL':
      return { type: 'cancelReceived' };
    case 'WITHDRAW':
      return { type: 'withdrawReceived' };
    case 'UPDATE':
      return { type: 'updateReceived', activationType: client.terms?.activationType };
    case 'ACTIVATE':
      return { type: 'activateReceived', schedule: send.activationSchedule ?? null };
    case 'ACK':
      return { type: 'ackReceived', expectedResponseTime: send.expectedResponseTime };
    case 'FAIL':
      return { type: 'failReceived', statusCode: send.statusCode ?? 1 };
    default:
      return assert.fail(`a client does not send ${send.method}`);
  }
}

/** What server B's messages mean to A's child order. */
function childEvent(send: SendEffect): ServerEvent {
  switch (send.method) {
    case 'PROCESSING':
      return { type: 'childProcessingReceived' };
    case 'OFFER':
      return { type: 'childOfferReceived' };
    case 'ACK':
      return { type: 'childAckReceived' };
    case 'FAIL':
      return { type: 'childFailReceived', statusCode: send.statusCode ?? 1 };
    default:
      return assert.fail(`a server does not send ${send.method}`);
  }
}

const has = <E extends { type: string }>(effects: E[], wanted: E) =>
  effects.some((e) => JSON.stringify(e) === JSON.stringify(wanted));

/** The start shared by most flows: the administrator approves and the QUOTATION goes out. */
function quotation(net: Net, event: ClientEvent = { type: 'sendQuotation', expectedResponseTime: RESPONSE_BY }): void {
  net.clientDo({ type: 'adminApprove' });
  net.clientDo(event);
  net.deliver();
}

/** Fig. 6 up to the client's PROCESSING: QUOTATION, PROCESSING, OFFER, PROCESSING. */
function toOfferProcessing(net: Net): void {
  quotation(net);
  net.serverDo('A', { type: 'startProcessing', expectedOfferTime: OFFER_BY });
  net.deliver();
  net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
  net.deliver();
  net.clientDo({ type: 'processOffer' });
  net.deliver();
}

/** A completed agreement reached through the Fig. 6 flow. */
function completed(options: Partial<Record<ServerName, ServerOrderOptions>> = {}, activationType?: 'scheduled'): Net {
  const net = new Net(options);
  quotation(net, { type: 'sendQuotation', expectedResponseTime: RESPONSE_BY, activationType });
  net.serverDo('A', { type: 'startProcessing' });
  net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
  net.deliver();
  net.clientDo({ type: 'processOffer' });
  net.clientDo({ type: 'accept' });
  net.deliver();
  net.serverDo('A', { type: 'confirmAccept' });
  net.deliver();
  assert.equal(net.client.state, 'Completed');
  assert.equal(net.server('A').state, 'Completed');
  net.trace.length = 0;
  return net;
}

/** One quotation order of Fig. 4, answered by an offer then accepted/declined, or by a FAIL. */
function oneCycle(outcome: 'accept' | 'decline' | 'fail'): Net {
  const net = new Net();
  quotation(net);
  if (outcome === 'fail') {
    net.serverDo('A', { type: 'decideFail', statusCode: 5 });
    net.deliver();
    return net;
  }
  net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
  net.deliver();
  net.clientDo(outcome === 'accept' ? { type: 'accept' } : { type: 'decline', reasons: [1] });
  net.deliver();
  if (outcome === 'accept') {
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
  }
  return net;
}

function assertAgreement(net: Net): void {
  assert.equal(net.client.state, 'Completed');
  assert.equal(net.client.hasAgreement, true);
  assert.equal(net.server('A').state, 'Completed');
  assert.equal(net.server('A').hasAgreement, true);
  assert.deepEqual(net.rejected, []);
}

describe('RFC 8921 flows', () => {
  test('Figure 3: requested, offered, accepted service (simplified, no PROCESSING)', () => {
    const net = oneCycle('accept');
    assert.deepEqual(net.trace, ['client->A QUOTATION', 'A->client OFFER', 'client->A ACCEPT', 'A->client ACK(offered)']);
    assertAgreement(net);
    assert.ok(has(net.log.A, { type: 'commitResources' }));
  });

  test('Figure 4: 1-step successful and 1-step failed negotiation cycles', () => {
    const success = oneCycle('accept');
    assertAgreement(success);
    const failed = oneCycle('decline');
    assert.deepEqual(failed.trace, ['client->A QUOTATION', 'A->client OFFER', 'client->A DECLINE', 'A->client ACK(empty)']);
    assert.equal(failed.client.state, 'Cancelled');
    assert.equal(failed.client.cancelReason, 'declined');
    assert.equal(failed.client.outstanding, undefined, 'the ACK closed the DECLINE transaction');
    assert.equal(failed.server('A').state, 'Cancelled');
    assert.equal(failed.server('A').cancelReason, 'declined');
    assert.ok(has(failed.log.A, { type: 'releaseResources', scope: 'negotiation' }));
  });

  test('Figure 4: N-step successful negotiation — order (a) declined, order (b) accepted', () => {
    const [a, b] = [oneCycle('decline'), oneCycle('accept')];
    assert.equal(a.client.cancelReason, 'declined');
    assert.equal(a.server('A').cancelReason, 'declined');
    assertAgreement(b);
  });

  test('Figure 4: N-step failed negotiation — (i), (j), (k) declined, (l) answered by FAIL', () => {
    for (const order of [oneCycle('decline'), oneCycle('decline'), oneCycle('decline')]) {
      assert.equal(order.client.cancelReason, 'declined');
      assert.equal(order.server('A').cancelReason, 'declined');
    }
    const l = oneCycle('fail');
    assert.deepEqual(l.trace, ['client->A QUOTATION', 'A->client FAIL(5)']);
    assert.equal(l.client.state, 'Cancelled');
    assert.equal(l.client.cancelReason, 'failed');
    assert.equal(l.server('A').cancelReason, 'failed');
    assert.ok(has(l.log.client, { type: 'cancelTimer', timer: 'expectedResponse' }));
  });

  test('Figure 6: the three CPDs of a negotiation cycle', () => {
    const net = new Net();
    toOfferProcessing(net);
    net.clientDo({ type: 'accept' });
    net.deliver();
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->client OFFER',
      'client->A PROCESSING',
      'client->A ACCEPT',
      'A->client ACK(offered)',
    ]);
    assertAgreement(net);
    // The client replaced its response deadline by the server's expected offer time, then by the offer's validity.
    assert.ok(has(net.log.client, { type: 'startTimer', timer: 'expectedOffer', at: OFFER_BY }));
    assert.ok(has(net.log.client, { type: 'startTimer', timer: 'validityOffer', at: VALID_UNTIL }));
    // The client's PROCESSING stopped the OFFER retransmission (11.2.1).
    assert.ok(has(net.log.A, { type: 'cancelTimer', timer: 'retransmit' }));
  });

  test('Figure 7: child orders — client, server A (Child* states) and server B', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing' });
    net.deliver();
    net.serverDo('A', { type: 'needChildOrder' });
    assert.equal(net.server('A').state, 'ChildCreated');
    net.serverDo('A', { type: 'sendChildQuotation' });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildPQOSent');
    net.serverDo('B', { type: 'startProcessing' });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildServerProcessing');
    net.serverDo('B', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildOfferReceived');
    net.serverDo('A', { type: 'processChildOffer' });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildOfferProcessing');
    assert.equal(net.server('B').state, 'ProcessingReceived');
    net.serverDo('A', { type: 'acceptChildOffer' });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildAcceptSent');
    net.serverDo('B', { type: 'confirmAccept' });
    net.deliver();
    assert.equal(net.server('A').state, 'ChildCompleted');
    net.serverDo('A', { type: 'resumeParent' });
    net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    net.clientDo({ type: 'processOffer' });
    net.clientDo({ type: 'accept' });
    net.deliver();
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->B QUOTATION',
      'B->A PROCESSING',
      'B->A OFFER',
      'A->B PROCESSING',
      'A->B ACCEPT',
      'B->A ACK(offered)',
      'A->client OFFER',
      'client->A PROCESSING',
      'client->A ACCEPT',
      'A->client ACK(offered)',
    ]);
    assertAgreement(net);
    assert.equal(net.server('B').state, 'Completed');
    assert.equal(net.server('A').agreementHasChildren, true);
    // Withdrawing the parent agreement withdraws the child agreement too.
    net.clientDo({ type: 'withdraw' });
    net.deliver();
    assert.ok(has(net.log.A, { type: 'withdrawChildAgreements', scope: 'all' }));
  });

  test('Figure 7 variant: the client cancels while A negotiates with B; the child order is cancelled too', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing' });
    net.serverDo('A', { type: 'needChildOrder' });
    net.serverDo('A', { type: 'sendChildQuotation' });
    net.deliver();
    net.serverDo('B', { type: 'startProcessing' });
    net.serverDo('B', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    net.clientDo({ type: 'cancel' });
    net.deliver();
    assert.equal(net.client.cancelReason, 'cancelled');
    assert.equal(net.server('A').cancelReason, 'cancelled');
    assert.equal(net.server('B').cancelReason, 'cancelled');
    assert.ok(has(net.log.B, { type: 'releaseResources', scope: 'negotiation' }), 'B releases what it reserved for its offer');
    assert.deepEqual(net.trace.slice(-4), ['client->A CANCEL', 'A->B CANCEL', 'A->client ACK(requested)', 'B->A ACK(offered)']);
    // B's ACK reaches A's order after it ended: dropped, as the session layer would.
    assert.deepEqual(net.rejected, ['A: childAckReceived in Cancelled (FAIL -)']);
    assert.equal(net.client.outstanding, undefined);
  });

  test('Figure 7 variant: scope "local" forbids the child order (8.8)', () => {
    const net = new Net({ A: { scope: 'local' } });
    quotation(net);
    net.serverDo('A', { type: 'startProcessing' });
    const out = transitionServer(net.server('A'), { type: 'needChildOrder' });
    assert.equal(out.ok, false);
  });

  test('Figure 11: more negotiation time granted', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing', expectedOfferTime: OFFER_BY });
    net.deliver();
    net.serverDo('A', { type: 'needMoreTime', expectedOfferTime: MORE_TIME, processingSubcode: 1 });
    net.deliver();
    assert.equal(net.client.moreTimeRequested, MORE_TIME);
    net.clientDo({ type: 'grantMoreTime' });
    net.deliver();
    assert.equal(net.server('A').moreTimeRequested, undefined);
    net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    net.clientDo({ type: 'processOffer' });
    net.clientDo({ type: 'accept' });
    net.deliver();
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->client PROCESSING(more time)',
      'client->A ACK(none)',
      'A->client OFFER',
      'client->A PROCESSING',
      'client->A ACCEPT',
      'A->client ACK(offered)',
    ]);
    assertAgreement(net);
    assert.ok(has(net.log.client, { type: 'send', method: 'ACK', cpd: 'none', expectedResponseTime: MORE_TIME }));
    assert.ok(has(net.log.client, { type: 'startTimer', timer: 'expectedOffer', at: MORE_TIME }));
    assert.ok(has(net.log.A, { type: 'notify', what: 'moreTimeGranted' }));
  });

  test('Figure 12: more negotiation time rejected; the initial deadline still holds', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing', expectedOfferTime: OFFER_BY });
    net.deliver();
    net.serverDo('A', { type: 'needMoreTime', expectedOfferTime: MORE_TIME, processingSubcode: 2 });
    net.deliver();
    net.clientDo({ type: 'refuseMoreTime' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->client PROCESSING(more time)',
      'client->A FAIL(7)',
    ]);
    assert.equal(net.client.state, 'ServerProcessing');
    assert.equal(net.client.moreTimeRequested, undefined);
    assert.equal(net.server('A').state, 'AwaitingProcessing');
    assert.equal(net.server('A').moreTimeRequested, undefined);
    assert.ok(has(net.log.A, { type: 'notify', what: 'moreTimeRefused' }));
    assert.ok(!has(net.log.client, { type: 'startTimer', timer: 'expectedOffer', at: MORE_TIME }));
    // 11.2.1: without an offer before the initial expected offer time, the client quits.
    net.clientDo({ type: 'expectedOfferTimeout' });
    net.deliver();
    assert.equal(net.client.cancelReason, 'timeout');
    assert.equal(net.server('A').cancelReason, 'cancelled');
    assert.deepEqual(net.trace.slice(-2), ['client->A CANCEL', 'A->client ACK(requested)']);
    assert.equal(net.client.outstanding, undefined);
    assert.deepEqual(net.rejected, []);
  });

  test('Figure 13: DECLINE', () => {
    const net = new Net();
    toOfferProcessing(net);
    net.clientDo({ type: 'decline', reasons: [2] });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->client OFFER',
      'client->A PROCESSING',
      'client->A DECLINE',
      'A->client ACK(empty)',
    ]);
    assert.equal(net.client.cancelReason, 'declined');
    assert.equal(net.server('A').cancelReason, 'declined');
    assert.ok(has(net.log.A, { type: 'releaseResources', scope: 'negotiation' }));
    assert.ok(has(net.log.A, { type: 'cancelTimer', timer: 'validityOffer' }));
    assert.deepEqual(net.rejected, []);
  });

  test('Figure 14: WITHDRAW answered by PROCESSING then ACK with an Empty CPD', () => {
    const net = completed();
    net.clientDo({ type: 'withdraw' });
    // 11.4: a server that cannot answer at once sends PROCESSING first (the session layer does).
    net.inject('A', 'client', { type: 'send', method: 'PROCESSING' });
    net.deliver();
    assert.deepEqual(net.trace, ['client->A WITHDRAW', 'A->client PROCESSING', 'A->client ACK(empty)']);
    assert.equal(net.client.state, 'Cancelled');
    assert.equal(net.client.cancelReason, 'withdrawn');
    assert.equal(net.client.outstanding, undefined);
    assert.equal(net.server('A').state, 'Cancelled');
    assert.equal(net.server('A').cancelReason, 'withdrawn');
    assert.ok(has(net.log.A, { type: 'releaseResources', scope: 'all' }));
    assert.deepEqual(net.rejected, []);
  });

  test('Figure 15: UPDATE of an agreement', () => {
    const net = completed();
    net.clientDo({ type: 'sendUpdate', expectedResponseTime: RESPONSE_BY });
    net.deliver();
    net.serverDo('A', { type: 'startProcessing' });
    net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    net.clientDo({ type: 'processOffer' });
    net.clientDo({ type: 'accept' });
    net.deliver();
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A UPDATE',
      'A->client PROCESSING',
      'A->client OFFER',
      'client->A PROCESSING',
      'client->A ACCEPT',
      'A->client ACK(updated)',
    ]);
    assertAgreement(net);
    assert.equal(net.client.cycle, 'update');
    assert.equal(net.server('A').cycle, 'update');
  });

  test('Figure 15 variants: a failed or declined UPDATE leaves the agreement Completed on both sides', () => {
    const failed = completed();
    failed.clientDo({ type: 'sendUpdate', expectedResponseTime: RESPONSE_BY });
    failed.deliver();
    failed.serverDo('A', { type: 'decideFail', statusCode: 6 });
    failed.deliver();
    assert.deepEqual(failed.trace, ['client->A UPDATE', 'A->client FAIL(6)']);
    assertAgreement(failed);
    assert.equal(failed.client.updateEndedBy, 'failed');
    assert.equal(failed.server('A').updateEndedBy, 'failed');

    const declined = completed();
    declined.clientDo({ type: 'sendUpdate', expectedResponseTime: RESPONSE_BY });
    declined.deliver();
    declined.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    declined.deliver();
    declined.clientDo({ type: 'decline' });
    declined.deliver();
    assertAgreement(declined);
    assert.equal(declined.client.outstanding, undefined);
    assert.ok(has(declined.log.A, { type: 'releaseResources', scope: 'negotiation' }));
    assert.ok(!has(declined.log.A, { type: 'releaseResources', scope: 'all' }), 'the agreement keeps its resources');
    // The agreement can be updated again (9.2.9).
    declined.clientDo({ type: 'sendUpdate', expectedResponseTime: RESPONSE_BY });
    assert.equal(declined.client.state, 'PQOSent');
  });

  test('Figure 16: ACTIVATE of a scheduled agreement', () => {
    const net = completed({}, 'scheduled');
    assert.deepEqual(net.client.activation, { status: 'inactive' });
    assert.deepEqual(net.server('A').activation, { status: 'inactive' });
    net.clientDo({ type: 'activate', schedule: null });
    net.deliver();
    assert.deepEqual(net.trace, ['client->A ACTIVATE', 'A->client ACK(none)']);
    assert.equal(net.client.state, 'Completed');
    assert.equal(net.server('A').state, 'Completed');
    assert.deepEqual(net.client.activation, { status: 'active' });
    assert.deepEqual(net.server('A').activation, { status: 'active' });
    assert.ok(has(net.log.A, { type: 'applyActivation', schedule: null }));
    // ACTIVATION_SCHEDULE 0 deactivates.
    net.clientDo({ type: 'activate', schedule: 0 });
    net.deliver();
    assert.deepEqual(net.client.activation, { status: 'inactive' });
    assert.deepEqual(net.server('A').activation, { status: 'inactive' });
    assert.deepEqual(net.rejected, []);
  });

  test('ACTIVATE of an order without explicit activation is answered by FAIL 8 (9.2.11)', () => {
    const net = completed();
    const out = transitionServer(net.server('A'), { type: 'activateReceived', schedule: null });
    assert.equal(out.ok, false);
    if (!out.ok) assert.equal(out.rejection.failWith, 8);
    assert.equal(transitionClient(net.client, { type: 'activate', schedule: null }).ok, false);
  });

  test('offer expiry: both sides drop the order, the server silently, releasing its resources (9.1.8)', () => {
    const net = new Net();
    toOfferProcessing(net);
    net.serverDo('A', { type: 'validityOfferTimeout' });
    net.clientDo({ type: 'validityOfferTimeout' });
    net.deliver();
    assert.equal(net.client.cancelReason, 'expired');
    assert.equal(net.server('A').cancelReason, 'expired');
    assert.ok(has(net.log.A, { type: 'releaseResources', scope: 'negotiation' }));
    assert.equal(net.trace.length, 4, 'nothing is sent on expiry');
  });

  test('CANCEL after the offer: the server releases the reserved resources and ACKs with the Offered CPD', () => {
    const net = new Net();
    toOfferProcessing(net);
    net.clientDo({ type: 'cancel' });
    net.deliver();
    assert.deepEqual(net.trace.slice(-2), ['client->A CANCEL', 'A->client ACK(offered)']);
    assert.equal(net.client.cancelReason, 'cancelled');
    assert.equal(net.server('A').cancelReason, 'cancelled');
    assert.ok(has(net.log.A, { type: 'releaseResources', scope: 'negotiation' }));
  });

  test('no answer before EXPECTED_RESPONSE_TIME: CANCEL (8.5)', () => {
    const net = new Net();
    quotation(net);
    net.clientDo({ type: 'expectedResponseTimeout' });
    net.deliver();
    assert.deepEqual(net.trace, ['client->A QUOTATION', 'client->A CANCEL', 'A->client ACK(requested)']);
    assert.equal(net.client.cancelReason, 'timeout');
    assert.equal(net.server('A').cancelReason, 'cancelled');
  });

  test('lost messages: the OFFER and the ACCEPT are retransmitted (11.2.1, 11.1.1)', () => {
    const net = new Net();
    quotation(net);
    let lost = 0;
    net.lose = (wire) => (wire.send.method === 'OFFER' || wire.send.method === 'ACCEPT') && lost++ % 2 === 0;
    net.serverDo('A', { type: 'makeOffer', validityOfferTime: VALID_UNTIL });
    net.deliver();
    assert.equal(net.client.state, 'PQOSent');
    net.serverDo('A', { type: 'retransmitTimeout' });
    net.deliver();
    assert.equal(net.client.state, 'OfferReceived');
    net.clientDo({ type: 'accept' });
    net.deliver();
    assert.equal(net.server('A').state, 'OfferProposed');
    net.clientDo({ type: 'retransmitTimeout' });
    net.deliver();
    net.serverDo('A', { type: 'confirmAccept' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client OFFER LOST',
      'A->client OFFER (again)',
      'client->A ACCEPT LOST',
      'client->A ACCEPT (again)',
      'A->client ACK(offered)',
    ]);
    assertAgreement(net);
  });

  test('lost WITHDRAW: retries, alarm, a later withdrawal cycle, then the ACK (11.1.2)', () => {
    const net = completed();
    net.lose = (wire) => wire.send.method === 'WITHDRAW';
    net.clientDo({ type: 'withdraw' });
    net.deliver();
    net.clientDo({ type: 'retransmitTimeout' });
    net.deliver();
    net.clientDo({ type: 'retriesExhausted' });
    assert.ok(has(net.log.client, { type: 'alarm', reason: 'withdrawalUnanswered' }));
    assert.ok(has(net.log.client, { type: 'startTimer', timer: 'withdrawalRetry', minDelaySeconds: 60, preferredDelaySeconds: 300 }));
    net.lose = () => false;
    net.clientDo({ type: 'withdrawalRetryDue' });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A WITHDRAW LOST',
      'client->A WITHDRAW (again) LOST',
      'client->A WITHDRAW',
      'A->client ACK(empty)',
    ]);
    assert.equal(net.client.cancelReason, 'withdrawn');
    assert.equal(net.client.outstanding, undefined);
    assert.equal(net.server('A').cancelReason, 'withdrawn');
  });

  test('lost ACTIVATE: retries, then an alarm; the client keeps the old activation, the server never heard of it (9.2.11)', () => {
    const net = completed({}, 'scheduled');
    net.lose = (wire) => wire.send.method === 'ACTIVATE';
    net.clientDo({ type: 'activate', schedule: null });
    net.deliver();
    net.clientDo({ type: 'retransmitTimeout' });
    net.deliver();
    net.clientDo({ type: 'retriesExhausted' });
    assert.ok(has(net.log.client, { type: 'alarm', reason: 'activationUnanswered' }));
    assert.deepEqual(net.trace, ['client->A ACTIVATE LOST', 'client->A ACTIVATE (again) LOST']);
    assert.equal(net.client.outstanding, undefined);
    assert.deepEqual(net.client.activation, { status: 'inactive' });
    assert.deepEqual(net.server('A').activation, { status: 'inactive' });
    // The request is closed: a new ACTIVATE may be sent.
    net.lose = () => false;
    net.clientDo({ type: 'activate', schedule: null });
    net.deliver();
    assert.deepEqual(net.client.activation, { status: 'active' });
    assert.deepEqual(net.server('A').activation, { status: 'active' });
  });

  test('administrative validation at the server (8.2, 12.2): rejection reaches the client as FAIL 4', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing' });
    net.serverDo('A', { type: 'needAdminApproval' });
    net.serverDo('A', { type: 'adminReject' });
    net.deliver();
    assert.deepEqual(net.trace, ['client->A QUOTATION', 'A->client PROCESSING', 'A->client FAIL(4)']);
    assert.equal(net.client.cancelReason, 'failed');
    assert.equal(net.server('A').cancelReason, 'rejected');
  });

  test('a child order that fails sends the server back to its decision, which may FAIL the client', () => {
    const net = new Net();
    quotation(net);
    net.serverDo('A', { type: 'startProcessing' });
    net.serverDo('A', { type: 'needChildOrder' });
    net.serverDo('A', { type: 'sendChildQuotation' });
    net.deliver();
    net.serverDo('B', { type: 'decideFail', statusCode: 5 });
    net.deliver();
    assert.equal(net.server('A').state, 'AwaitingProcessing');
    assert.equal(net.server('B').cancelReason, 'failed');
    net.serverDo('A', { type: 'decideFail', statusCode: 6 });
    net.deliver();
    assert.deepEqual(net.trace, [
      'client->A QUOTATION',
      'A->client PROCESSING',
      'A->B QUOTATION',
      'B->A FAIL(5)',
      'A->client FAIL(6)',
    ]);
    assert.equal(net.client.cancelReason, 'failed');
    assert.equal(net.server('A').cancelReason, 'failed');
  });
});
