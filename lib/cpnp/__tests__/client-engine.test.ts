/**
 * The client engine against a SCRIPTED fake server over MemoryNetwork with a simulated clock
 * (RFC 8921 Figures 6, 11-16; 10.1; 11.1; 11.4; section 13). The fake server decodes what the
 * client sends and answers with handcrafted messages; like any server it answers a repeated
 * request (same txid, seq, method) with its cached answer instead of running the script again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import type { Cpd } from '../cpd/types';
import { millisToDateTime, type DateTime } from '../date-time';
import { clientOrderProblems } from '../fsm/client';
import { toHex } from '../hex';
import type { CpnpMessage, Hex16 } from '../message';
import { Method, methodName, type MethodName } from '../method';
import { seededRandom } from '../random';
import { MemoryNetwork, type FaultFunction } from '../transport/memory';
import type { Endpoint, Inbound } from '../transport/transport';
import { ClientEngine, type ClientEngineDeps, type ClientOrderRecord, type CommandResult } from '../engine/client-engine';
import { emptyOutput, type EngineCore, type EngineOutput } from '../engine/output';
import { Simulation } from '../engine/simulation';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const at = (ms: number): DateTime => millisToDateTime(T0 + ms);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const SERVER_A: Endpoint = { address: '198.51.100.7', port: 7777 };
const SERVER_B: Endpoint = { address: '198.51.100.8', port: 7777 };
const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
const OFFERED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], scope: { reach: 'global', model: '1:any' } }];
const UPDATED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }, { id: 'ce-b', link: 'pe2:ge-0/0/3' }] }];
const NONCE_1: Hex16 = '11111111111111111111111111111111';
const NONCE_2: Hex16 = '22222222222222222222222222222222';
const VALID_FOR = 3_600_000;

// ---------------------------------------------------------------------------------------------
// The scripted fake server

type Body = CpnpMessage extends infer M
  ? M extends CpnpMessage
    ? Omit<M, 'version' | 'seq' | 'txid' | 'customerOrderId'>
    : never
  : never;
type Handler = (msg: CpnpMessage, server: FakeServer) => CpnpMessage[];

class FakeServer implements EngineCore {
  /** Everything received (including repeats) and what the script actually handled. */
  readonly received: CpnpMessage[] = [];
  readonly processed: CpnpMessage[] = [];
  handlers: Partial<Record<MethodName, Handler>> = {};
  private readonly seqs = new Map<string, number>();
  private readonly cache = new Map<string, { seq: number; method: number; sends: EngineOutput['sends'] }>();

  constructor(
    readonly endpoint: Endpoint,
    readonly providerOrderId = 'P-1',
  ) {}

  receive(inbound: Inbound): EngineOutput {
    const decoded = decodeMessage(inbound.bytes);
    if (!decoded.ok) return emptyOutput();
    const msg = decoded.message;
    this.received.push(msg);
    const cached = this.cache.get(msg.txid);
    if (cached !== undefined && cached.seq === msg.seq && cached.method === msg.method) {
      return { sends: cached.sends.map((s) => ({ ...s })), events: [] };
    }
    if (cached !== undefined && msg.seq <= cached.seq) return emptyOutput();
    this.processed.push(msg);
    const replies = this.handlers[methodName(msg.method)]?.(msg, this) ?? [];
    const sends = replies.map((m) => ({ to: inbound.from, bytes: encodeMessage(m), message: m }));
    this.cache.set(msg.txid, { seq: msg.seq, method: msg.method, sends });
    return { sends, events: [] };
  }

  tick(): EngineOutput {
    return emptyOutput();
  }

  nextDue(): number | undefined {
    return undefined;
  }

  /** A message of the transaction `req` belongs to, with the server's next sequence number. */
  reply(req: { txid: Hex16; customerOrderId: string }, body: Body): CpnpMessage {
    const seq = this.seqs.get(req.txid) ?? 5000;
    this.seqs.set(req.txid, seq + 1);
    return { version: 1, seq, txid: req.txid, customerOrderId: req.customerOrderId, ...body } as CpnpMessage;
  }

  /** An unsolicited output (e.g. a later PROCESSING asking for more time). */
  push(to: Endpoint, ...messages: CpnpMessage[]): EngineOutput {
    return { sends: messages.map((m) => ({ to, bytes: encodeMessage(m), message: m })), events: [] };
  }

  got(method: MethodName): CpnpMessage[] {
    return this.received.filter((m) => m.method === Method[method]);
  }
}

/** A server that negotiates like Figures 6 and 13-16. `offerNow`: OFFER right after PROCESSING. */
function standardHandlers(options: { offerNow?: boolean; expectedOfferTime?: DateTime; withProcessing?: boolean } = {}) {
  const offerNow = options.offerNow ?? true;
  const withProcessing = options.withProcessing ?? true;
  const h: Partial<Record<MethodName, Handler>> = {
    QUOTATION: (m, s) => [
      ...(withProcessing
        ? [s.reply(m, { method: Method.PROCESSING, providerOrderId: s.providerOrderId, ...(options.expectedOfferTime ? { expectedOfferTime: options.expectedOfferTime } : {}) })]
        : []),
      ...(offerNow
        ? [s.reply(m, { method: Method.OFFER, providerOrderId: s.providerOrderId, nonce: NONCE_1, validityOfferTime: at(VALID_FOR), cpd: OFFERED })]
        : []),
    ],
    UPDATE: (m, s) =>
      m.method === Method.UPDATE
        ? [
            s.reply(m, { method: Method.PROCESSING, providerOrderId: s.providerOrderId }),
            s.reply(m, { method: Method.OFFER, providerOrderId: s.providerOrderId, nonce: NONCE_2, validityOfferTime: at(2 * VALID_FOR), cpd: m.cpd }),
          ]
        : [],
    ACCEPT: (m, s) => (m.method === Method.ACCEPT ? [s.reply(m, { method: Method.ACK, providerOrderId: s.providerOrderId, cpd: m.cpd })] : []),
    DECLINE: (m, s) => [s.reply(m, { method: Method.ACK, providerOrderId: s.providerOrderId, cpd: [] })],
    CANCEL: (m, s) => [s.reply(m, { method: Method.ACK, providerOrderId: s.providerOrderId, cpd: REQUESTED })],
    WITHDRAW: (m, s) => [s.reply(m, { method: Method.ACK, providerOrderId: s.providerOrderId, cpd: [] })],
    ACTIVATE: (m, s) => [s.reply(m, { method: Method.ACK, providerOrderId: s.providerOrderId })],
  };
  return h;
}

// ---------------------------------------------------------------------------------------------
// Harness

interface World {
  clock: SimulatedClock;
  network: MemoryNetwork;
  sim: Simulation;
  client: ClientEngine;
  a: FakeServer;
  b: FakeServer;
}

function world(
  options: { config?: ClientEngineDeps['config']; seed?: number; faults?: FaultFunction; localEndpoint?: ClientEngineDeps['localEndpoint'] } = {},
): World {
  const clock = new SimulatedClock(T0);
  const network = new MemoryNetwork(() => clock.now(), 5);
  if (options.faults) network.faults = options.faults;
  const sim = new Simulation(clock, network);
  const client = new ClientEngine({
    clock,
    random: seededRandom(options.seed ?? 7),
    localEndpoint: options.localEndpoint ?? CLIENT,
    config: options.config,
  });
  sim.add('client', client, network.attach(CLIENT));
  const a = new FakeServer(SERVER_A, 'P-A');
  const b = new FakeServer(SERVER_B, 'P-B');
  a.handlers = standardHandlers();
  b.handlers = standardHandlers();
  sim.add('A', a, network.attach(SERVER_A));
  sim.add('B', b, network.attach(SERVER_B));
  return { clock, network, sim, client, a, b };
}

function ok<R extends EngineOutput & ({ ok: true; orderId: string } | { ok: false; reason: string })>(result: R): string {
  if (!result.ok) assert.fail(`command refused: ${result.reason}`);
  return result.orderId;
}

/** Creates, approves and sends a quotation; returns the order id. */
function place(w: World, options: { server?: Endpoint; expectedResponseTime?: DateTime; scheduled?: boolean; id?: string } = {}): string {
  const id = ok(
    w.sim.apply(
      'client',
      w.client.createOrder({
        cpd: REQUESTED,
        server: options.server ?? SERVER_A,
        ...(options.id ? { customerOrderId: options.id } : {}),
        ...(options.expectedResponseTime ? { expectedResponseTime: options.expectedResponseTime } : {}),
        ...(options.scheduled ? { ies: { options: { activationType: 'scheduled' } } } : {}),
      }),
    ),
  );
  ok(w.sim.apply('client', w.client.approve(id)));
  ok(w.sim.apply('client', w.client.sendQuotation(id)));
  return id;
}

function order(w: World, id: string): ClientOrderRecord {
  const rec = w.client.order(id);
  assert.ok(rec, `order ${id}`);
  return rec;
}

