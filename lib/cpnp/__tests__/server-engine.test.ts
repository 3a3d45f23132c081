/**
 * The server engine core end to end: a SCRIPTED client (hand-built messages through
 * encodeMessage, its own sequence numbers) talks to ServerEngine over MemoryNetwork with a
 * SimulatedClock. Covers the RFC 8921 flows (Figures 6, 11-16), administrative validation,
 * pending decisions, Table 6 refusals, 11.4 retransmission and answer caching, offer expiry,
 * FAIL rate limiting, undecodable input, identifiers, nonces and snapshot/restore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeCbor } from '../cbor/encoder';
import { SimulatedClock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import { arbCpd } from '../cpd/arbitrary';
import { isConcrete } from '../cpd/concrete';
import { cpdEquals } from '../cpd/equality';
import type { Cpd } from '../cpd/types';
import { readCpd } from '../cpd/validate';
import { asDateTime, dateTimeToMillis, millisToDateTime, type DateTime } from '../date-time';
import {
  concretizeCpd,
  type AcceptDecision,
  type Decision,
  type DecisionRequest,
  type RequestDecision,
} from '../engine/decider';
import type { EngineEvent, EngineOutput, EngineSend } from '../engine/output';
import {
  childEffectOf,
  ServerEngine,
  type CycleOutcome,
  type ServerDecider,
  type ServerDecision,
  type ServerEngineConfigInput,
  type ServerEngineDeps,
} from '../engine/server-engine';
import type { ResourceScope } from '../fsm/server';
import type { InformationElements } from '../information-elements';
import { FIELD_KEYS, MAX_MESSAGE_SIZE, type ActivationSchedule, type CpnpMessage } from '../message';
import { Method, methodName, type MethodName } from '../method';
import { seededRandom, type RandomSource } from '../random';
import { SchemaReader } from '../schema-reader';
import { StatusCode } from '../status-code';
import { MemoryNetwork, type MemoryTransport } from '../transport/memory';
import type { Endpoint } from '../transport/transport';
import type { AccessFilter } from '../validation/server-table';

// ---------------------------------------------------------------------------------------------
// Fixtures

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const SERVER: Endpoint = { address: '198.51.100.7', port: 7777 };
const CLIENT: Endpoint = { address: '192.0.2.10', port: 40000 };
const IDENTITY = 'customer-a';

const REQUESTED: Cpd = [
  {
    nodes: [{ id: 'ce-a', link: 'pe1:xe-1/0/0' }],
    qos: { kind: 'quantitative', delayMs: { max: 30 } },
    capacity: { inMbps: { min: 80, pref: 100 }, outMbps: { min: 50, max: 90 } },
    conformance: { policing: { oneOf: ['shape', 'police'] }, outOfProfile: 'drop' },
  },
];
const OFFERED: Cpd = concretizeCpd(REQUESTED);
const UPDATED_REQUEST: Cpd = [{ ...structuredClone(REQUESTED[0]!), capacity: { inMbps: 200, outMbps: 200 } }];
const UPDATED_OFFER: Cpd = concretizeCpd(UPDATED_REQUEST);

const hex = (byte: number): string => byte.toString(16).padStart(2, '0').repeat(16);
const dt = (millis: number): DateTime => millisToDateTime(millis);

// ---------------------------------------------------------------------------------------------
// A decider whose answers the test scripts, recording every call.

class ScriptedDecider implements ServerDecider {
  readonly calls: DecisionRequest[] = [];
  readonly reserved: [string, Cpd][] = [];
  readonly released: [string, ResourceScope][] = [];
  readonly committed: [string, Cpd][] = [];
  readonly activations: [string, ActivationSchedule][] = [];
  readonly moreTime: [string, boolean][] = [];
  readonly ended: [string, CycleOutcome][] = [];
  /** Answers in order; once used up, `fallback`. */
  readonly script: ServerDecision[] = [];
  fallback: (request: DecisionRequest) => Decision = (request) => ({ kind: 'offer', cpd: concretizeCpd(request.cpd) });
  acceptDecision: AcceptDecision = { kind: 'confirm' };
  requestDecision: RequestDecision = { kind: 'proceed' };
  acceptCalls = 0;

  decide(request: DecisionRequest): ServerDecision {
    this.calls.push(structuredClone(request));
    return this.script.shift() ?? this.fallback(request);
  }
  confirmAccept(): AcceptDecision {
    this.acceptCalls += 1;
    return this.acceptDecision;
  }
  reviewRequest(): RequestDecision {
    return this.requestDecision;
  }
  /** The time granted by each ACK (9.2.6), when it named one. */
  readonly moreTimeUntil: [string, DateTime][] = [];
  moreTimeAnswered(orderId: string, granted: boolean, until?: DateTime): void {
    this.moreTime.push([orderId, granted]);
    if (until !== undefined) this.moreTimeUntil.push([orderId, until]);
  }
  reserveResources(orderId: string, offered: Cpd): void {
    this.reserved.push([orderId, offered]);
  }
  releaseResources(orderId: string, scope: ResourceScope): void {
    this.released.push([orderId, scope]);
  }
  commitResources(orderId: string, agreed: Cpd): void {
    this.committed.push([orderId, agreed]);
  }
  applyActivation(orderId: string, schedule: ActivationSchedule): void {
    this.activations.push([orderId, schedule]);
  }
  cycleEnded(orderId: string, outcome: CycleOutcome): void {
    this.ended.push([orderId, outcome]);
  }
}

// ---------------------------------------------------------------------------------------------
// The harness: network, clock, server engine, scripted clients.

interface HarnessOptions {
  config?: ServerEngineConfigInput;
  random?: RandomSource;
  accessFilter?: AccessFilter;
  authorize?: ServerEngineDeps['authorize'];
}

class Harness {
  readonly clock = new SimulatedClock(T0);
  readonly net = new MemoryNetwork(() => this.clock.now(), 1);
  readonly decider = new ScriptedDecider();
  readonly events: EngineEvent[] = [];
  readonly serverSends: (EngineSend & { at: number })[] = [];
  readonly serverTransport: MemoryTransport;
  server: ServerEngine;

  constructor(readonly options: HarnessOptions = {}) {
    this.server = new ServerEngine(this.deps(options.random ?? seededRandom(42)));
    this.serverTransport = this.net.attach(SERVER, { kind: 'dtls' });
    this.serverTransport.onMessage((inbound) => this.apply(this.server.receive(inbound)));
  }

  deps(random: RandomSource): ServerEngineDeps {
    return {
      clock: this.clock,
      random,
      decider: this.decider,
      config: { transport: 'dtls', ...this.options.config },
      ...(this.options.accessFilter ? { accessFilter: this.options.accessFilter } : {}),
      ...(this.options.authorize ? { authorize: this.options.authorize } : {}),
    };
  }

  /** identity null: a peer the transport did not authenticate. */
  client(endpoint: Endpoint = CLIENT, identity: string | null = IDENTITY): FakeClient {
    return new FakeClient(this, endpoint, identity ?? undefined);
  }

  apply(out: EngineOutput): void {
    this.events.push(...out.events);
    for (const send of out.sends) {
      this.serverSends.push({ ...send, at: this.clock.now() });
      void this.serverTransport.send(send.to, send.bytes);
    }
  }

  /** Runs the network and the server's timers for `ms` of simulated time. */
  run(ms = 10): void {
    const end = this.clock.now() + ms;
    for (let steps = 0; steps < 100_000; steps++) {
      const due = [this.net.nextDue(), this.server.nextDue()].filter((t): t is number => t !== undefined);
      const next = due.length === 0 ? undefined : Math.min(...due);
      if (next === undefined || next > end) break;
      this.clock.set(Math.max(next, this.clock.now()));
      this.net.deliverDue(this.clock.now());
      this.apply(this.server.tick());
    }
    this.clock.set(end);
  }

  order(id: string) {
    const order = this.server.getOrder(id);
    assert.ok(order, `order ${id} exists`);
    return order;
  }

  /** Replaces the engine by one restored from a JSON round trip of its snapshot. */
  restore(random: RandomSource = seededRandom(999)): void {
    const snapshot = JSON.parse(JSON.stringify(this.server.snapshot())) as ReturnType<ServerEngine['snapshot']>;
    this.server = ServerEngine.restore(snapshot, this.deps(random));
  }

  sendsOf(method: MethodName): (EngineSend & { at: number })[] {
    return this.serverSends.filter((s) => methodName(s.message.method) === method);
  }
}

type Body = { method: CpnpMessage['method'] } & Record<string, unknown>;

class FakeClient {
  inbox: CpnpMessage[] = [];
  readonly transport: MemoryTransport;
  private readonly seqs = new Map<string, number>();
  private nextStart = 1000;

  constructor(
    private readonly h: Harness,
    readonly endpoint: Endpoint,
    identity: string | undefined,
  ) {
    this.transport = h.net.attach(endpoint, identity === undefined ? {} : { identity });
    this.transport.onMessage((inbound) => {
      const decoded = decodeMessage(inbound.bytes);
      assert.ok(decoded.ok, 'the server only sends valid messages');
      this.inbox.push(decoded.message);
    });
  }

  /** Builds and sends a message; each Transaction-ID has its own increasing seq (11.3). */
  send(txid: string, customerOrderId: string, body: Body): Uint8Array {
    const seq = this.seqs.get(txid) ?? (this.nextStart += 1000);
    this.seqs.set(txid, seq + 1);
    const message = { version: 1, seq, txid, customerOrderId, ...body } as CpnpMessage;
    const bytes = encodeMessage(message);
    void this.transport.send(SERVER, bytes);
    return bytes;
  }

  /** Sends exact bytes again (a retransmission: same seq, 11.1.1). */
  resend(bytes: Uint8Array): void {
    void this.transport.send(SERVER, bytes);
  }

  take(): CpnpMessage[] {
    const messages = this.inbox;
    this.inbox = [];
    return messages;
  }