const stateIs = (w: World, id: string, ...states: string[]) => () => states.includes(w.client.state(id) ?? '');

function runTo(w: World, id: string, ...states: string[]): void {
  const result = w.sim.runUntil(stateIs(w, id, ...states), { maxTimeMs: 10 * VALID_FOR });
  assert.equal(result.reason, 'predicate', `expected ${states.join('/')} but the order is ${w.client.state(id)}`);
}

/** Drives an order to Completed with the standard server (Figure 6). */
function complete(w: World, id: string): void {
  runTo(w, id, 'OfferReceived');
  ok(w.sim.apply('client', w.client.processOffer(id)));
  ok(w.sim.apply('client', w.client.accept(id)));
  runTo(w, id, 'Completed');
  w.sim.runUntilIdle();
}

const clientSends = (w: World, method?: MethodName) =>
  w.sim.sentBy('client').filter((s) => method === undefined || s.message.method === Method[method]);

/** What must not change when a message is dropped. */
const core = (rec: ClientOrderRecord) => ({ fsm: rec.fsm, session: rec.session, timers: rec.timers, offer: rec.offer, processed: rec.processed });

// ---------------------------------------------------------------------------------------------

describe('client engine: negotiation (Figure 6)', () => {
  test('QUOTATION → PROCESSING → OFFER → PROCESSING → ACCEPT → ACK → Completed', () => {
    const w = world();
    const id = place(w);
    assert.match(id, /^C-[0-9a-f]{12}$/);
    runTo(w, id, 'OfferReceived');
    assert.ok(w.sim.events.some((e) => e.kind === 'offer' && e.orderId === id), 'offer event for the application');
    assert.equal(order(w, id).providerOrderId, 'P-A');
    ok(w.sim.apply('client', w.client.processOffer(id)));
    assert.equal(w.client.state(id), 'OfferProcessing');
    ok(w.sim.apply('client', w.client.accept(id)));
    runTo(w, id, 'Completed');
    w.sim.runUntilIdle();

    assert.deepEqual(
      w.a.received.map((m) => methodName(m.method)),
      ['QUOTATION', 'PROCESSING', 'ACCEPT'],
    );
    const [quotation, processing, accept] = w.a.received;
    assert.ok(quotation && processing && accept);
    // One transaction: same txid, seq incremented per message (8.4, 11.3).
    assert.equal(processing.txid, quotation.txid);
    assert.equal(accept.txid, quotation.txid);
    assert.equal(processing.seq, quotation.seq + 1);
    assert.equal(accept.seq, quotation.seq + 2);
    // 9.2.4: ACCEPT copies the offer.
    assert.equal(accept.method, Method.ACCEPT);
    if (accept.method === Method.ACCEPT) {
      assert.deepEqual(accept.cpd, OFFERED);
      assert.equal(accept.nonce, NONCE_1);
      assert.equal(accept.providerOrderId, 'P-A');
      assert.equal(accept.customerOrderId, id);
    }
    const rec = order(w, id);
    assert.deepEqual(rec.agreement?.cpd, OFFERED);
    assert.equal(rec.nonce, NONCE_1);
    assert.deepEqual(rec.fsm.activation, { status: 'active' });
    assert.deepEqual(rec.timers, []);
    assert.equal(w.client.nextDue(), undefined);
    assert.deepEqual(clientOrderProblems(rec.fsm), []);
    assert.deepEqual(
      rec.history.filter((e) => e.kind === 'transition').map((e) => e.to),
      ['Created', 'AwaitingProcessing', 'PQOSent', 'ServerProcessing', 'OfferReceived', 'OfferProcessing', 'AcceptSent', 'Completed'],
    );
    assert.ok(rec.history.every((e) => typeof e.at === 'number' && e.side === 'client'));
    assert.deepEqual(w.sim.errors, []);
  });

  test('autoProcessOffer answers the OFFER with PROCESSING at once; the decision stays with the application', () => {
    const w = world({ config: { autoProcessOffer: true } });
    const id = place(w);
    runTo(w, id, 'OfferProcessing');
    w.sim.runUntilIdle({ maxTimeMs: 60_000 });
    assert.equal(w.client.state(id), 'OfferProcessing');
    assert.equal(clientSends(w, 'PROCESSING').length, 1);
    assert.equal(clientSends(w, 'ACCEPT').length, 0);
  });

  test('an ACCEPT lost on the way is retransmitted with the same bytes and the agreement still concludes', () => {
    let dropped = false;
    const w = world({
      faults: (p) => {
        const d = decodeMessage(p.bytes);
        if (!dropped && d.ok && d.message.method === Method.ACCEPT) {
          dropped = true;
          return 'drop';
        }
        return 'deliver';
      },
    });
    const id = place(w);
    complete(w, id);
    const accepts = clientSends(w, 'ACCEPT');
    assert.equal(accepts.length, 2);
    assert.equal(toHex(accepts[0]?.bytes ?? new Uint8Array()), toHex(accepts[1]?.bytes ?? new Uint8Array(1)));
    assert.equal((accepts[1]?.at ?? 0) - (accepts[0]?.at ?? 0), 2000);
    assert.equal(w.a.processed.filter((m) => m.method === Method.ACCEPT).length, 1);
  });

  test('the same seed gives the same bytes (deterministic core)', () => {
    const run = () => {
      const w = world({ seed: 99 });
      complete(w, place(w));
      return w.sim.sends.map((s) => toHex(s.bytes));
    };
    assert.deepEqual(run(), run());
  });
});

describe('client engine: more time (Figures 11, 12)', () => {
  const TIME_1 = 60_000;
  const MORE = 600_000;

  function askMoreTime(w: World, id: string) {
    w.a.handlers.QUOTATION = (m, s) => [s.reply(m, { method: Method.PROCESSING, providerOrderId: 'P-A', expectedOfferTime: at(TIME_1) })];
    runTo(w, id, 'ServerProcessing');
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    assert.equal(order(w, id).timers.find((t) => t.kind === 'expectedOffer')?.dueAt, T0 + TIME_1);
    const quotation = w.a.got('QUOTATION')[0];
    assert.ok(quotation);
    w.sim.apply(
      'A',
      w.a.push(CLIENT, w.a.reply(quotation, { method: Method.PROCESSING, providerOrderId: 'P-A', expectedOfferTime: at(MORE), processingSubcode: 1 })),
    );
    w.sim.runUntil(() => w.sim.events.some((e) => e.cause === 'decideMoreTime'), { maxTimeMs: 1000 });
    assert.equal(order(w, id).fsm.moreTimeRequested, at(MORE));
    return quotation;
  }

  test('granted: ACK carries the time, no CPD; the offer deadline moves; then the negotiation completes', () => {
    const w = world();
    const id = place(w);
    const quotation = askMoreTime(w, id);
    ok(w.sim.apply('client', w.client.grantMoreTime(id)));
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    const ack = w.a.got('ACK')[0];
    assert.ok(ack && ack.method === Method.ACK);
    assert.equal(ack.expectedResponseTime, at(MORE));
    assert.equal(ack.cpd, undefined);
    assert.equal(ack.providerOrderId, 'P-A');
    assert.equal(ack.txid, quotation.txid);
    assert.equal(order(w, id).timers.find((t) => t.kind === 'expectedOffer')?.dueAt, T0 + MORE);
    // The initial deadline no longer applies.
    w.sim.advance(TIME_1 + 1000);
    assert.equal(w.client.state(id), 'ServerProcessing');
    w.sim.apply(
      'A',
      w.a.push(CLIENT, w.a.reply(quotation, { method: Method.OFFER, providerOrderId: 'P-A', nonce: NONCE_1, validityOfferTime: at(VALID_FOR), cpd: OFFERED })),
    );
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.processOffer(id)));
    ok(w.sim.apply('client', w.client.accept(id)));
    runTo(w, id, 'Completed');
  });

  test('a repeated time request after the grant gets the same ACK bytes again, not a new decision', () => {
    const w = world();
    const id = place(w);
    askMoreTime(w, id);
    ok(w.sim.apply('client', w.client.grantMoreTime(id)));
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    const request = w.sim.sentBy('A').at(-1);
    assert.ok(request && request.message.method === Method.PROCESSING);
    w.clock.set(w.clock.now() + 2000);
    const out = w.client.receive({ from: SERVER_A, to: CLIENT, bytes: request.bytes });
    assert.equal(out.sends.length, 1);
    assert.equal(toHex(out.sends[0]?.bytes ?? new Uint8Array()), toHex(clientSends(w, 'ACK')[0]?.bytes ?? new Uint8Array(1)));
    assert.equal(out.events.filter((e) => e.cause === 'decideMoreTime').length, 0);
  });

  test('granted with another time: ACK and deadline use it', () => {
    const w = world();
    const id = place(w);
    askMoreTime(w, id);
    ok(w.sim.apply('client', w.client.grantMoreTime(id, at(300_000))));
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    const ack = w.a.got('ACK')[0];
    assert.ok(ack && ack.method === Method.ACK);
    assert.equal(ack.expectedResponseTime, at(300_000));
    assert.equal(order(w, id).timers.find((t) => t.kind === 'expectedOffer')?.dueAt, T0 + 300_000);
  });

  test('refused: FAIL 7, the initial deadline stays and cancels the order when it passes', () => {
    const w = world();
    const id = place(w);
    askMoreTime(w, id);
    ok(w.sim.apply('client', w.client.refuseMoreTime(id)));
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    const fail = w.a.got('FAIL')[0];
    assert.ok(fail && fail.method === Method.FAIL);
    assert.equal(fail.statusCode, 7);
    assert.equal(w.client.state(id), 'ServerProcessing');
    assert.equal(w.client.grantMoreTime(id).ok, false, 'nothing left to grant');
    w.sim.runUntil(stateIs(w, id, 'Cancelled'), { maxTimeMs: TIME_1 + 1000 });
    assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(order(w, id).fsm.cancelReason, 'timeout');
    assert.equal(w.clock.now() >= T0 + TIME_1, true);
    assert.equal(clientSends(w, 'CANCEL').length, 1);
  });
});