  methods(): string[] {
    return this.take().map((m) => methodName(m.method));
  }
}

function only<M extends CpnpMessage['method']>(messages: CpnpMessage[], method: M): Extract<CpnpMessage, { method: M }> {
  const found = messages.filter((m): m is Extract<CpnpMessage, { method: M }> => m.method === method);
  assert.equal(found.length, 1, `exactly one ${methodName(method)} in ${messages.map((m) => methodName(m.method)).join(', ')}`);
  return found[0]!;
}

interface Negotiated {
  txid: string;
  customerOrderId: string;
  orderId: string;
  nonce: string;
  offer: Extract<CpnpMessage, { method: typeof Method.OFFER }>;
  acceptBytes?: Uint8Array;
}

/** QUOTATION → PROCESSING, OFFER (Figure 6 default); stops before the client answers. */
function quote(h: Harness, c: FakeClient, txid: string, customerOrderId = 'C-1', ies?: InformationElements): Negotiated {
  c.send(txid, customerOrderId, { method: Method.QUOTATION, cpd: REQUESTED, ...(ies ? { ies } : {}) });
  h.run();
  const answers = c.take();
  const offer = only(answers, Method.OFFER);
  return { txid, customerOrderId, orderId: offer.providerOrderId, nonce: offer.nonce, offer };
}

/** Figure 6 completely: the order ends Completed. */
function agree(h: Harness, c: FakeClient, txid: string, customerOrderId = 'C-1', ies?: InformationElements): Negotiated {
  const n = quote(h, c, txid, customerOrderId, ies);
  c.send(txid, customerOrderId, { method: Method.PROCESSING, providerOrderId: n.orderId });
  const acceptBytes = c.send(txid, customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
  h.run();
  const ack = only(c.take(), Method.ACK);
  assert.ok(ack.cpd && cpdEquals(ack.cpd, n.offer.cpd));
  assert.equal(h.order(n.orderId).fsm.state, 'Completed');
  return { ...n, acceptBytes };
}

function fails(messages: CpnpMessage[]): number[] {
  return messages.filter((m) => m.method === Method.FAIL).map((m) => (m.method === Method.FAIL ? m.statusCode : 0));
}

function causes(h: Harness, orderId: string): string[] {
  return h.order(orderId).history.map((e) => e.cause);
}

// ---------------------------------------------------------------------------------------------

describe('server engine: RFC 8921 flows', () => {
  it('Figure 6: QUOTATION → PROCESSING, OFFER; PROCESSING, ACCEPT → ACK (Offered CPD)', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(1);
    c.send(txid, 'C-1', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const answers = c.take();
    assert.deepEqual(answers.map((m) => methodName(m.method)), ['PROCESSING', 'OFFER']);
    const processing = only(answers, Method.PROCESSING);
    const offer = only(answers, Method.OFFER);
    assert.match(offer.providerOrderId, /^P-[0-9a-f]{12}$/);
    assert.equal(processing.providerOrderId, offer.providerOrderId);
    assert.notEqual(offer.providerOrderId, 'C-1');
    assert.equal(offer.txid, txid);
    assert.equal(offer.customerOrderId, 'C-1');
    assert.equal(offer.seq, processing.seq + 1, 'the server numbers its messages 11.3');
    assert.match(offer.nonce, /^[0-9a-f]{32}$/);
    assert.ok(cpdEquals(offer.cpd, OFFERED), 'the concretized Requested CPD');
    const receivedAt = T0 + 1;
    assert.equal(dateTimeToMillis(offer.validityOfferTime), receivedAt + 15 * 60_000, 'default validity 15 min');

    const orderId = offer.providerOrderId;
    c.send(txid, 'C-1', { method: Method.PROCESSING, providerOrderId: orderId });
    c.send(txid, 'C-1', { method: Method.ACCEPT, providerOrderId: orderId, nonce: offer.nonce, cpd: offer.cpd });
    h.run();
    const ack = only(c.take(), Method.ACK);
    assert.ok(ack.cpd && cpdEquals(ack.cpd, offer.cpd), 'ACK carries the Offered CPD (9.2.6)');
    assert.equal(ack.seq, offer.seq + 1);

    const order = h.order(orderId);
    assert.equal(order.fsm.state, 'Completed');
    assert.equal(order.owner, IDENTITY);
    assert.equal(order.peer.clientPort, CLIENT.port);
    assert.ok(order.agreement && cpdEquals(order.agreement.cpd, offer.cpd));
    assert.equal(order.agreement?.nonce, offer.nonce);
    assert.deepEqual(causes(h, orderId), ['quotationReceived', 'startProcessing', 'makeOffer', 'processingReceived', 'acceptReceived', 'confirmAccept']);
    assert.deepEqual(order.history.map((e) => e.to), ['PQOReceived', 'AwaitingProcessing', 'OfferProposed', 'ProcessingReceived', 'AcceptReceived', 'Completed']);
    assert.ok(order.history.every((e) => e.at > 0 && e.txid === txid));
    assert.equal(h.decider.calls.length, 1);
    assert.equal(h.decider.calls[0]?.cycle, 'quotation');
    assert.equal(h.decider.calls[0]?.identity, IDENTITY);
    assert.deepEqual(h.decider.reserved.map(([id]) => id), [orderId]);
    assert.deepEqual(h.decider.committed.map(([id]) => id), [orderId]);
    assert.ok(h.events.some((e) => e.kind === 'transition' && e.to === 'Completed' && e.orderId === orderId));

    // The client's PROCESSING stopped the OFFER retransmission (11.2.1): nothing more comes.
    h.run(60_000);
    assert.deepEqual(c.take(), []);
    assert.equal(h.server.nextDue(), undefined);
  });

  it('direct mode: an immediate offer is the only answer (8.6, Figures 3 and 4); ACCEPT straight from OfferProposed', () => {
    const h = new Harness({ config: { quotationAnswer: 'direct' } });
    const c = h.client();
    const txid = hex(2);
    c.send(txid, 'C-2', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const answers = c.take();
    assert.deepEqual(answers.map((m) => methodName(m.method)), ['OFFER']);
    const offer = only(answers, Method.OFFER);
    c.send(txid, 'C-2', { method: Method.ACCEPT, providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd });
    h.run();
    assert.deepEqual(c.methods(), ['ACK']);
    assert.deepEqual(causes(h, offer.providerOrderId), ['quotationReceived', 'makeOffer', 'acceptReceived', 'confirmAccept']);
  });

  it('an immediate FAIL answers the QUOTATION alone (Figure 4) and ends the order', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
    const c = h.client();
    c.send(hex(3), 'C-3', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const answers = c.take();
    assert.deepEqual(fails(answers), [5]);
    assert.equal(answers.length, 1);
    const fail = only(answers, Method.FAIL);
    assert.ok(fail.providerOrderId);
    const order = h.order(fail.providerOrderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'failed');
    assert.deepEqual(h.decider.reserved, []);
  });

  it('Figure 11: PROCESSING(time1), PROCESSING(more time) → ACK(granted); OFFER later; ACCEPT → ACK', () => {
    const h = new Harness();
    const time1 = dt(T0 + 10 * 60_000);
    const more = dt(T0 + 30 * 60_000);
    h.decider.script.push({ kind: 'pending', expectedOfferTime: time1 });
    const c = h.client();
    const txid = hex(4);
    c.send(txid, 'C-4', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const first = only(c.take(), Method.PROCESSING);
    assert.equal(first.expectedOfferTime, time1);
    const orderId = first.providerOrderId;
    assert.equal(h.order(orderId).fsm.state, 'AwaitingProcessing');
    assert.equal(h.order(orderId).decision?.kind, 'pending');

    h.apply(h.server.requestMoreTime(orderId, more, 1));
    h.run();
    const ask = only(c.take(), Method.PROCESSING);
    assert.equal(ask.expectedOfferTime, more);
    assert.equal(ask.processingSubcode, 1);
    assert.equal(ask.seq, first.seq + 1);
    assert.equal(h.order(orderId).fsm.moreTimeRequested, more);

    c.send(txid, 'C-4', { method: Method.ACK, providerOrderId: orderId, expectedResponseTime: more });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[orderId, true]]);
    assert.equal(h.order(orderId).fsm.moreTimeRequested, undefined);
    h.run(60_000);
    assert.deepEqual(c.take(), [], 'the granted request is no longer retransmitted');

    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    const offer = only(c.take(), Method.OFFER);
    c.send(txid, 'C-4', { method: Method.PROCESSING, providerOrderId: orderId });
    c.send(txid, 'C-4', { method: Method.ACCEPT, providerOrderId: orderId, nonce: offer.nonce, cpd: offer.cpd });
    h.run();
    assert.deepEqual(c.methods(), ['ACK']);
    assert.equal(h.order(orderId).fsm.state, 'Completed');
    assert.equal(h.decider.calls.length, 1, 'completeDecision answers the pending decision; no second call');
  });

  it('the PROCESSING asking for more time is retransmitted until answered, then given up (9.2.2, 11.4)', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending' });
    const c = h.client();
    c.send(hex(5), 'C-5', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    const askedAt = h.clock.now();
    h.apply(h.server.requestMoreTime(orderId, dt(T0 + 3_600_000), 2));
    h.run(100_000);
    const copies = h.sendsOf('PROCESSING').filter((s) => s.message.method === Method.PROCESSING && s.message.processingSubcode === 2);
    assert.deepEqual(copies.map((s) => s.at - askedAt), [0, 2000, 6000, 14000]);
    assert.ok(copies.every((s) => Buffer.from(s.bytes).equals(Buffer.from(copies[0]!.bytes))), 'same bytes, same seq');
    assert.ok(h.events.some((e) => e.cause === 'more-time-unanswered'));
    assert.equal(h.order(orderId).fsm.state, 'AwaitingProcessing');
  });

  it('Figure 12: FAIL(More Time Rejected) keeps the order waiting; the server answers before the first deadline', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending', expectedOfferTime: dt(T0 + 600_000) });
    const c = h.client();
    const txid = hex(6);
    c.send(txid, 'C-6', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    h.apply(h.server.requestMoreTime(orderId, dt(T0 + 1_200_000)));
    h.run();
    c.take();
    c.send(txid, 'C-6', { method: Method.FAIL, providerOrderId: orderId, statusCode: StatusCode.MORE_TIME_REJECTED });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[orderId, false]]);
    const order = h.order(orderId);
    assert.equal(order.fsm.state, 'AwaitingProcessing');
    assert.equal(order.fsm.moreTimeRequested, undefined);
    assert.deepEqual(c.take(), [], 'a FAIL is never answered');
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
  });

  it('Figure 13: DECLINE → ACK(Empty CPD); the reservation is released', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(7), 'C-7');
    c.send(n.txid, n.customerOrderId, { method: Method.PROCESSING, providerOrderId: n.orderId });
    c.send(n.txid, n.customerOrderId, { method: Method.DECLINE, providerOrderId: n.orderId, nonce: n.nonce, reasons: [1] });
    h.run();
    const ack = only(c.take(), Method.ACK);
    assert.deepEqual(ack.cpd, []);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'declined');
    assert.deepEqual(h.decider.released, [[n.orderId, 'negotiation']]);
    assert.equal(h.server.nextDue(), undefined, 'validity and retransmit timers stopped');
  });

  it('Figure 14: WITHDRAW → PROCESSING (held) → ACK(Empty CPD); retransmissions get the cached PROCESSING', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(8), 'C-8');
    // A new transaction over a new transport session of the same customer.
    const c2 = h.client({ address: CLIENT.address, port: 40100 });
    h.decider.requestDecision = { kind: 'pending' };
    const wtx = hex(9);
    const withdraw = c2.send(wtx, n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    const processing = only(c2.take(), Method.PROCESSING);
    assert.equal(processing.txid, wtx);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed', 'held: nothing changed yet');
    h.run(2000);
    c2.resend(withdraw);
    h.run();
    const again = only(c2.take(), Method.PROCESSING);
    assert.equal(again.seq, processing.seq, 'the same answer, not a new one (11.4)');
    assert.equal(h.server.processedCount(wtx), 1);

    h.apply(h.server.completeRequest(n.orderId, { kind: 'proceed' }));
    h.run();
    const ack = only(c2.take(), Method.ACK);
    assert.deepEqual(ack.cpd, []);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'withdrawn');
    assert.ok(order.agreement?.withdrawnAt);
    assert.deepEqual(h.decider.released, [[n.orderId, 'all']]);

    // A later WITHDRAW of the same agreement matches no Completed order.
    c2.send(hex(10), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(c2.take()), [1]);
  });

  it('WITHDRAW answered at once when the decider lets it proceed; refused with FAIL when it says so', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(11), 'C-11');
    h.decider.requestDecision = { kind: 'fail', statusCode: StatusCode.ADMINISTRATIVELY_PROHIBITED };
    c.send(hex(12), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(c.take()), [4]);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed');
    h.decider.requestDecision = { kind: 'proceed' };
    c.send(hex(13), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(only(c.take(), Method.ACK).cpd, []);
    assert.equal(h.order(n.orderId).fsm.cancelReason, 'withdrawn');
  });

  it('Figure 15: UPDATE → PROCESSING, OFFER(Updated CPD, new nonce); ACCEPT(new nonce) → ACK(Updated CPD)', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(14), 'C-14');
    const utx = hex(15);
    c.send(utx, n.customerOrderId, {
      method: Method.UPDATE,
      providerOrderId: n.orderId,
      nonce: n.nonce,
      expectedResponseTime: dt(T0 + 3_600_000),
      cpd: UPDATED_REQUEST,
    });
    h.run();
    const answers = c.take();
    assert.deepEqual(answers.map((m) => methodName(m.method)), ['PROCESSING', 'OFFER']);
    const offer = only(answers, Method.OFFER);
    assert.notEqual(offer.nonce, n.nonce, '11.2.3: a new nonce for the offer after UPDATE');
    assert.ok(cpdEquals(offer.cpd, UPDATED_OFFER));
    const call = h.decider.calls.at(-1);
    assert.equal(call?.cycle, 'update');
    assert.ok(call?.agreement && cpdEquals(call.agreement, n.offer.cpd), 'the decider sees the agreement being updated');

    // The old nonce does not accept the updated offer.
    c.send(utx, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: offer.cpd });
    h.run();
    assert.deepEqual(fails(c.take()), [1]);
    assert.equal(h.order(n.orderId).fsm.state, 'OfferProposed');

    c.send(utx, n.customerOrderId, { method: Method.PROCESSING, providerOrderId: n.orderId });
    c.send(utx, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: offer.nonce, cpd: offer.cpd });
    h.run();
    const ack = only(c.take(), Method.ACK);
    assert.ok(ack.cpd && cpdEquals(ack.cpd, UPDATED_OFFER), 'ACK with the Updated CPD (9.2.6)');
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Completed');
    assert.equal(order.fsm.cycle, 'update');
    assert.ok(order.agreement && cpdEquals(order.agreement.cpd, UPDATED_OFFER));
    assert.equal(order.agreement?.nonce, offer.nonce);
    assert.equal(order.agreement?.txid, utx);

    // From now on UPDATE / WITHDRAW must carry the new nonce.
    c.send(hex(16), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(c.take()), [1]);
    c.send(hex(17), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: offer.nonce });
    h.run();
    assert.deepEqual(c.methods(), ['ACK']);
  });

  it('a failed UPDATE keeps the agreement (C1): FAIL, back to Completed, a new UPDATE is possible', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(18), 'C-18');
    h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
    const update = { method: Method.UPDATE, providerOrderId: n.orderId, nonce: n.nonce, expectedResponseTime: dt(T0 + 3_600_000), cpd: UPDATED_REQUEST } as const;
    c.send(hex(19), n.customerOrderId, update);
    h.run();
    assert.deepEqual(fails(c.take()), [5]);
    let order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Completed');
    assert.equal(order.fsm.updateEndedBy, 'failed');
    assert.ok(order.agreement && cpdEquals(order.agreement.cpd, n.offer.cpd));
    c.send(hex(20), n.customerOrderId, update);
    h.run();
    assert.deepEqual(c.methods(), ['PROCESSING', 'OFFER']);
    order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'OfferProposed');
  });

  it('Figure 16: ACTIVATE on a "scheduled" order → ACK() ; null / 0 / date-time semantics', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(21), 'C-21', { options: { activationType: 'scheduled' } });
    assert.deepEqual(h.order(n.orderId).fsm.activation, { status: 'inactive' }, 'a scheduled order waits for ACTIVATE');
    const activate = (txid: string, schedule: ActivationSchedule) => {
      c.send(txid, n.customerOrderId, { method: Method.ACTIVATE, providerOrderId: n.orderId, nonce: n.nonce, activationSchedule: schedule });
      h.run();
      const ack = only(c.take(), Method.ACK);
      assert.equal(ack.cpd, undefined, 'ACK() carries no CPD');
      return h.order(n.orderId).fsm.activation;
    };
    assert.deepEqual(activate(hex(22), null), { status: 'active' });
    assert.deepEqual(activate(hex(23), 0), { status: 'inactive' });
    const at = dt(T0 + 86_400_000);
    assert.deepEqual(activate(hex(24), at), { status: 'scheduled', at });
    assert.deepEqual(h.decider.activations.map(([, s]) => s), [null, 0, at]);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed');
  });

  it('ACTIVATE on an order without explicit activation → FAIL 8', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(25), 'C-25');
    c.send(hex(26), n.customerOrderId, { method: Method.ACTIVATE, providerOrderId: n.orderId, nonce: n.nonce, activationSchedule: null });
    h.run();
    assert.deepEqual(fails(c.take()), [StatusCode.UNSUPPORTED_ACTIVATION_TYPE]);
    assert.deepEqual(h.decider.activations, []);
  });

  it('ACTIVATE refused by the decider → FAIL with its code, activation unchanged', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(27), 'C-27', { options: { activationType: 'scheduled' } });
    h.decider.requestDecision = { kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES };
    c.send(hex(28), n.customerOrderId, { method: Method.ACTIVATE, providerOrderId: n.orderId, nonce: n.nonce, activationSchedule: null });
    h.run();
    assert.deepEqual(fails(c.take()), [5]);
    assert.deepEqual(h.order(n.orderId).fsm.activation, { status: 'inactive' });
  });

  it('CANCEL while waiting → ACK(Requested CPD); after the offer → ACK(Offered CPD), resources released', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending' });
    const c = h.client();
    c.send(hex(29), 'C-29', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    c.send(hex(29), 'C-29', { method: Method.CANCEL, providerOrderId: orderId });
    h.run();
    const ack1 = only(c.take(), Method.ACK);
    assert.ok(ack1.cpd && cpdEquals(ack1.cpd, REQUESTED));
    assert.equal(h.order(orderId).fsm.cancelReason, 'cancelled');
    assert.deepEqual(h.decider.released, [], 'nothing was reserved before the offer');

    const n = quote(h, c, hex(30), 'C-30');
    c.send(n.txid, n.customerOrderId, { method: Method.CANCEL });
    h.run();
    const ack2 = only(c.take(), Method.ACK);
    assert.ok(ack2.cpd && cpdEquals(ack2.cpd, n.offer.cpd));
    assert.deepEqual(h.decider.released, [[n.orderId, 'negotiation']]);
  });
});