describe('client engine: DECLINE, WITHDRAW, UPDATE, ACTIVATE (Figures 13-16)', () => {
  test('DECLINE carries the offer identifiers and reasons; its ACK closes it (Figure 13)', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.decline(id, [1, 2])));
    assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(order(w, id).fsm.cancelReason, 'declined');
    w.sim.runUntilIdle();
    const decline = w.a.got('DECLINE')[0];
    assert.ok(decline && decline.method === Method.DECLINE);
    assert.equal(decline.nonce, NONCE_1);
    assert.equal(decline.providerOrderId, 'P-A');
    assert.deepEqual(decline.reasons, [1, 2]);
    assert.equal(order(w, id).fsm.outstanding, undefined, 'the ACK closed the DECLINE');
    assert.equal(clientSends(w, 'DECLINE').length, 1, 'no retransmission after the ACK');
  });

  test('WITHDRAW opens a new transaction with the nonce; interim PROCESSING then ACK (Figure 14)', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    const quotationTxid = order(w, id).session?.txid;
    let withdraw: CpnpMessage | undefined;
    w.a.handlers.WITHDRAW = (m, s) => {
      withdraw = m;
      return [s.reply(m, { method: Method.PROCESSING, providerOrderId: 'P-A' })];
    };
    ok(w.sim.apply('client', w.client.withdraw(id)));
    assert.equal(w.client.state(id), 'Cancelled');
    w.sim.advance(100);
    assert.ok(withdraw && withdraw.method === Method.WITHDRAW);
    assert.notEqual(withdraw.txid, quotationTxid);
    assert.equal(withdraw.nonce, NONCE_1);
    assert.equal(withdraw.providerOrderId, 'P-A');
    assert.deepEqual(withdraw.cpd, OFFERED);
    const pending = order(w, id).fsm.outstanding;
    assert.deepEqual(pending, { method: 'WITHDRAW', retransmitting: false, interim: 1 }, 'interim PROCESSING stops retransmission');
    w.sim.advance(59_000);
    assert.equal(clientSends(w, 'WITHDRAW').length, 1);
    // C9: the request keeps a deadline: re-sent (same bytes) after the re-query interval.
    w.sim.advance(1_000);
    const copies = clientSends(w, 'WITHDRAW');
    assert.equal(copies.length, 2);
    assert.deepEqual(copies[1]?.bytes, copies[0]?.bytes);
    w.sim.apply('A', w.a.push(CLIENT, w.a.reply(withdraw, { method: Method.ACK, providerOrderId: 'P-A', cpd: [] })));
    w.sim.runUntilIdle();
    assert.equal(order(w, id).fsm.outstanding, undefined);
    assert.equal(order(w, id).fsm.cancelReason, 'withdrawn');
  });

  test('an unanswered WITHDRAW alarms and starts a new withdrawal cycle after 300 s (11.1.2)', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    w.a.handlers.WITHDRAW = () => [];
    ok(w.sim.apply('client', w.client.withdraw(id)));
    const start = w.clock.now();
    w.sim.runUntil(() => w.sim.events.some((e) => e.kind === 'alarm'), { maxTimeMs: 60_000 });
    const alarm = w.sim.events.find((e) => e.kind === 'alarm');
    assert.equal(alarm?.cause, 'withdrawalUnanswered');
    assert.equal(w.clock.now() - start, 2000 + 4000 + 8000 + 16000);
    const first = clientSends(w, 'WITHDRAW');
    assert.equal(first.length, 4);
    assert.equal(new Set(first.map((s) => s.message.seq)).size, 1);
    w.sim.runUntil(() => clientSends(w, 'WITHDRAW').length === 5, { maxTimeMs: 400_000 });
    const next = clientSends(w, 'WITHDRAW')[4];
    assert.ok(next);
    assert.equal(next.at - (start + 30_000), 300_000);
    assert.notEqual(next.message.txid, first[0]?.message.txid, 'a new Withdrawal cycle is a new transaction');
    ok(w.sim.apply('client', w.client.stopRetrying(id)));
    assert.equal(w.client.nextDue(), undefined);
  });

  test('UPDATE: new txid, old nonce; the new offer brings a new nonce used afterwards (Figure 15, 11.2.3)', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(7_200_000) })));
    assert.equal(w.client.state(id), 'PQOSent');
    runTo(w, id, 'OfferReceived');
    const update = w.a.got('UPDATE')[0];
    assert.ok(update && update.method === Method.UPDATE);
    assert.equal(update.nonce, NONCE_1);
    assert.equal(update.providerOrderId, 'P-A');
    assert.deepEqual(update.cpd, UPDATED);
    assert.equal(update.expectedResponseTime, at(7_200_000));
    assert.notEqual(update.txid, w.a.got('QUOTATION')[0]?.txid);
    ok(w.sim.apply('client', w.client.processOffer(id)));
    ok(w.sim.apply('client', w.client.accept(id)));
    runTo(w, id, 'Completed');
    const accept = w.a.got('ACCEPT')[1];
    assert.ok(accept && accept.method === Method.ACCEPT);
    assert.equal(accept.nonce, NONCE_2);
    assert.equal(accept.txid, update.txid);
    const rec = order(w, id);
    assert.deepEqual(rec.agreement?.cpd, UPDATED);
    assert.equal(rec.agreement?.cycle, 'update');
    assert.equal(rec.nonce, NONCE_2);
    ok(w.sim.apply('client', w.client.withdraw(id)));
    w.sim.runUntilIdle();
    const withdraw = w.a.got('WITHDRAW')[0];
    assert.ok(withdraw && withdraw.method === Method.WITHDRAW);
    assert.equal(withdraw.nonce, NONCE_2);
  });

  test('a declined UPDATE keeps the agreement and its nonce; the ACK of the DECLINE is accepted', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(7_200_000) })));
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.decline(id)));
    assert.equal(w.client.state(id), 'Completed');
    w.sim.runUntilIdle();
    const rec = order(w, id);
    assert.equal(rec.fsm.updateEndedBy, 'declined');
    assert.equal(rec.fsm.outstanding, undefined, 'ACK of the DECLINE closed it');
    assert.equal(clientSends(w, 'DECLINE').length, 1);
    assert.deepEqual(rec.agreement?.cpd, OFFERED);
    assert.equal(rec.nonce, NONCE_1);
    const decline = w.a.got('DECLINE')[0];
    assert.ok(decline && decline.method === Method.DECLINE);
    assert.equal(decline.nonce, NONCE_2, 'DECLINE answers the update offer');
  });

  test('ACTIVATE on a scheduled order: ACK() switches the activation; deactivation with 0 (Figure 16)', () => {
    const w = world();
    const id = place(w, { scheduled: true });
    complete(w, id);
    assert.deepEqual(w.client.activation(id), { status: 'inactive' });
    ok(w.sim.apply('client', w.client.activate(id, null)));
    w.sim.runUntilIdle();
    const activate = w.a.got('ACTIVATE')[0];
    assert.ok(activate && activate.method === Method.ACTIVATE);
    assert.equal(activate.activationSchedule, null);
    assert.equal(activate.nonce, NONCE_1);
    assert.deepEqual(w.client.activation(id), { status: 'active' });
    ok(w.sim.apply('client', w.client.activate(id, 0)));
    w.sim.runUntilIdle();
    assert.deepEqual(w.client.activation(id), { status: 'inactive' });
    const txids = w.a.got('ACTIVATE').map((m) => m.txid);
    assert.equal(new Set(txids).size, 2, 'each ACTIVATE is its own transaction');
    assert.equal(w.client.state(id), 'Completed');
  });

  test('ACTIVATE is refused locally on an order without scheduled activation', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    const result = w.client.activate(id, null);
    assert.equal(result.ok, false);
    assert.deepEqual(result.sends, []);
    assert.ok(result.events.some((e) => e.kind === 'command-rejected'));
  });
});