describe('server engine: decisions', () => {
  it('administrative validation: PROCESSING, then approval → the decider is asked again → OFFER', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'admin' });
    const c = h.client();
    c.send(hex(31), 'C-31', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    const order = h.order(orderId);
    assert.equal(order.fsm.state, 'AwaitingProcessing');
    assert.equal(order.fsm.adminApprovalPending, true);
    assert.equal(order.decision?.kind, 'admin');
    assert.ok(h.events.some((e) => e.cause === 'adminApprovalRequested'));
    // No offer can be forced while approval is pending (C16).
    const forced = h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED });
    assert.ok(forced.events.some((e) => e.kind === 'command-rejected'));
    assert.deepEqual(forced.sends, []);

    h.apply(h.server.adminApprove(orderId));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
    assert.equal(h.decider.calls.length, 2);
    assert.equal(h.decider.calls[1]?.approved, true);
  });

  it('administrative rejection → FAIL 4 (or the given code), Cancelled(rejected)', () => {
    for (const code of [undefined, StatusCode.AUTHORIZATION_FAILED] as const) {
      const h = new Harness();
      h.decider.script.push({ kind: 'admin' });
      const c = h.client();
      c.send(hex(32), 'C-32', { method: Method.QUOTATION, cpd: REQUESTED });
      h.run();
      const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
      h.apply(h.server.adminReject(orderId, code));
      h.run();
      assert.deepEqual(fails(c.take()), [code ?? 4]);
      assert.equal(h.order(orderId).fsm.cancelReason, 'rejected');
    }
  });

  it('a decider asking for approval again after approval just keeps the order pending', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'admin' }, { kind: 'admin' });
    const c = h.client();
    c.send(hex(33), 'C-33', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    h.apply(h.server.adminApprove(orderId));
    h.run();
    assert.deepEqual(c.take(), []);
    assert.equal(h.order(orderId).decision?.kind, 'pending');
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
  });

  it('pending decision completed with a FAIL; commands on unknown orders are rejected', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending' });
    const c = h.client();
    c.send(hex(34), 'C-34', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    h.apply(h.server.completeDecision(orderId, { kind: 'fail', statusCode: StatusCode.NETWORK_PRESENCE_ERROR }));
    h.run();
    assert.deepEqual(fails(c.take()), [6]);
    assert.equal(h.order(orderId).fsm.state, 'Cancelled');
    const late = h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED });
    assert.deepEqual(late.sends, []);
    assert.ok(late.events.some((e) => e.kind === 'command-rejected'));
    const unknown = h.server.adminApprove('P-000000000000');
    assert.ok(unknown.events.some((e) => e.kind === 'command-rejected' && e.detail === 'unknown order'));
  });

  it('an offer that cannot be encoded is refused and the order keeps waiting', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'offer', cpd: [{ nodes: [] }] as unknown as Cpd });
    const c = h.client();
    c.send(hex(35), 'C-35', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    assert.ok(h.events.some((e) => e.kind === 'error' && e.cause === 'invalid-offer'));
    assert.equal(h.order(orderId).fsm.state, 'AwaitingProcessing');
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
  });

  it('a decider that throws does not break the engine: the order waits for completeDecision', () => {
    const h = new Harness();
    h.decider.fallback = () => {
      throw new Error('policy store unavailable');
    };
    const c = h.client();
    c.send(hex(38), 'C-38', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    assert.ok(h.events.some((e) => e.kind === 'error' && e.cause === 'decider.decide' && e.detail === 'policy store unavailable'));
    assert.equal(h.order(orderId).decision?.kind, 'pending');
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
  });

  it('an ACCEPT left pending is answered PROCESSING on retransmission, then ACK once confirmed (11.4, C13)', () => {
    const h = new Harness();
    h.decider.acceptDecision = { kind: 'pending' };
    const c = h.client();
    const n = quote(h, c, hex(36), 'C-36');
    const accept = c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    assert.deepEqual(c.take(), []);
    assert.equal(h.order(n.orderId).fsm.state, 'AcceptReceived');
    h.run(2000);
    c.resend(accept);
    h.run();
    const interim = only(c.take(), Method.PROCESSING);
    h.run(2000);
    c.resend(accept);
    h.run();
    assert.equal(only(c.take(), Method.PROCESSING).seq, interim.seq, 'the same interim answer again');
    h.apply(h.server.confirmAccept(n.orderId));
    h.run();
    const ack = only(c.take(), Method.ACK);
    h.run(2000);
    c.resend(accept);
    h.run();
    assert.equal(only(c.take(), Method.ACK).seq, ack.seq, 'now the cached ACK');
    assert.equal(h.server.processedCount(n.txid), 2, 'QUOTATION and ACCEPT, each once');
    assert.equal(h.decider.acceptCalls, 1);
  });

  it('refuseAccept → FAIL, Cancelled(failed), reservation released', () => {
    const h = new Harness();
    h.decider.acceptDecision = { kind: 'pending' };
    const c = h.client();
    const n = quote(h, c, hex(37), 'C-37');
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    h.apply(h.server.refuseAccept(n.orderId, StatusCode.OUT_OF_RESOURCES));
    h.run();
    assert.deepEqual(fails(c.take()), [5]);
    assert.equal(h.order(n.orderId).fsm.cancelReason, 'failed');
    assert.deepEqual(h.decider.released, [[n.orderId, 'negotiation']]);
  });

  it('concretizeCpd: every generated CPD becomes concrete and stays valid; concrete CPDs are unchanged', () => {
    const reader = new SchemaReader('json');
    fc.assert(
      fc.property(arbCpd(), (cpd) => {
        const concrete = concretizeCpd(cpd);
        assert.ok(isConcrete(concrete));
        assert.doesNotThrow(() => readCpd(JSON.parse(JSON.stringify(concrete)), 'cpd', reader));
        if (isConcrete(cpd)) assert.ok(cpdEquals(concrete, cpd));
      }),
      { numRuns: 150 },
    );
    assert.deepEqual(OFFERED[0]?.capacity, { inMbps: 100, outMbps: 90 }, 'pref, else max for capacities');
    assert.deepEqual(OFFERED[0]?.qos, { kind: 'quantitative', delayMs: 30 }, 'min for delay (max when no min)');
    assert.equal(OFFERED[0]?.conformance?.policing, 'shape', 'the first oneOf choice');
  });
});

describe('server engine: Table 6 refusals end to end', () => {
  it('ACCEPT with a wrong nonce or a changed CPD → FAIL 1, nothing changes', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(40), 'C-40');
    const before = h.order(n.orderId);
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: hex(0xee), cpd: n.offer.cpd });
    h.run();
    const f1 = only(c.take(), Method.FAIL);
    assert.equal(f1.statusCode, 1);
    assert.equal(f1.providerOrderId, n.orderId, 'inside its transaction the FAIL names the order');
    const changed: Cpd = [{ ...structuredClone(n.offer.cpd[0]!), capacity: { inMbps: 1000, outMbps: 90 } }];
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: changed });
    h.run();
    assert.deepEqual(fails(c.take()), [1]);
    const after = h.order(n.orderId);
    assert.equal(after.fsm.state, 'OfferProposed');
    assert.deepEqual(after.history, before.history);
    assert.deepEqual(after.fsm, before.fsm);
    // The genuine ACCEPT still works afterwards.
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    assert.deepEqual(c.methods(), ['ACK']);
  });

  it('a forged ACCEPT from another transport session → FAIL 1 to the forger, no state change at all', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(41), 'C-41');
    const before = h.order(n.orderId);
    const forger = h.client({ address: '203.0.113.66', port: 5555 }, 'mallory');
    forger.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    forger.send(n.txid, n.customerOrderId, { method: Method.DECLINE, providerOrderId: n.orderId, nonce: n.nonce });
    forger.send(n.txid, n.customerOrderId, { method: Method.PROCESSING, providerOrderId: n.orderId });
    h.run();
    const answers = forger.take();
    assert.deepEqual(fails(answers), [1, 1], 'requests are refused, the PROCESSING response dropped');
    assert.ok(answers.every((m) => m.method === Method.FAIL && m.providerOrderId === undefined), 'names no order to a stranger');
    assert.deepEqual(c.take(), []);
    assert.deepEqual(h.order(n.orderId), before, 'the order is exactly as before');
  });

  it('unknown order: CANCEL with an unknown Transaction-ID, UPDATE with an unknown Provider Order Identifier → FAIL 1', () => {
    const h = new Harness();
    const c = h.client();
    c.send(hex(42), 'C-42', { method: Method.CANCEL });
    c.send(hex(43), 'C-43', { method: Method.UPDATE, providerOrderId: 'P-nothing', nonce: hex(1), expectedResponseTime: dt(T0 + 1000), cpd: REQUESTED });
    c.send(hex(44), 'C-44', { method: Method.WITHDRAW, providerOrderId: 'P-nothing', nonce: hex(1) });
    h.run();
    const answers = c.take();
    assert.deepEqual(fails(answers), [1, 1, 1]);
    assert.ok(answers.every((m) => m.method === Method.FAIL && m.providerOrderId === undefined));
    assert.deepEqual(answers.map((m) => m.txid), [hex(42), hex(43), hex(44)]);
    assert.equal(h.server.listOrders().length, 0);
  });

  it('wrong state: DECLINE after the agreement, UPDATE before it → FAIL 1', () => {
    const h = new Harness();
    const c = h.client();
    const pending = quote(h, c, hex(45), 'C-45');
    c.send(hex(46), pending.customerOrderId, {
      method: Method.UPDATE,
      providerOrderId: pending.orderId,
      nonce: pending.nonce,
      expectedResponseTime: dt(T0 + 3_600_000),
      cpd: UPDATED_REQUEST,
    });
    h.run();
    assert.deepEqual(fails(c.take()), [1]);
    const n = agree(h, c, hex(47), 'C-47');
    c.send(n.txid, n.customerOrderId, { method: Method.DECLINE, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(c.take()), [1]);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed');
  });

  it('another identity with the right keys → FAIL 3; an unauthenticated peer → FAIL 2; a wrong nonce → FAIL 1 first', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(48), 'C-48');
    const update = { method: Method.UPDATE, providerOrderId: n.orderId, nonce: n.nonce, expectedResponseTime: dt(T0 + 3_600_000), cpd: UPDATED_REQUEST } as const;
    const other = h.client({ address: '192.0.2.99', port: 41000 }, 'customer-b');
    other.send(hex(49), n.customerOrderId, update);
    other.send(hex(50), n.customerOrderId, { ...update, nonce: hex(0xab) });
    h.run();
    assert.deepEqual(fails(other.take()), [StatusCode.AUTHORIZATION_FAILED, StatusCode.MESSAGE_VALIDATION_ERROR]);
    const anonymous = h.client({ address: '192.0.2.98', port: 41001 }, null);
    anonymous.send(hex(51), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(anonymous.take()), [StatusCode.AUTHENTICATION_REQUIRED]);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed');
  });

  it('authorize widens ownership: an operator identity may act on a customer order', () => {
    const h = new Harness({ authorize: (identity, order) => identity === 'operator' || identity === order.owner });
    const c = h.client();
    const n = agree(h, c, hex(52), 'C-52');
    const operator = h.client({ address: '192.0.2.77', port: 42000 }, 'operator');
    operator.send(hex(53), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(operator.methods(), ['ACK']);
    const h2 = new Harness({ authorize: () => false });
    const c2 = h2.client();
    const n2 = quote(h2, c2, hex(54), 'C-54');
    c2.send(n2.txid, n2.customerOrderId, { method: Method.ACCEPT, providerOrderId: n2.orderId, nonce: n2.nonce, cpd: n2.offer.cpd });
    h2.run();
    assert.deepEqual(fails(c2.take()), [3], 'even the owner is refused when authorize says no');
  });

  it('replayed (lower) sequence numbers are dropped silently (11.3)', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(55);
    const quotation = c.send(txid, 'C-55', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const offer = only(c.take(), Method.OFFER);
    c.send(txid, 'C-55', { method: Method.PROCESSING, providerOrderId: offer.providerOrderId });
    h.run(3000);
    c.resend(quotation); // seq below the PROCESSING just accepted
    h.run();
    assert.deepEqual(c.take(), []);
    assert.ok(h.events.some((e) => e.kind === 'dropped' && e.cause === 'seq'));
    assert.equal(h.decider.calls.length, 1);
  });

  it('invalid responses (PROCESSING, ACK, FAIL) are dropped, never answered', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(56), 'C-56');
    c.send(n.txid, n.customerOrderId, { method: Method.PROCESSING, providerOrderId: 'P-someone-else' });
    c.send(n.txid, n.customerOrderId, { method: Method.ACK, providerOrderId: n.orderId, expectedResponseTime: dt(T0 + 1000) });
    c.send(n.txid, n.customerOrderId, { method: Method.FAIL, providerOrderId: n.orderId, statusCode: StatusCode.MORE_TIME_REJECTED });
    c.send(n.txid, n.customerOrderId, { method: Method.OFFER, providerOrderId: n.orderId, nonce: n.nonce, validityOfferTime: dt(T0 + 1000), cpd: OFFERED });
    h.run();
    assert.deepEqual(c.take(), []);
    assert.equal(h.order(n.orderId).fsm.state, 'OfferProposed');
  });

  it('access filter: prohibit → FAIL 4, drop → silence; applies to QUOTATION, not to messages inside a transaction', () => {
    const verdicts: Record<number, 'allow' | 'prohibit' | 'drop'> = { 40000: 'allow', 40001: 'prohibit', 40002: 'drop' };
    const h = new Harness({ accessFilter: (peer) => verdicts[peer.clientPort] ?? 'allow' });
    const allowed = h.client();
    const prohibited = h.client({ ...CLIENT, port: 40001 });
    const dropped = h.client({ ...CLIENT, port: 40002 });
    prohibited.send(hex(57), 'C-57', { method: Method.QUOTATION, cpd: REQUESTED });
    dropped.send(hex(58), 'C-58', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    assert.deepEqual(fails(prohibited.take()), [StatusCode.ADMINISTRATIVELY_PROHIBITED]);
    assert.deepEqual(dropped.take(), []);
    assert.equal(h.server.listOrders().length, 0);
    agree(h, allowed, hex(59), 'C-59');
  });
});

describe('server engine: retransmissions and the answer cache (11.4)', () => {
  it('a retransmitted QUOTATION gets the cached answer, with no second decision or transition', () => {
    const h = new Harness();
    const c = h.client();
    // The first answers are lost.
    h.net.faults = (packet) => (packet.from.port === SERVER.port && packet.index < 4 ? 'drop' : 'deliver');
    const txid = hex(60);
    const quotation = c.send(txid, 'C-60', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run(1500);
    assert.deepEqual(c.take(), []);
    c.resend(quotation);
    h.run(10);
    const again = c.take();
    const offer = only(again, Method.OFFER);
    const original = h.sendsOf('OFFER')[0]!;
    assert.equal(original.message.seq, offer.seq, 'the same OFFER, same sequence number');
    assert.ok(Buffer.from(h.sendsOf('OFFER')[1]!.bytes).equals(Buffer.from(original.bytes)), 'byte for byte');
    assert.equal(h.decider.calls.length, 1);
    assert.equal(h.server.processedCount(txid), 1);
    assert.equal(causes(h, offer.providerOrderId).filter((cause) => cause === 'makeOffer').length, 1);
    assert.equal(h.server.listOrders().length, 1);
    assert.ok(h.events.some((e) => e.kind === 'duplicate' && e.cause === 'resend'));
  });

  it('a retransmitted UPDATE (with the agreement nonce) gets the cached answer, not a second cycle', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(65), 'C-65');
    let lose = true;
    h.net.faults = (packet) => (lose && packet.from.port === SERVER.port ? 'drop' : 'deliver');
    const utx = hex(66);
    const update = c.send(utx, n.customerOrderId, {
      method: Method.UPDATE,
      providerOrderId: n.orderId,
      nonce: n.nonce,
      expectedResponseTime: dt(T0 + 3_600_000),
      cpd: UPDATED_REQUEST,
    });
    h.run(1500);
    assert.deepEqual(c.take(), [], 'PROCESSING and OFFER lost');
    lose = false;
    c.resend(update);
    h.run();
    const offer = only(c.take(), Method.OFFER);
    assert.notEqual(offer.nonce, n.nonce);
    assert.equal(h.decider.calls.length, 2, 'QUOTATION and UPDATE, once each');
    assert.equal(h.server.processedCount(utx), 1);
    assert.equal(causes(h, n.orderId).filter((cause) => cause === 'updateReceived').length, 1);
  });

  it('a duplicate arriving right after the answer is not answered again ("limited frequency")', () => {
    const h = new Harness();
    const c = h.client();
    h.net.faults = (packet) => (packet.from.port === CLIENT.port && packet.index === 0 ? 'duplicate' : 'deliver');
    c.send(hex(61), 'C-61', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    assert.deepEqual(c.methods(), ['PROCESSING', 'OFFER']);
    assert.equal(h.decider.calls.length, 1);
    assert.ok(h.events.some((e) => e.kind === 'duplicate' && e.cause === 'wait'));
  });

  it('a retransmitted ACCEPT after a lost ACK gets the same ACK; the agreement is concluded once', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(62), 'C-62');
    let dropAck = true;
    h.net.faults = (packet) => {
      const decoded = decodeMessage(packet.bytes);
      if (dropAck && decoded.ok && decoded.message.method === Method.ACK) {
        dropAck = false;
        return 'drop';
      }
      return 'deliver';
    };
    const accept = c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run(2000);
    assert.deepEqual(c.take(), []);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed', 'C13: Completed when the ACK is sent');
    c.resend(accept);
    h.run();
    const ack = only(c.take(), Method.ACK);
    assert.equal(ack.seq, h.sendsOf('ACK')[0]!.message.seq);
    assert.equal(causes(h, n.orderId).filter((cause) => cause === 'acceptReceived').length, 1);
    assert.equal(causes(h, n.orderId).filter((cause) => cause === 'confirmAccept').length, 1);
    assert.equal(h.decider.committed.length, 1);
    assert.equal(h.server.processedCount(n.txid), 2);
  });

  it('the OFFER is retransmitted at 2, 4, 8 s intervals, then given up; VALIDITY_OFFER_TIME removes it silently', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(63), 'C-63');
    const sentAt = h.sendsOf('OFFER')[0]!.at;
    h.run(60_000);
    const copies = h.sendsOf('OFFER');
    assert.deepEqual(copies.map((s) => s.at - sentAt), [0, 2000, 6000, 14000]);
    assert.ok(copies.every((s) => Buffer.from(s.bytes).equals(Buffer.from(copies[0]!.bytes))));
    assert.equal(c.take().length, 3);
    assert.ok(causes(h, n.orderId).includes('retriesExhausted'));
    assert.equal(h.order(n.orderId).fsm.state, 'OfferProposed', 'still valid until VALIDITY_OFFER_TIME');

    const validUntil = dateTimeToMillis(n.offer.validityOfferTime);
    const sendsBefore = h.serverSends.length;
    h.run(validUntil - h.clock.now() + 1);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'expired');
    assert.equal(order.history.at(-1)?.at, validUntil, 'expired exactly at VALIDITY_OFFER_TIME');
    assert.equal(h.serverSends.length, sendsBefore, '9.1.8: silently removed');
    assert.deepEqual(h.decider.released, [[n.orderId, 'negotiation']]);
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    assert.deepEqual(fails(c.take()), [1], 'too late');
  });

  it('an ACCEPT arriving with the expiry due is judged after the expiry', () => {
    const h = new Harness({ config: { offerValidityMs: 5000 } });
    const c = h.client();
    const n = quote(h, c, hex(64), 'C-64');
    c.send(n.txid, n.customerOrderId, { method: Method.PROCESSING, providerOrderId: n.orderId });
    h.run();
    const validUntil = dateTimeToMillis(n.offer.validityOfferTime);
    h.clock.set(validUntil);
    h.apply(h.server.receive({ from: CLIENT, to: SERVER, identity: IDENTITY, bytes: encodeMessage({ version: 1, method: Method.ACCEPT, seq: 999_999, txid: n.txid, customerOrderId: n.customerOrderId, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd }) }));
    assert.equal(h.order(n.orderId).fsm.cancelReason, 'expired');
    assert.equal(h.serverSends.at(-1)?.message.method, Method.FAIL);
  });
});