describe('client engine: FAIL from the server', () => {
  test('FAIL to the QUOTATION ends the order: Cancelled(failed), no retransmission (Figure 4)', () => {
    const w = world();
    w.a.handlers.QUOTATION = (m, s) => [s.reply(m, { method: Method.FAIL, statusCode: 5 })];
    const id = place(w);
    w.sim.runUntilIdle();
    assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(order(w, id).fsm.cancelReason, 'failed');
    assert.equal(clientSends(w, 'QUOTATION').length, 1);
    assert.deepEqual(order(w, id).timers, []);
  });

  test('FAIL to a WITHDRAW raises the withdrawalRefused alarm and closes the request', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    w.a.handlers.WITHDRAW = (m, s) => [s.reply(m, { method: Method.FAIL, providerOrderId: 'P-A', statusCode: 1 })];
    ok(w.sim.apply('client', w.client.withdraw(id)));
    w.sim.runUntilIdle();
    assert.ok(w.sim.events.some((e) => e.kind === 'alarm' && e.cause === 'withdrawalRefused'));
    assert.equal(order(w, id).fsm.outstanding, undefined);
    assert.equal(clientSends(w, 'WITHDRAW').length, 1);
  });

  test('FAIL to an UPDATE keeps the agreement (Completed, updateEndedBy failed)', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    w.a.handlers.UPDATE = (m, s) => [s.reply(m, { method: Method.FAIL, providerOrderId: 'P-A', statusCode: 5 })];
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(7_200_000) })));
    w.sim.runUntilIdle();
    assert.equal(w.client.state(id), 'Completed');
    assert.equal(order(w, id).fsm.updateEndedBy, 'failed');
    assert.deepEqual(order(w, id).agreement?.cpd, OFFERED);
    assert.equal(order(w, id).nonce, NONCE_1);
  });
});

describe('client engine: answers the state machine expects in states Table 5 did not list (no aliases)', () => {
  function updateOffered(w: World): { id: string; update: CpnpMessage } {
    const id = place(w);
    complete(w, id);
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(7_200_000) })));
    runTo(w, id, 'OfferReceived');
    const update = w.a.got('UPDATE')[0];
    assert.ok(update);
    return { id, update };
  }

  test('an UPDATE ended by CANCEL: the server\'s FAIL to the CANCEL is accepted while the order is Completed', () => {
    const w = world();
    w.a.handlers.CANCEL = (m, s) => [s.reply(m, { method: Method.FAIL, providerOrderId: 'P-A', statusCode: 1 })];
    const { id } = updateOffered(w);
    ok(w.sim.apply('client', w.client.cancel(id)));
    assert.equal(w.client.state(id), 'Completed');
    assert.equal(order(w, id).fsm.outstanding?.method, 'CANCEL');
    w.sim.runUntilIdle();
    assert.equal(order(w, id).fsm.outstanding, undefined, 'the FAIL closed the CANCEL');
    assert.equal(clientSends(w, 'CANCEL').length, 1, 'no retransmission');
    assert.equal(w.client.stats().dropped.state, undefined);
    assert.ok(w.sim.events.some((e) => e.kind === 'received' && e.method === 'FAIL'));
    assert.deepEqual(order(w, id).agreement?.cpd, OFFERED);
  });

  test('an UPDATE ended by CANCEL: an interim PROCESSING stops the retransmission, the later ACK closes it', () => {
    const w = world();
    let cancel: CpnpMessage | undefined;
    w.a.handlers.CANCEL = (m, s) => {
      cancel = m;
      return [s.reply(m, { method: Method.PROCESSING, providerOrderId: 'P-A' })];
    };
    const { id } = updateOffered(w);
    ok(w.sim.apply('client', w.client.cancel(id)));
    w.sim.advance(100);
    assert.deepEqual(order(w, id).fsm.outstanding, { method: 'CANCEL', retransmitting: false, interim: 1 });
    w.sim.advance(59_000);
    assert.equal(clientSends(w, 'CANCEL').length, 1);
    w.sim.advance(1_000);
    assert.equal(clientSends(w, 'CANCEL').length, 2, 'C9: re-queried after the interval');
    assert.ok(cancel);
    w.sim.apply('A', w.a.push(CLIENT, w.a.reply(cancel, { method: Method.ACK, providerOrderId: 'P-A', cpd: UPDATED })));
    w.sim.runUntilIdle();
    assert.equal(order(w, id).fsm.outstanding, undefined);
    assert.equal(w.client.state(id), 'Completed');
    assert.equal(order(w, id).fsm.updateEndedBy, 'cancelled');
    assert.deepEqual(w.client.stats().dropped, {});
  });

  test('a FAIL after the client\'s PROCESSING (OfferProcessing) ends the cycle: Cancelled(failed)', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.processOffer(id)));
    w.sim.runUntilIdle({ maxTimeMs: 100 });
    const quotation = w.a.got('QUOTATION')[0];
    assert.ok(quotation);
    w.sim.apply('A', w.a.push(CLIENT, w.a.reply(quotation, { method: Method.FAIL, providerOrderId: 'P-A', statusCode: 5 })));
    w.sim.runUntilIdle({ maxTimeMs: 100 });
    assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(order(w, id).fsm.cancelReason, 'failed');
    assert.deepEqual(order(w, id).timers, []);
  });
});