describe('server engine: abuse and malformed input', () => {
  it('FAILs to invalid requests are rate-limited per source address (9.2.5)', () => {
    const h = new Harness({ config: { failRateLimit: { capacity: 3, refillPerSecond: 1 } } });
    const c = h.client();
    for (let i = 0; i < 10; i++) c.send(hex(100 + i), `X-${i}`, { method: Method.CANCEL });
    h.run();
    assert.equal(fails(c.take()).length, 3);
    assert.equal(h.events.filter((e) => e.cause === 'fail-rate-limited').length, 7);
    h.run(2000);
    for (let i = 0; i < 5; i++) c.send(hex(120 + i), `Y-${i}`, { method: Method.CANCEL });
    h.run();
    assert.equal(fails(c.take()).length, 2, 'two tokens came back in two seconds');
    // Another source address has its own bucket.
    const other = h.client({ address: '192.0.2.200', port: 40000 });
    other.send(hex(130), 'Z', { method: Method.CANCEL });
    h.run();
    assert.equal(fails(other.take()).length, 1);
  });

  it('every FAIL is rate-limited: those answering inside a transaction and cached ones sent again share the bucket (9.2.5)', () => {
    const h = new Harness({ config: { failRateLimit: { capacity: 2, refillPerSecond: 1 } } });
    const c = h.client();
    // Four QUOTATIONs the decider refuses (FAIL 5, inside each order's transaction).
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
      sent.push(c.send(hex(150 + i), `F-${i}`, { method: Method.QUOTATION, cpd: REQUESTED }));
    }
    h.run();
    assert.deepEqual(fails(c.take()), [5, 5], 'two tokens, two FAILs on the wire');
    const limited = h.events.filter((e) => e.cause === 'fail-rate-limited');
    assert.equal(limited.length, 2);
    assert.ok(limited.every((e) => e.kind === 'dropped' && e.orderId !== undefined && e.method === 'FAIL'));
    // The refusals are decided and recorded all the same: each order ended.
    const ended = h.server.listOrders().filter((o) => o.customerOrderId.startsWith('F-'));
    assert.deepEqual(ended.map((o) => o.fsm.cancelReason), ['failed', 'failed', 'failed', 'failed']);
    // An invalid request from the same address finds the bucket empty too.
    c.send(hex(160), 'X-160', { method: Method.CANCEL });
    h.run();
    assert.deepEqual(c.take(), []);
    // A second later one token is back: the client's retransmission of a refused QUOTATION gets
    // the cached FAIL (byte for byte the recorded answer, 11.4); the next copy finds no token.
    h.run(1000);
    c.resend(sent[2]!);
    h.run();
    const again = c.take();
    assert.deepEqual(fails(again), [5]);
    assert.equal(again[0]?.txid, hex(152));
    // 1.5 s later: 1.5 tokens. The copies of two requests (each past the 1 s resend interval of
    // 11.4) compete for them: one FAIL goes out, the other is held back by the limiter.
    h.run(1500);
    c.resend(sent[3]!);
    c.resend(sent[2]!);
    h.run();
    assert.deepEqual(fails(c.take()), [5], 'one token, one FAIL');
    assert.ok(h.events.some((e) => e.cause === 'fail-rate-limited' && e.detail === 'cached FAIL not sent again now'));
    // The bucket is per source address.
    const other = h.client({ address: '192.0.2.201', port: 40000 });
    h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
    other.send(hex(170), 'G-0', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    assert.deepEqual(fails(other.take()), [5]);
  });

  it('undecodable input: FAIL 1 only when keys 3, 4 and 5 can be read (wire-format.md section 7)', () => {
    const h = new Harness();
    const c = h.client();
    // Not CBOR at all.
    c.resend(new Uint8Array([0xff, 0x00, 0x13]));
    // A map whose keys 3, 4, 5 are fine but whose method is unknown.
    const txid = hex(140);
    c.resend(encodeCbor(new Map<number, number | string | Uint8Array>([[1, 1], [2, 99], [3, 77], [4, Buffer.from(txid, 'hex')], [5, 'C-140']])));
    // A QUOTATION with an invalid CPD (capacity without conformance, RFC 7297 3.6).
    const badCpd = new Map<number, unknown>([
      [1, 1],
      [2, Method.QUOTATION],
      [3, 5],
      [4, Buffer.from(hex(141), 'hex')],
      [5, 'C-141'],
      [15, [{ nodes: [{ id: 'a', link: 'b' }], capacity: { inMbps: 10 } }]],
    ]);
    c.resend(encodeCbor(badCpd as Parameters<typeof encodeCbor>[0]));
    // Keys present but the Transaction-ID has the wrong length.
    c.resend(encodeCbor(new Map<number, number | string | Uint8Array>([[1, 1], [2, 1], [3, 5], [4, new Uint8Array(15)], [5, 'C-142']])));
    // Too large.
    c.resend(new Uint8Array(MAX_MESSAGE_SIZE + 1));
    h.run();
    const answers = c.take();
    assert.deepEqual(fails(answers), [1, 1]);
    assert.deepEqual(answers.map((m) => [m.txid, m.customerOrderId]), [[txid, 'C-140'], [hex(141), 'C-141']]);
    assert.ok(answers.every((m) => m.method === Method.FAIL && m.providerOrderId === undefined));
    assert.equal(answers[0]?.seq === 77, false, 'the FAIL carries the server\'s own sequence number');
    assert.equal(h.server.listOrders().length, 0);
    const drops = h.events.filter((e) => e.kind === 'dropped').map((e) => e.cause);
    assert.deepEqual(drops, ['undecodable', 'undecodable', 'oversize']);
  });

  it('an undecodable message inside a transaction does not disturb it', () => {
    const h = new Harness();
    const c = h.client();
    const n = quote(h, c, hex(143), 'C-143');
    const before = h.order(n.orderId);
    c.resend(encodeCbor(new Map<number, number | string | Uint8Array>([[1, 1], [2, 4], [3, 5_000_000], [4, Buffer.from(n.txid, 'hex')], [5, n.customerOrderId]])));
    h.run();
    const fail = only(c.take(), Method.FAIL);
    assert.equal(fail.statusCode, 1);
    assert.equal(fail.providerOrderId, n.orderId, 'same transport session: named, in sequence');
    assert.equal(fail.seq, n.offer.seq + 1);
    assert.deepEqual(h.order(n.orderId).fsm, before.fsm);
    assert.deepEqual(h.order(n.orderId).history, before.history);
    c.send(n.txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: n.nonce, cpd: n.offer.cpd });
    h.run();
    assert.equal(only(c.take(), Method.ACK).seq, fail.seq + 1);
  });
});

describe('server engine: identifiers, nonces, snapshot', () => {
  it('provider order ids are never a customer order id (RFC 13), even when the random source collides', () => {
    const base = seededRandom(7);
    let first = true;
    const colliding: RandomSource = {
      bytes(n) {
        if (n === 6 && first) {
          first = false;
          return new Uint8Array(6);
        }
        return base.bytes(n);
      },
    };
    const h = new Harness({ random: colliding });
    const c = h.client();
    const n = quote(h, c, hex(150), 'P-000000000000');
    assert.notEqual(n.orderId, 'P-000000000000');
    assert.match(n.orderId, /^P-[0-9a-f]{12}$/);
  });

  it('many orders: unique provider ids, distinct from every customer id, fresh nonces everywhere', () => {
    const h = new Harness();
    const c = h.client();
    const ids = new Set<string>();
    const nonces = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const n = quote(h, c, (i + 1).toString(16).padStart(32, '0'), `C-${i}`);
      ids.add(n.orderId);
      nonces.add(n.nonce);
      assert.notEqual(n.orderId, n.customerOrderId);
    }
    assert.equal(ids.size, 40);
    assert.equal(nonces.size, 40);
    assert.ok(h.server.listOrders().every((o) => !ids.has(o.customerOrderId)));
  });

  it('snapshot/restore mid-flight: timers continue exactly, the cache still answers, the same bytes go out', () => {
    const script = (restoreAt: number | undefined) => {
      const h = new Harness();
      const c = h.client();
      const txid = hex(160);
      const quotation = c.send(txid, 'C-160', { method: Method.QUOTATION, cpd: REQUESTED });
      h.run(3000); // OFFER at +1, first retransmission at +2001
      if (restoreAt !== undefined) h.restore();
      const offer = c.take().find((m) => m.method === Method.OFFER);
      assert.ok(offer && offer.method === Method.OFFER);
      h.run(2000);
      c.resend(quotation);
      h.run(20_000);
      c.send(txid, 'C-160', { method: Method.ACCEPT, providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd });
      h.run(100);
      return { h, offer, sends: h.serverSends.map((s) => [s.at - T0, Buffer.from(s.bytes).toString('hex')]) };
    };
    const plain = script(undefined);
    const restored = script(3000);
    assert.deepEqual(restored.sends, plain.sends);
    // OFFER at +1, RETRANS_TIMER copies at +2001 (before the restore), +6001 and +14001 (after
    // it), and the cached answer to the retransmitted QUOTATION at +5001.
    assert.deepEqual(restored.h.sendsOf('OFFER').map((s) => s.at - T0), [1, 2001, 5001, 6001, 14001]);
    assert.equal(restored.h.order(restored.offer.providerOrderId).fsm.state, 'Completed');
    assert.equal(restored.h.decider.calls.length, 1);
  });

  it('snapshot/restore: the validity deadline survives a restore', () => {
    const h = new Harness({ config: { offerValidityMs: 60_000 } });
    const c = h.client();
    const n = quote(h, c, hex(161), 'C-161');
    h.run(30_000);
    h.restore();
    h.run(31_000);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.cancelReason, 'expired');
    assert.equal(order.history.at(-1)?.at, dateTimeToMillis(n.offer.validityOfferTime));
    assert.ok(JSON.parse(JSON.stringify(h.server.snapshot())), 'the snapshot is plain JSON');
  });

  it('plain UDP without identities: orders have no owner and no ownership check applies', () => {
    const h = new Harness({ config: { transport: 'udp' } });
    const c = h.client(CLIENT, null);
    const n = agree(h, c, hex(162), 'C-162');
    assert.equal(h.order(n.orderId).owner, undefined);
    const elsewhere = h.client({ address: '192.0.2.44', port: 40444 }, null);
    elsewhere.send(hex(163), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(elsewhere.methods(), ['ACK'], 'the nonce is the only protection (13)');
  });

  it('the FIELD_KEYS used by peek are the wire keys 3, 4, 5', () => {
    assert.deepEqual([FIELD_KEYS.seq, FIELD_KEYS.txid, FIELD_KEYS.customerOrderId], [3, 4, 5]);
    assert.equal(asDateTime('2026-01-01T08:00:00Z'), millisToDateTime(T0));
  });
});