describe('client engine: local endpoint unknown until the first valid response (8.3, 10.1)', () => {
  const OTHER_PORT: Endpoint = { address: CLIENT.address, port: 40001 };

  /** A QUOTATION sent while the transport knows no local endpoint; the server does not answer yet. */
  function unknownLocal(source: ClientEngineDeps['localEndpoint'] = () => undefined, serverIdentity?: string) {
    const w = world({ localEndpoint: source });
    w.a.handlers.QUOTATION = () => [];
    const id = ok(
      w.sim.apply('client', w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, ...(serverIdentity ? { serverIdentity } : {}) })),
    );
    assert.equal(order(w, id).local, undefined, 'nothing is resolved at creation');
    ok(w.sim.apply('client', w.client.approve(id)));
    ok(w.sim.apply('client', w.client.sendQuotation(id)));
    w.sim.advance(10);
    const quotation = w.a.got('QUOTATION')[0];
    assert.ok(quotation);
    const rec = order(w, id);
    assert.equal(rec.local, undefined);
    assert.equal(rec.session?.peer.clientPort, 0, 'placeholder, never a real port');
    assert.ok(rec.history.some((e) => e.kind === 'info' && e.cause === 'local-endpoint'));
    const processing = (over: Partial<Record<string, unknown>> = {}): CpnpMessage =>
      ({ ...w.a.reply(quotation, { method: Method.PROCESSING, providerOrderId: 'P-A' }), ...over }) as CpnpMessage;
    return { w, id, quotation, processing };
  }

  test('the first valid response fixes it; a later response on another local port is dropped', () => {
    const { w, id, quotation, processing } = unknownLocal();
    const out = w.client.receive({ from: SERVER_A, to: OTHER_PORT, bytes: encodeMessage(processing()) });
    assert.equal(w.client.state(id), 'ServerProcessing');
    assert.ok(out.events.some((e) => e.kind === 'info' && e.cause === 'local-endpoint' && (e.detail ?? '').endsWith('(first valid response)')));
    const rec = order(w, id);
    assert.deepEqual(rec.local, OTHER_PORT);
    assert.equal(rec.session?.peer.clientAddress, OTHER_PORT.address);
    assert.equal(rec.session?.peer.clientPort, OTHER_PORT.port);

    // From now on the full 4-tuple is enforced (8.3): the OFFER on the port first used is dropped.
    const offer = w.a.reply(quotation, { method: Method.OFFER, providerOrderId: 'P-A', nonce: NONCE_1, validityOfferTime: at(VALID_FOR), cpd: OFFERED });
    const before = order(w, id);
    const dropped = w.client.receive({ from: SERVER_A, to: CLIENT, bytes: encodeMessage(offer) });
    assert.equal(dropped.events.find((e) => e.kind === 'dropped')?.cause, 'fourTuple');
    assert.deepEqual(core(order(w, id)), core(before));
    assert.deepEqual(order(w, id).local, OTHER_PORT, 'a fixed local endpoint never moves');
    w.client.receive({ from: SERVER_A, to: OTHER_PORT, bytes: encodeMessage(offer) });
    assert.equal(w.client.state(id), 'OfferReceived');
  });

  test('forged responses never fix it: wrong Transaction-ID, customer, server, identity, sequence or state', () => {
    const { w, id, quotation, processing } = unknownLocal(() => undefined, 'server-a');
    const from = (msg: CpnpMessage, over: Partial<Inbound> = {}): Inbound => ({ from: SERVER_A, to: OTHER_PORT, identity: 'server-a', bytes: encodeMessage(msg), ...over });
    const ack = w.a.reply(quotation, { method: Method.ACK, providerOrderId: 'P-A', cpd: OFFERED });
    const forged: [string, Inbound][] = [
      ['lookup', from(processing({ txid: 'ffffffffffffffffffffffffffffffff' }))],
      ['customerOrderId', from(processing({ customerOrderId: 'C-other' }))],
      ['unknown-server', from(processing(), { from: { address: SERVER_A.address, port: 7778 } })],
      ['fourTuple', from(processing(), { from: SERVER_B })],
      ['identity', from(processing(), { identity: 'mallory' })],
      ['state', from(ack)],
    ];
    // SERVER_B must be a known server for the fourTuple case to reach Table 5.
    ok(w.sim.apply('client', w.client.createOrder({ cpd: REQUESTED, server: SERVER_B })));
    for (const [cause, inbound] of forged) {
      const before = order(w, id);
      const out = w.client.receive(inbound);
      assert.equal(out.events.find((e) => e.kind === 'dropped')?.cause, cause, cause);
      assert.deepEqual(out.sends, []);
      assert.equal(order(w, id).local, undefined, `${cause}: the local endpoint stays unknown`);
      assert.deepEqual(core(order(w, id)), core(before), cause);
    }
    // The genuine response fixes it, on the endpoint it really arrived on.
    w.client.receive({ from: SERVER_A, to: CLIENT, identity: 'server-a', bytes: encodeMessage(processing()) });
    assert.equal(w.client.state(id), 'ServerProcessing');
    assert.deepEqual(order(w, id).local, CLIENT);
  });

  test('a response the state machine refuses does not fix it either', () => {
    const { w, id, quotation } = unknownLocal();
    ok(w.sim.apply('client', w.client.cancel(id)));
    ok(w.sim.apply('client', w.client.stopRetrying(id)));
    // Table 5 accepts an ACK in Cancelled, but no request waits for it any more.
    const ack = w.a.reply(quotation, { method: Method.ACK, providerOrderId: 'P-A', cpd: REQUESTED });
    const out = w.client.receive({ from: SERVER_A, to: OTHER_PORT, bytes: encodeMessage(ack) });
    assert.equal(out.events.find((e) => e.kind === 'dropped')?.cause, 'fsm');
    assert.equal(order(w, id).local, undefined);
  });

  test('resolved when each transaction opens, for the order\'s server; a known one is enforced at once', () => {
    let known: Endpoint | undefined;
    const asked: Endpoint[] = [];
    const w = world({
      localEndpoint: (server) => {
        asked.push(server);
        return known;
      },
    });
    const id = place(w);
    assert.equal(order(w, id).local, undefined);
    complete(w, id);
    assert.deepEqual(order(w, id).local, CLIENT, 'learnt from the first PROCESSING');

    // The transport now reports another endpoint: the UPDATE transaction takes it at once, so
    // the answers arriving on CLIENT do not belong to its 4-tuple.
    known = OTHER_PORT;
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(7_200_000) })));
    assert.deepEqual(order(w, id).local, OTHER_PORT);
    w.sim.advance(100);
    assert.equal(w.client.state(id), 'PQOSent');
    assert.ok((w.client.stats().dropped.fourTuple ?? 0) >= 2, 'PROCESSING and OFFER dropped');
    runTo(w, id, 'Completed'); // the UPDATE runs out of retries: the agreement stays (C1)
    assert.equal(order(w, id).fsm.updateEndedBy, 'timeout');

    known = CLIENT;
    ok(w.sim.apply('client', w.client.withdraw(id)));
    assert.deepEqual(order(w, id).local, CLIENT, 'resolved when the WITHDRAW transaction opened');
    w.sim.runUntilIdle();
    assert.equal(order(w, id).fsm.outstanding, undefined, 'the ACK was accepted');
    assert.ok(asked.length >= 3);
    assert.ok(asked.every((server) => server.address === SERVER_A.address && server.port === SERVER_A.port));
    const learnt = w.sim.events.filter((e) => e.kind === 'info' && (e.detail ?? '').endsWith('(first valid response)'));
    assert.equal(learnt.length, 1, 'only the first transaction had to learn it');
  });

  test('an unknown local endpoint the transport learns later is taken from it at the next send (retransmission)', () => {
    const transport: { connected?: Endpoint } = {};
    const { w, id, quotation, processing } = unknownLocal(() => transport.connected);
    transport.connected = CLIENT; // the first send connected meanwhile
    w.sim.advance(2000); // the QUOTATION is retransmitted: the source is asked again
    assert.equal(clientSends(w, 'QUOTATION').length, 2);
    assert.deepEqual(order(w, id).local, CLIENT);
    assert.equal(order(w, id).session?.txid, quotation.txid, 'same transaction');
    const out = w.client.receive({ from: SERVER_A, to: OTHER_PORT, bytes: encodeMessage(processing()) });
    assert.equal(out.events.find((e) => e.kind === 'dropped')?.cause, 'fourTuple');
    w.client.receive({ from: SERVER_A, to: CLIENT, bytes: encodeMessage(processing()) });
    assert.equal(w.client.state(id), 'ServerProcessing');
  });

  test('a source that throws or reports an unbound endpoint (port 0, 0.0.0.0) counts as unknown', () => {
    for (const source of [
      () => {
        throw new Error('not connected');
      },
      () => ({ address: '0.0.0.0', port: 0 }),
      () => ({ address: '0.0.0.0', port: 40000 }),
      () => ({ address: '::', port: 40000 }),
      () => ({ address: CLIENT.address, port: 0 }),
    ]) {
      const { w, id, processing } = unknownLocal(source);
      w.client.receive({ from: SERVER_A, to: CLIENT, bytes: encodeMessage(processing()) });
      assert.equal(w.client.state(id), 'ServerProcessing');
      assert.deepEqual(order(w, id).local, CLIENT);
    }
  });

  test('a snapshot keeps "unknown"; the restored engine learns it from the first valid response', () => {
    const { w, id, processing } = unknownLocal();
    const json = JSON.stringify(w.client.snapshot());
    const restored = ClientEngine.restore(JSON.parse(json), { clock: w.clock, random: seededRandom(5), localEndpoint: () => undefined });
    assert.equal(restored.order(id)?.local, undefined);
    restored.receive({ from: SERVER_A, to: OTHER_PORT, bytes: encodeMessage(processing()) });
    assert.equal(restored.state(id), 'ServerProcessing');
    assert.deepEqual(restored.order(id)?.local, OTHER_PORT);
  });

  test('createOrder({ local }) pins every transaction of the order; an unbound one is refused', () => {
    const w = world({ localEndpoint: () => undefined });
    const pinned = ok(w.sim.apply('client', w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, local: CLIENT })));
    ok(w.sim.apply('client', w.client.approve(pinned)));
    ok(w.sim.apply('client', w.client.sendQuotation(pinned)));
    assert.deepEqual(order(w, pinned).local, CLIENT);
    assert.equal(order(w, pinned).session?.peer.clientPort, CLIENT.port);
    assert.equal(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, local: { address: '0.0.0.0', port: 0 } }).ok, false);
  });
});

describe('client engine: CANCEL in every cancellable state', () => {
  test('Created and AwaitingProcessing: cancelled locally, nothing sent', () => {
    const w = world();
    const a = ok(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A }));
    const b = ok(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A }));
    ok(w.client.approve(b));
    assert.equal(w.client.cancel(a).sends.length, 0);
    assert.equal(w.client.cancel(b).sends.length, 0);
    assert.equal(order(w, a).fsm.cancelReason, 'cancelled');
    assert.equal(order(w, b).fsm.cancelReason, 'cancelled');
    const r = ok(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A }));
    ok(w.client.reject(r));
    assert.equal(order(w, r).fsm.cancelReason, 'rejected');
  });

  const cases: { state: string; reach: (w: World, id: string) => void; pid: boolean }[] = [
    {
      state: 'PQOSent',
      reach: (w) => {
        w.a.handlers.QUOTATION = () => [];
      },
      pid: false,
    },
    {
      state: 'ServerProcessing',
      reach: (w, id) => {
        w.a.handlers = standardHandlers({ offerNow: false });
        runTo(w, id, 'ServerProcessing');
      },
      pid: true,
    },
    { state: 'OfferReceived', reach: (w, id) => runTo(w, id, 'OfferReceived'), pid: true },
    {
      state: 'OfferProcessing',
      reach: (w, id) => {
        runTo(w, id, 'OfferReceived');
        ok(w.sim.apply('client', w.client.processOffer(id)));
      },
      pid: true,
    },
  ];
  for (const c of cases) {
    test(`${c.state}: CANCEL in the same transaction, ACK closes it`, () => {
      const w = world();
      const id = place(w);
      c.reach(w, id);
      assert.equal(w.client.state(id), c.state);
      const before = order(w, id);
      ok(w.sim.apply('client', w.client.cancel(id)));
      assert.equal(w.client.state(id), 'Cancelled');
      assert.equal(order(w, id).fsm.cancelReason, 'cancelled');
      w.sim.runUntilIdle();
      const cancel = w.a.got('CANCEL')[0];
      assert.ok(cancel && cancel.method === Method.CANCEL);
      assert.equal(cancel.txid, before.session?.txid);
      assert.equal(cancel.seq, before.session?.outSeq, 'next sequence number of the transaction');
      assert.equal(cancel.providerOrderId, c.pid ? 'P-A' : undefined);
      assert.equal(order(w, id).fsm.outstanding, undefined);
      assert.deepEqual(order(w, id).timers, []);
      assert.equal(clientSends(w, 'CANCEL').length, 1);
    });
  }

  test('AcceptSent: no CANCEL crosses the ACK (C23); the ACCEPT\'s answer decides, an agreement is withdrawn at once', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.accept(id)));
    ok(w.sim.apply('client', w.client.cancel(id)));
    assert.equal(w.client.state(id), 'AcceptSent');
    assert.equal(order(w, id).fsm.cancelRequested, true);
    const again = w.client.cancel(id);
    assert.equal(again.ok, false);
    if (!again.ok) assert.equal(again.code, 'cancel-pending');
    w.sim.runUntilIdle();
    assert.equal(clientSends(w, 'CANCEL').length, 0);
    assert.equal(clientSends(w, 'WITHDRAW').length, 1);
    assert.equal(order(w, id).fsm.cancelReason, 'withdrawn');
  });

  test('Completed: CANCEL is refused and nothing changes', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    const before = order(w, id);
    const result = w.client.cancel(id);
    assert.equal(result.ok, false);
    assert.deepEqual(core(order(w, id)), core(before));
  });
});

describe('client engine: timers', () => {
  test('EXPECTED_RESPONSE_TIME passes: CANCEL, Cancelled(timeout) (8.5)', () => {
    const w = world();
    w.a.handlers.QUOTATION = () => [];
    const id = place(w, { expectedResponseTime: at(5000) });
    w.sim.runUntil(stateIs(w, id, 'Cancelled'), { maxTimeMs: 60_000 });
    assert.equal(w.clock.now(), T0 + 5000);
    assert.equal(order(w, id).fsm.cancelReason, 'timeout');
    assert.deepEqual(
      clientSends(w).map((s) => [methodName(s.message.method), s.at - T0]),
      [
        ['QUOTATION', 0],
        ['QUOTATION', 2000],
        ['CANCEL', 5000],
      ],
    );
  });

  test('EXPECTED_OFFER_TIME passes without an offer: CANCEL, Cancelled(timeout)', () => {
    const w = world();
    w.a.handlers = standardHandlers({ offerNow: false, expectedOfferTime: at(90_000) });
    const id = place(w);
    w.sim.runUntil(stateIs(w, id, 'Cancelled'), { maxTimeMs: 200_000 });
    assert.equal(w.clock.now(), T0 + 90_000);
    assert.equal(order(w, id).fsm.cancelReason, 'timeout');
    assert.equal(clientSends(w, 'CANCEL').length, 1);
    assert.equal(clientSends(w, 'QUOTATION').length, 1, 'PROCESSING stopped the retransmission');
  });

  test('VALIDITY_OFFER_TIME passes: Cancelled(expired), nothing sent, ACCEPT refused afterwards', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    const sent = clientSends(w).length;
    w.sim.runUntil(stateIs(w, id, 'Cancelled'), { maxTimeMs: 2 * VALID_FOR });
    assert.equal(w.clock.now(), T0 + VALID_FOR);
    assert.equal(order(w, id).fsm.cancelReason, 'expired');
    assert.equal(clientSends(w).length, sent);
    assert.equal(w.client.accept(id).ok, false);
  });

  test('a command after a missed deadline sees the deadline first', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    w.clock.set(T0 + VALID_FOR + 1); // no tick in between
    const result = w.client.accept(id);
    assert.equal(result.ok, false);
    assert.equal(w.client.state(id), 'Cancelled');
  });

  test('retransmission: same bytes and seq, backoff 2/4/8 s, 3 retries, then retriesExhausted (11.4)', () => {
    const w = world();
    w.a.handlers.QUOTATION = () => [];
    const id = place(w);
    const result = w.sim.runUntilIdle({ maxTimeMs: 120_000 });
    assert.equal(result.reason, 'idle');
    const copies = clientSends(w, 'QUOTATION');
    assert.deepEqual(
      copies.map((s) => s.at - T0),
      [0, 2000, 6000, 14000],
    );
    assert.equal(new Set(copies.map((s) => toHex(s.bytes))).size, 1);
    assert.equal(w.a.received.length, 4);
    assert.equal(w.a.processed.length, 1, 'the server saw repeats, not new requests');
    assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(order(w, id).fsm.cancelReason, 'timeout');
    assert.equal(w.clock.now(), T0 + 30_000);
    assert.equal(clientSends(w).length, 4, 'nothing after giving up');
    assert.ok(w.sim.events.some((e) => e.kind === 'transition' && e.cause === 'retriesExhausted'));
  });

  test('retransmission timing follows the configuration', () => {
    const w = world({ config: { timers: { retransTimerMs: 500, maxRetries: 1 } } });
    w.a.handlers.QUOTATION = () => [];
    place(w);
    w.sim.runUntilIdle({ maxTimeMs: 60_000 });
    assert.deepEqual(
      clientSends(w, 'QUOTATION').map((s) => s.at - T0),
      [0, 500],
    );
    assert.equal(w.clock.now(), T0 + 1500);
  });
});