describe('server engine: cycle ends, subcodes and child states (8.8)', () => {
  it('cycleEnded reaches the decider on every path out of a cycle, with or without an offer', () => {
    const h = new Harness();
    const c = h.client();
    // CANCEL while the decision is pending: nothing was reserved, the decider still hears of it.
    h.decider.script.push({ kind: 'pending' });
    c.send(hex(200), 'C-200', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const pending = only(c.take(), Method.PROCESSING).providerOrderId;
    c.send(hex(200), 'C-200', { method: Method.CANCEL, providerOrderId: pending });
    h.run();
    assert.deepEqual(h.decider.released, []);
    assert.deepEqual(h.decider.ended, [[pending, { cycle: 'quotation', reason: 'cancelled', agreementKept: false }]]);
    // A FAIL decided at once, a DECLINE, an expired offer.
    h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
    c.send(hex(201), 'C-201', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const failedId = h.server.orderIdOfTransaction(hex(201));
    const declined = quote(h, c, hex(202), 'C-202');
    c.send(declined.txid, declined.customerOrderId, { method: Method.DECLINE, providerOrderId: declined.orderId, nonce: declined.nonce });
    const expired = quote(h, c, hex(203), 'C-203');
    h.run(16 * 60_000);
    assert.deepEqual(h.decider.ended.slice(1), [
      [failedId, { cycle: 'quotation', reason: 'failed', agreementKept: false }],
      [declined.orderId, { cycle: 'quotation', reason: 'declined', agreementKept: false }],
      [expired.orderId, { cycle: 'quotation', reason: 'expired', agreementKept: false }],
    ]);
  });

  it('a failed UPDATE reports agreementKept; WITHDRAW reports withdrawn', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(204), 'C-204');
    h.decider.script.push({ kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES });
    c.send(hex(205), n.customerOrderId, {
      method: Method.UPDATE,
      providerOrderId: n.orderId,
      nonce: n.nonce,
      expectedResponseTime: dt(T0 + 60_000),
      cpd: UPDATED_REQUEST,
    });
    h.run();
    c.send(hex(206), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(h.decider.ended, [
      [n.orderId, { cycle: 'update', reason: 'failed', agreementKept: true }],
      [n.orderId, { cycle: 'update', reason: 'withdrawn', agreementKept: false }],
    ]);
  });

  it('an offer the codec refuses is released at once: the decider held it for nothing', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'offer', cpd: [{ nodes: [] }] as unknown as Cpd });
    const c = h.client();
    c.send(hex(207), 'C-207', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    assert.deepEqual(h.decider.released, [[orderId, 'negotiation']]);
    assert.equal(h.order(orderId).fsm.state, 'AwaitingProcessing');
  });

  it('a pending decision naming a subcode: the first PROCESSING carries it (8.8 "may notify", 9.2.2)', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending', processingSubcode: 2 });
    const c = h.client();
    c.send(hex(208), 'C-208', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const processing = only(c.take(), Method.PROCESSING);
    assert.equal(processing.processingSubcode, 2);
    assert.equal(processing.expectedOfferTime, undefined);
    // Without a subcode nothing changes.
    h.decider.script.push({ kind: 'pending' });
    c.send(hex(209), 'C-209', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    assert.equal(only(c.take(), Method.PROCESSING).processingSubcode, undefined);
  });

  it('during a child negotiation the client may CANCEL and answer a time request (Table 6 rows list the Child* states)', () => {
    const h = new Harness();
    h.decider.script.push({ kind: 'pending', processingSubcode: 2 });
    const c = h.client();
    c.send(hex(210), 'C-210', { method: Method.QUOTATION, cpd: REQUESTED });
    h.run();
    const orderId = only(c.take(), Method.PROCESSING).providerOrderId;
    for (const type of ['needChildOrder', 'sendChildQuotation', 'childProcessingReceived'] as const) h.apply(h.server.applyChildEvent(orderId, { type }));
    assert.equal(h.order(orderId).fsm.state, 'ChildServerProcessing');
    // Nothing else the client may send is valid there: a DECLINE (no offer exists) gets FAIL 1
    // from Table 6 (state check), an ACK nobody asked for is dropped; neither is processed.
    const processed = h.server.processedCount(hex(210));
    c.send(hex(210), 'C-210', { method: Method.DECLINE, providerOrderId: orderId, nonce: h.order(orderId).nonce });
    h.run();
    assert.equal(only(c.take(), Method.FAIL).statusCode, StatusCode.MESSAGE_VALIDATION_ERROR);
    assert.ok(h.events.some((e) => e.kind === 'rejected' && e.cause === 'table:state' && e.method === 'DECLINE'));
    c.send(hex(210), 'C-210', { method: Method.ACK, providerOrderId: orderId, expectedResponseTime: dt(T0 + 120_000) });
    h.run();
    assert.deepEqual(c.take(), [], 'an unrequested ACK is dropped, never answered');
    assert.ok(h.events.some((e) => e.kind === 'dropped' && e.cause === 'moreTimeRequested'));
    assert.equal(h.server.processedCount(hex(210)), processed);
    assert.equal(h.order(orderId).fsm.state, 'ChildServerProcessing');
    // More time (subcode 2) asked and granted while the child order runs.
    h.apply(h.server.requestMoreTime(orderId, dt(T0 + 120_000), 2));
    h.run();
    assert.equal(only(c.take(), Method.PROCESSING).processingSubcode, 2);
    c.send(hex(210), 'C-210', { method: Method.ACK, providerOrderId: orderId, expectedResponseTime: dt(T0 + 120_000) });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[orderId, true]]);
    assert.deepEqual(c.take(), [], 'the PROCESSING is no longer retransmitted');
    // CANCEL: ACK (Requested CPD) to the client, CANCEL to the child server (an effect for the coordinator).
    const before = h.events.length;
    c.send(hex(210), 'C-210', { method: Method.CANCEL, providerOrderId: orderId });
    h.run();
    const ack = only(c.take(), Method.ACK);
    assert.ok(ack.cpd && cpdEquals(ack.cpd, REQUESTED));
    assert.equal(h.order(orderId).fsm.cancelReason, 'cancelled');
    const effects = h.events.slice(before).map(childEffectOf).filter((e) => e !== undefined);
    assert.deepEqual(effects, [
      { type: 'cancelTimer', timer: 'child' },
      { type: 'send', method: 'CANCEL', to: 'child' },
    ]);
    // Any other event is not a child effect.
    assert.equal(childEffectOf({ kind: 'info', side: 'server', at: 0, cause: 'child-effect', detail: 'not json' }), undefined);
  });
});