describe('client engine: invalid, duplicate, late and forged responses (10.1, 11.3, 13)', () => {
  function inServerProcessing() {
    const w = world();
    w.a.handlers = standardHandlers({ offerNow: false });
    const id = place(w);
    runTo(w, id, 'ServerProcessing');
    w.sim.runUntilIdle({ maxTimeMs: 1000 });
    const quotation = w.a.got('QUOTATION')[0];
    assert.ok(quotation);
    const processingSent = w.sim.sentBy('A')[0];
    assert.ok(processingSent);
    return { w, id, quotation, processingSent };
  }
  const inbound = (msg: CpnpMessage, over: Partial<Inbound> = {}): Inbound => ({
    from: SERVER_A,
    to: CLIENT,
    bytes: encodeMessage(msg),
    ...over,
  });

  test('each forged or stale message is dropped silently without any state change', () => {
    const { w, id, quotation, processingSent } = inServerProcessing();
    const good = (extra: Partial<Record<string, unknown>> = {}) =>
      ({
        version: 1,
        method: Method.OFFER,
        seq: processingSent.message.seq + 1,
        txid: quotation.txid,
        customerOrderId: id,
        providerOrderId: 'P-A',
        nonce: NONCE_1,
        validityOfferTime: at(VALID_FOR),
        cpd: OFFERED,
        ...extra,
      }) as CpnpMessage;
    const attempts: [string, Inbound][] = [
      ['lookup', inbound(good({ txid: 'ffffffffffffffffffffffffffffffff' }))],
      ['customerOrderId', inbound(good({ customerOrderId: 'C-other' }))],
      ['providerOrderId', inbound(good({ providerOrderId: 'P-evil' }))],
      ['fourTuple', inbound(good(), { to: { address: CLIENT.address, port: 40001 } })],
      ['seq', inbound(good({ seq: processingSent.message.seq - 1 }))],
      ['seq', inbound(good({ seq: processingSent.message.seq }))], // same seq, other method
      ['unknown-server', inbound(good(), { from: { address: '203.0.113.9', port: 7777 } })],
      ['unknown-server', inbound(good(), { from: { address: SERVER_A.address, port: 7778 } })],
      ['decode', { from: SERVER_A, to: CLIENT, bytes: new Uint8Array([0xa1, 0x01]) }],
      ['method', inbound({ version: 1, method: Method.QUOTATION, seq: 1, txid: quotation.txid, customerOrderId: id, cpd: REQUESTED })],
      // Valid for Table 5 (a later PROCESSING) but no event of the machine in ServerProcessing.
      [
        'fsm',
        inbound({
          version: 1,
          method: Method.PROCESSING,
          seq: processingSent.message.seq + 1,
          txid: quotation.txid,
          customerOrderId: id,
          providerOrderId: 'P-A',
        }),
      ],
      [
        'state',
        inbound({
          version: 1,
          method: Method.ACK,
          seq: processingSent.message.seq + 1,
          txid: quotation.txid,
          customerOrderId: id,
          providerOrderId: 'P-A',
          cpd: OFFERED,
        }),
      ],
    ];
    for (const [cause, message] of attempts) {
      const before = order(w, id);
      const sentBefore = w.client.stats().sent;
      const out = w.client.receive(message);
      assert.deepEqual(out.sends, [], cause);
      const drop = out.events.find((e) => e.kind === 'dropped');
      assert.ok(drop, `${cause}: a dropped event`);
      assert.equal(drop.cause, cause, `${cause}: ${drop.detail ?? ''}`);
      assert.deepEqual(core(order(w, id)), core(before), `${cause}: no state change`);
      assert.equal(w.client.stats().sent, sentBefore);
    }
    const dropped = w.client.stats().dropped;
    assert.equal(dropped['unknown-server'], 2);
    assert.equal(dropped.seq, 2);
    assert.equal(w.client.state(id), 'ServerProcessing');
    // The genuine OFFER still works afterwards.
    w.client.receive(inbound(good()));
    assert.equal(w.client.state(id), 'OfferReceived');
  });

  test('a message from another server identity is dropped (section 13)', () => {
    const w = world();
    w.a.handlers = standardHandlers({ offerNow: false });
    const id = ok(w.sim.apply('client', w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, serverIdentity: 'server-a' })));
    ok(w.sim.apply('client', w.client.approve(id)));
    ok(w.sim.apply('client', w.client.sendQuotation(id)));
    w.sim.runUntilIdle({ maxTimeMs: 100 });
    const processing = w.sim.sentBy('A')[0];
    assert.ok(processing);
    const out = w.client.receive({ from: SERVER_A, to: CLIENT, identity: 'mallory', bytes: processing.bytes });
    assert.equal(out.events.find((e) => e.kind === 'dropped')?.cause, 'identity');
    assert.equal(w.client.state(id), 'PQOSent');
    w.client.receive({ from: SERVER_A, to: CLIENT, identity: 'server-a', bytes: processing.bytes });
    assert.equal(w.client.state(id), 'ServerProcessing');
  });

  test('a duplicated response is recognised, never processed twice', () => {
    const { w, id, processingSent } = inServerProcessing();
    const before = order(w, id);
    const out = w.client.receive({ from: SERVER_A, to: CLIENT, bytes: processingSent.bytes });
    assert.ok(out.events.some((e) => e.kind === 'duplicate'));
    assert.deepEqual(out.sends, []);
    assert.deepEqual(core(order(w, id)), core(before));
    assert.equal(w.client.stats().duplicates, 1);
  });

  test('a repeated OFFER is answered with the cached PROCESSING (11.4), not processed again', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    w.sim.runUntilIdle({ maxTimeMs: 100 });
    ok(w.sim.apply('client', w.client.processOffer(id)));
    w.sim.runUntilIdle({ maxTimeMs: 100 });
    const offer = w.sim.sentBy('A').find((s) => s.message.method === Method.OFFER);
    assert.ok(offer);
    const processed = order(w, id).processed;
    w.clock.set(w.clock.now() + 5000);
    const out = w.client.receive({ from: SERVER_A, to: CLIENT, bytes: offer.bytes });
    assert.equal(out.sends.length, 1);
    assert.equal(out.sends[0]?.message.method, Method.PROCESSING);
    assert.equal(toHex(out.sends[0]?.bytes ?? new Uint8Array()), toHex(clientSends(w, 'PROCESSING')[0]?.bytes ?? new Uint8Array(1)));
    assert.deepEqual(order(w, id).processed, processed);
    assert.equal(w.client.state(id), 'OfferProcessing');
    // Limited frequency: an immediate third copy gets nothing.
    assert.equal(w.client.receive({ from: SERVER_A, to: CLIENT, bytes: offer.bytes }).sends.length, 0);
  });

  test('a late duplicate ACK after Completed changes nothing', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    const ack = w.sim.sentBy('A').find((s) => s.message.method === Method.ACK);
    assert.ok(ack);
    const before = order(w, id);
    const out = w.client.receive({ from: SERVER_A, to: CLIENT, bytes: ack.bytes });
    assert.deepEqual(out.sends, []);
    assert.deepEqual(core(order(w, id)), core(before));
    assert.equal(before.processed[ack.message.txid], 3, 'PROCESSING, OFFER and ACK processed once each');
  });
});

describe('client engine: parallel negotiations (8.10)', () => {
  test('two orders with two servers complete independently; cross-server messages are dropped', () => {
    const w = world();
    const x = place(w, { server: SERVER_A, id: 'order-x' });
    const y = place(w, { server: SERVER_B, id: 'order-y' });
    w.sim.runUntil(() => w.client.state(x) === 'OfferReceived' && w.client.state(y) === 'OfferReceived');
    assert.notEqual(order(w, x).session?.txid, order(w, y).session?.txid);
    // Server B tries to answer for order x (it knows nothing valid about it).
    const xTx = order(w, x).session;
    assert.ok(xTx);
    const forged = w.b.reply({ txid: xTx.txid, customerOrderId: x }, {
      method: Method.ACK,
      providerOrderId: 'P-A',
      cpd: OFFERED,
    });
    const out = w.client.receive({ from: SERVER_B, to: CLIENT, bytes: encodeMessage(forged) });
    assert.equal(out.events.find((e) => e.kind === 'dropped')?.cause, 'fourTuple');
    ok(w.sim.apply('client', w.client.accept(y)));
    ok(w.sim.apply('client', w.client.accept(x)));
    w.sim.runUntil(() => w.client.state(x) === 'Completed' && w.client.state(y) === 'Completed');
    assert.equal(order(w, x).agreement?.providerOrderId, 'P-A');
    assert.equal(order(w, y).agreement?.providerOrderId, 'P-B');
    assert.ok(w.a.received.every((m) => m.customerOrderId === x));
    assert.ok(w.b.received.every((m) => m.customerOrderId === y));
  });
});

describe('client engine: snapshot and restore', () => {
  test('mid-flight: JSON snapshot, restore into a new engine, the retransmission fires on time and the negotiation finishes', () => {
    let drop = true;
    const w = world({
      faults: (p) => {
        const d = decodeMessage(p.bytes);
        return drop && d.ok && d.message.method === Method.ACCEPT ? 'drop' : 'deliver';
      },
    });
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    ok(w.sim.apply('client', w.client.accept(id)));
    w.sim.advance(100);
    assert.equal(w.client.state(id), 'AcceptSent');
    const due = w.client.nextDue();
    const json = JSON.stringify(w.client.snapshot());
    const firstAccept = clientSends(w, 'ACCEPT')[0];
    assert.ok(firstAccept);

    // The old engine is gone; a new one takes over the same transport.
    w.sim.detach();
    drop = false;
    const sim = new Simulation(w.clock, w.network);
    const restored = ClientEngine.restore(JSON.parse(json), { clock: w.clock, random: seededRandom(1234), localEndpoint: CLIENT });
    assert.equal(restored.nextDue(), due);
    assert.deepEqual(restored.order(id), w.client.order(id));
    sim.add('client', restored, w.network.attach(CLIENT));
    sim.add('A', w.a, w.network.attach(SERVER_A));
    const result = sim.runUntil(() => restored.state(id) === 'Completed', { maxTimeMs: 60_000 });
    assert.equal(result.reason, 'predicate');
    const resent = sim.sentBy('client').filter((s) => s.message.method === Method.ACCEPT);
    assert.equal(resent.length, 1);
    assert.equal(resent[0]?.at, due);
    assert.equal(toHex(resent[0]?.bytes ?? new Uint8Array()), toHex(firstAccept.bytes));
    assert.deepEqual(restored.order(id)?.agreement?.cpd, OFFERED);
  });

  test('restore refuses what is not a snapshot or holds an invalid order', () => {
    const deps = { clock: new SimulatedClock(T0), random: seededRandom(1), localEndpoint: CLIENT };
    assert.throws(() => ClientEngine.restore({}, deps), RangeError);
    const w = world();
    place(w);
    const snap = w.client.snapshot();
    const bad = structuredClone(snap);
    const first = bad.orders[0];
    assert.ok(first);
    first.fsm = { ...first.fsm, state: 'Completed' };
    assert.throws(() => ClientEngine.restore(bad, deps), RangeError);
  });
});

describe('client engine: commands', () => {
  test('refusals are values: unknown order, bad CPD, duplicate id, wrong state', () => {
    const w = world();
    assert.equal(w.client.accept('nope').ok, false);
    const bad = w.client.createOrder({ cpd: [{ nodes: [] }] as unknown as Cpd, server: SERVER_A });
    assert.equal(bad.ok, false);
    const id = ok(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, customerOrderId: 'mine' }));
    assert.equal(id, 'mine');
    assert.equal(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, customerOrderId: 'mine' }).ok, false);
    assert.equal(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, customerOrderId: 'x'.repeat(65) }).ok, false);
    const early = w.client.sendQuotation(id);
    assert.equal(early.ok, false);
    assert.deepEqual(early.sends, []);
    assert.equal(w.client.state(id), 'Created');
    assert.equal(w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(1000) }).ok, false);
    assert.equal(order(w, id).update, undefined, 'a refused update leaves no trace');
  });
});