describe('server engine: the first PROCESSING as a time request (9.1.7, 11.1.1; state-machines.md C24)', () => {
  const DEADLINE = T0 + 60_000;
  const FAR = dt(T0 + 30 * 86_400_000);

  /** QUOTATION asking for an answer within a minute; the decider says "pending until `eot`". */
  function asked(h: Harness, c: FakeClient, txid: string, eot: DateTime, processingSubcode?: 1 | 2) {
    h.decider.script.push({ kind: 'pending', expectedOfferTime: eot, ...(processingSubcode === undefined ? {} : { processingSubcode }) });
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.QUOTATION, cpd: REQUESTED, expectedResponseTime: dt(DEADLINE) });
    h.run();
    return only(c.take(), Method.PROCESSING);
  }

  it('a time beyond the client\'s deadline waits for ACK or FAIL 7, retransmitted (same bytes) until answered; the ACK grants, with its time', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(230);
    const first = asked(h, c, txid, FAR);
    const orderId = first.providerOrderId;
    assert.equal(first.expectedOfferTime, FAR);
    assert.equal(h.order(orderId).fsm.moreTimeRequested, FAR);
    assert.equal(h.order(orderId).fsm.moreTimeInitial, true);
    h.run(2500);
    const copies = h.sendsOf('PROCESSING');
    assert.equal(copies.length, 2, 'the request is repeated once RETRANS_TIMER passes');
    assert.ok(Buffer.from(copies[1]!.bytes).equals(Buffer.from(copies[0]!.bytes)), 'same bytes, same seq');
    c.take();

    // The client grants less than asked: 10 minutes (9.2.6).
    const until = dt(T0 + 600_000);
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.ACK, providerOrderId: orderId, expectedResponseTime: until });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[orderId, true]]);
    assert.deepEqual(h.decider.moreTimeUntil, [[orderId, until]], 'the decider learns the time granted');
    const order = h.order(orderId);
    assert.equal(order.fsm.state, 'AwaitingProcessing');
    assert.equal(order.fsm.moreTimeRequested, undefined);
    assert.equal(order.fsm.moreTimeInitial, undefined);
    h.run(60_000);
    assert.deepEqual(c.take(), [], 'granted: no more copies, and an ACK is never answered');
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.methods(), ['OFFER']);
  });

  it('FAIL 7 refuses it: the server ends the order (Cancelled, failed), releases the cycle, answers nothing', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(231);
    const orderId = asked(h, c, txid, FAR).providerOrderId;
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.FAIL, providerOrderId: orderId, statusCode: StatusCode.MORE_TIME_REJECTED });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[orderId, false]]);
    const order = h.order(orderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'failed');
    assert.equal(order.decision, undefined, 'the pending decision is dropped');
    assert.deepEqual(h.decider.ended.map(([id, o]) => [id, o.reason, o.agreementKept]), [[orderId, 'failed', false]]);
    h.run(60_000);
    assert.deepEqual(c.take(), [], 'a FAIL is never answered; the request is no longer retransmitted');
    // A decision arriving late changes nothing.
    h.apply(h.server.completeDecision(orderId, { kind: 'offer', cpd: OFFERED }));
    h.run();
    assert.deepEqual(c.take(), []);
    assert.equal(h.order(orderId).fsm.state, 'Cancelled');
  });

  it('a FAIL other than 7 does not refuse it; nor does an answer to a time within the deadline exist', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(232);
    const orderId = asked(h, c, txid, FAR).providerOrderId;
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.FAIL, providerOrderId: orderId, statusCode: StatusCode.OUT_OF_RESOURCES });
    h.run();
    assert.equal(h.order(orderId).fsm.state, 'AwaitingProcessing');
    assert.equal(h.order(orderId).fsm.moreTimeRequested, FAR);

    // Within the deadline and without a subcode: an ordinary first PROCESSING (11.1.1), no answer expected.
    const within = h.client({ address: '192.0.2.11', port: 40001 });
    const wtx = hex(233);
    const inTime = asked(h, within, wtx, dt(DEADLINE - 10_000));
    assert.equal(h.order(inTime.providerOrderId).fsm.moreTimeRequested, undefined);
    within.send(wtx, `C-${wtx.slice(0, 4)}`, { method: Method.ACK, providerOrderId: inTime.providerOrderId, expectedResponseTime: dt(DEADLINE) });
    h.run(10_000);
    assert.ok(h.events.some((e) => e.kind === 'dropped' && e.cause === 'moreTimeRequested'), 'an ACK nobody asked for is dropped');
    assert.deepEqual(within.take(), [], 'and the PROCESSING is not retransmitted');
  });

  it('a PROCESSING_SUBCODE makes a first PROCESSING with a time a request, even within the deadline (the client applies the same rule)', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(234);
    const first = asked(h, c, txid, dt(DEADLINE - 10_000), 2);
    assert.equal(first.processingSubcode, 2);
    assert.equal(h.order(first.providerOrderId).fsm.moreTimeRequested, dt(DEADLINE - 10_000));
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.ACK, providerOrderId: first.providerOrderId, expectedResponseTime: dt(DEADLINE - 10_000) });
    h.run();
    assert.deepEqual(h.decider.moreTime, [[first.providerOrderId, true]]);
  });

  it('UPDATE: FAIL 7 to the first PROCESSING ends the update cycle; the agreement stays (Completed)', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(235), 'C-235');
    h.decider.script.push({ kind: 'pending', expectedOfferTime: FAR });
    const utx = hex(236);
    c.send(utx, n.customerOrderId, { method: Method.UPDATE, providerOrderId: n.orderId, nonce: n.nonce, expectedResponseTime: dt(T0 + 60_000), cpd: UPDATED_REQUEST });
    h.run();
    assert.equal(only(c.take(), Method.PROCESSING).expectedOfferTime, FAR);
    assert.equal(h.order(n.orderId).fsm.moreTimeInitial, true);
    c.send(utx, n.customerOrderId, { method: Method.FAIL, providerOrderId: n.orderId, statusCode: StatusCode.MORE_TIME_REJECTED });
    h.run();
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Completed');
    assert.equal(order.fsm.updateEndedBy, 'failed');
    assert.ok(order.agreement && cpdEquals(order.agreement.cpd, n.offer.cpd), 'the agreement is unchanged');
  });

  it('survives a restart: the request is still awaited, retransmitted, and its answer accepted', () => {
    const h = new Harness();
    const c = h.client();
    const txid = hex(237);
    const orderId = asked(h, c, txid, FAR).providerOrderId;
    h.restore();
    h.run(2500);
    assert.ok(c.take().some((m) => m.method === Method.PROCESSING), 'retransmitted by the restored engine');
    c.send(txid, `C-${txid.slice(0, 4)}`, { method: Method.FAIL, providerOrderId: orderId, statusCode: StatusCode.MORE_TIME_REJECTED });
    h.run();
    assert.equal(h.order(orderId).fsm.cancelReason, 'failed');
  });
});


describe('server engine: end of test periods (9.1.10.3; state-machines.md C25)', () => {
  const HOUR = 3_600_000;
  const test = (until: number): InformationElements => ({ options: { purpose: 'test', testUntil: dt(until) } });

  it('a test agreement is withdrawn by the server at testUntil: resources released, nothing sent', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(240), 'C-240', test(T0 + HOUR));
    assert.equal(h.order(n.orderId).agreement?.testUntil, dt(T0 + HOUR));
    assert.equal(h.server.nextDue(), T0 + HOUR, 'the end is a timer of the engine');
    h.run(HOUR - 1000);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed');
    h.run(2000);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Cancelled');
    assert.equal(order.fsm.cancelReason, 'withdrawn');
    assert.equal(order.agreement?.testEndedAt, T0 + HOUR);
    assert.equal(order.agreement?.withdrawnAt, T0 + HOUR);
    assert.equal(order.history.at(-1)?.cause, 'testPeriodEnded');
    assert.deepEqual(h.decider.released.at(-1), [n.orderId, 'all']);
    assert.deepEqual(h.decider.ended.at(-1)?.[1].reason, 'withdrawn');
    assert.deepEqual(c.take(), [], 'no message exists for it: the client knows testUntil');
    assert.equal(h.server.nextDue(), undefined);
    // The client's WITHDRAW or UPDATE afterwards finds no agreement (Table 6: FAIL).
    c.send(hex(241), n.customerOrderId, { method: Method.WITHDRAW, providerOrderId: n.orderId, nonce: n.nonce });
    h.run();
    assert.deepEqual(fails(c.take()), [StatusCode.MESSAGE_VALIDATION_ERROR]);
  });

  it('fires after a restart, also when its time passed while the server was down', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(242), 'C-242', test(T0 + HOUR));
    h.restore();
    assert.equal(h.server.nextDue(), T0 + HOUR);
    h.clock.set(T0 + 2 * HOUR);
    h.restore();
    h.apply(h.server.tick());
    assert.equal(h.order(n.orderId).fsm.cancelReason, 'withdrawn');
    assert.equal(h.order(n.orderId).agreement?.testEndedAt, T0 + 2 * HOUR);
  });

  it('an UPDATE for production makes it permanent; an UPDATE naming no purpose keeps the end; purpose test moves it', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(243), 'C-243', test(T0 + HOUR));
    const update = (txid: string, nonce: string, ies?: InformationElements): string => {
      c.send(txid, n.customerOrderId, { method: Method.UPDATE, providerOrderId: n.orderId, nonce, expectedResponseTime: dt(h.clock.now() + 60_000), cpd: UPDATED_REQUEST, ...(ies ? { ies } : {}) });
      h.run();
      const offer = only(c.take(), Method.OFFER);
      c.send(txid, n.customerOrderId, { method: Method.ACCEPT, providerOrderId: n.orderId, nonce: offer.nonce, cpd: offer.cpd });
      h.run();
      only(c.take(), Method.ACK);
      return offer.nonce;
    };
    const kept = update(hex(244), n.nonce);
    assert.equal(h.order(n.orderId).agreement?.testUntil, dt(T0 + HOUR), 'no purpose named: still a test');
    const moved = update(hex(245), kept, test(T0 + 3 * HOUR));
    assert.equal(h.order(n.orderId).agreement?.testUntil, dt(T0 + 3 * HOUR));
    update(hex(246), moved, { options: { purpose: 'production' } });
    assert.equal(h.order(n.orderId).agreement?.testUntil, undefined);
    h.run(10 * HOUR);
    assert.equal(h.order(n.orderId).fsm.state, 'Completed', 'permanent now');
  });

  it('an UPDATE still negotiating at testUntil defers the end; declined, the test agreement ends at once', () => {
    const h = new Harness();
    const c = h.client();
    const n = agree(h, c, hex(247), 'C-247', test(T0 + HOUR));
    h.clock.set(T0 + HOUR - 5000);
    const utx = hex(248);
    c.send(utx, n.customerOrderId, { method: Method.UPDATE, providerOrderId: n.orderId, nonce: n.nonce, expectedResponseTime: dt(T0 + 2 * HOUR), cpd: UPDATED_REQUEST });
    h.run();
    const offer = only(c.take(), Method.OFFER);
    h.run(20_000);
    c.take();
    assert.equal(h.order(n.orderId).fsm.state, 'OfferProposed', 'the update cycle goes on past testUntil');
    c.send(utx, n.customerOrderId, { method: Method.DECLINE, providerOrderId: n.orderId, nonce: offer.nonce });
    h.run();
    assert.equal(only(c.take(), Method.ACK).cpd?.length, 0);
    const order = h.order(n.orderId);
    assert.equal(order.fsm.state, 'Cancelled', 'back on the test agreement, whose time has passed');
    assert.equal(order.fsm.cancelReason, 'withdrawn');
  });
});