describe('client engine: property — lossy network', () => {
  test('with loss, duplication and delay the order ends Completed or Cancelled, consistent, each response processed once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(fc.constantFrom<'deliver' | 'drop' | 'duplicate' | 'delay'>('deliver', 'deliver', 'deliver', 'drop', 'duplicate', 'delay'), {
          minLength: 1,
          maxLength: 40,
        }),
        (seed, pattern) => {
          const w = world({
            seed,
            faults: (p) => {
              const f = pattern[p.index % pattern.length];
              return f === 'delay' ? { delayMs: 2500 } : (f ?? 'deliver');
            },
          });
          // Figure 3: the server answers the QUOTATION with the OFFER directly.
          w.a.handlers = standardHandlers({ withProcessing: false });
          const id = place(w);
          w.sim.runUntil(stateIs(w, id, 'OfferReceived', 'Cancelled'), { maxTimeMs: 120_000 });
          if (w.client.state(id) === 'OfferReceived') ok(w.sim.apply('client', w.client.accept(id)));
          const end = w.sim.runUntilIdle({ maxTimeMs: 600_000 });
          assert.equal(end.reason, 'idle');
          const rec = order(w, id);
          assert.ok(rec.fsm.state === 'Completed' || rec.fsm.state === 'Cancelled', rec.fsm.state);
          assert.deepEqual(clientOrderProblems(rec.fsm), []);
          if (rec.fsm.state === 'Completed') {
            assert.deepEqual(rec.agreement?.cpd, OFFERED);
            assert.equal(w.a.processed.filter((m) => m.method === Method.ACCEPT).length, 1);
          } else {
            assert.equal(rec.fsm.cancelReason, 'timeout');
          }
          for (const count of Object.values(rec.processed)) assert.ok(count <= 2, 'OFFER and ACK at most once each');
          // Every copy of a message reuses its sequence number.
          const seqs = new Map<string, Set<number>>();
          for (const s of clientSends(w)) {
            const key = `${s.message.txid}/${s.message.method}`;
            seqs.set(key, (seqs.get(key) ?? new Set()).add(s.message.seq));
          }
          for (const set of seqs.values()) assert.equal(set.size, 1);
          assert.deepEqual(w.sim.errors, []);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('client engine: section 13 checks on the Provider Order Identifier', () => {
  test('fixed once known: a later message with another one is dropped (UPDATE cycle included)', () => {
    const w = world();
    const id = place(w);
    complete(w, id);
    w.a.handlers.UPDATE = (m, s) => [s.reply(m, { method: Method.PROCESSING, providerOrderId: 'P-SWAPPED' })];
    ok(w.sim.apply('client', w.client.update(id, { cpd: UPDATED, expectedResponseTime: at(VALID_FOR) })));
    w.sim.advance(100);
    assert.equal(order(w, id).providerOrderId, 'P-A');
    assert.equal(w.client.state(id), 'PQOSent', 'the swapped PROCESSING was not processed');
    assert.ok((w.client.stats().dropped.providerOrderId ?? 0) >= 1);
  });

  test('never one of our own customer order identifiers', () => {
    const w = world();
    const other = ok(w.client.createOrder({ cpd: REQUESTED, server: SERVER_B, customerOrderId: 'C-mine' }));
    w.a.handlers.QUOTATION = (m, s) => [s.reply(m, { method: Method.PROCESSING, providerOrderId: other })];
    const id = place(w);
    w.sim.advance(100);
    assert.equal(w.client.state(id), 'PQOSent');
    assert.equal(order(w, id).providerOrderId, undefined);
    assert.equal(w.client.stats().dropped.providerOrderId, 1);
  });
});

describe('client engine: refusal codes and typed event data', () => {
  const code = (result: CommandResult): string | undefined => (result.ok ? undefined : result.code);

  test('every refusal carries a machine-readable code; the command-rejected event carries it too', () => {
    const w = world();
    assert.equal(code(w.client.accept('C-none')), 'unknown-order');
    const id = place(w, { id: 'C-codes' });
    assert.equal(code(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, customerOrderId: 'C-codes' })), 'duplicate-order');
    assert.equal(code(w.client.createOrder({ cpd: REQUESTED, server: SERVER_A, expectedResponseTime: 'soon' as DateTime })), 'invalid-input');
    assert.equal(code(w.client.withdraw(id)), 'wrong-state');
    assert.equal(code(w.client.grantMoreTime(id)), 'wrong-state');
    runTo(w, id, 'OfferReceived');
    w.sim.advance(VALID_FOR + 1000);
    const late = w.client.accept(id);
    assert.equal(code(late), 'offer-expired');
    const rejected = late.events.find((e) => e.kind === 'command-rejected');
    assert.equal(rejected?.data?.refusal, 'offer-expired');
    const v = world();
    const s = place(v, { scheduled: true });
    runTo(v, s, 'OfferReceived');
    ok(v.sim.apply('client', v.client.accept(s)));
    runTo(v, s, 'Completed');
    v.a.handlers.ACTIVATE = () => [];
    ok(v.sim.apply('client', v.client.activate(s, null)));
    assert.equal(code(v.client.withdraw(s)), 'busy');
    const plain = place(v);
    complete(v, plain);
    assert.equal(code(v.client.activate(plain, null)), 'not-scheduled');
  });

  test('grantMoreTime bounds: in the future, never after the time asked for; refuse without a request: no-time-request', () => {
    const w = world();
    w.a.handlers = standardHandlers({ offerNow: false });
    const id = place(w);
    runTo(w, id, 'ServerProcessing');
    assert.equal(code(w.client.refuseMoreTime(id)), 'no-time-request');
    const asked = at(2 * VALID_FOR);
    const txid = order(w, id).session?.txid ?? '';
    w.sim.apply('A', w.a.push(CLIENT, w.a.reply({ txid, customerOrderId: id }, { method: Method.PROCESSING, providerOrderId: 'P-A', expectedOfferTime: asked, processingSubcode: 1 })));
    w.sim.advance(100);
    assert.equal(order(w, id).fsm.moreTimeRequested, asked);
    assert.equal(code(w.client.grantMoreTime(id, at(3 * VALID_FOR))), 'bad-time');
    assert.equal(code(w.client.grantMoreTime(id, at(-1000))), 'bad-time');
    const notice = w.sim.events.find((e) => e.cause === 'decideMoreTime');
    assert.equal(notice?.data?.expectedOfferTime, asked);
    assert.equal(notice?.data?.processingSubcode, 1);
    ok(w.client.grantMoreTime(id, at(VALID_FOR)));
  });

  test('events carry typed data: offer (CPD, validity, diff), FAIL status, DECLINE reasons, alarms', () => {
    const w = world();
    const id = place(w);
    runTo(w, id, 'OfferReceived');
    const offer = w.sim.events.find((e) => e.kind === 'offer');
    assert.deepEqual(offer?.data?.offeredCpd, OFFERED);
    assert.equal(offer?.data?.validityOfferTime, at(VALID_FOR));
    assert.equal(offer?.data?.providerOrderId, 'P-A');
    assert.ok(offer?.data?.offerDiff !== undefined && typeof offer.data.offerDiff.overall === 'string');
    const declined = w.sim.apply('client', w.client.decline(id, [2, 3]));
    assert.deepEqual(declined.events.find((e) => e.kind === 'sent')?.data?.declineReasons, [2, 3]);
    w.a.handlers.QUOTATION = (m, s) => [s.reply(m, { method: Method.FAIL, providerOrderId: 'P-A', statusCode: 5 })];
    const f = place(w);
    w.sim.runUntilIdle();
    const fail = w.sim.events.find((e) => e.kind === 'received' && e.orderId === f && e.method === 'FAIL');
    assert.equal(fail?.data?.statusCode, 5);
    const lost = place(w, { server: SERVER_B });
    runTo(w, lost, 'OfferReceived');
    w.b.handlers.ACCEPT = () => [];
    ok(w.sim.apply('client', w.client.accept(lost)));
    w.sim.advance(40_000);
    const alarm = w.sim.events.find((e) => e.kind === 'alarm' && e.orderId === lost);
    assert.equal(alarm?.data?.alarm, 'acceptUnanswered');
    assert.deepEqual(w.client.openAlarms(lost).map((a) => a.kind), ['acceptUnanswered']);
    ok(w.client.resolveAlarm(lost, 'provider confirmed by phone'));
    assert.deepEqual(w.client.openAlarms(lost), []);
    assert.equal(order(w, lost).alarms?.[0]?.settledBy, 'operator');
  });
});
