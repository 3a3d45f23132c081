/**
 * RFC 8921 11.4 (retransmission, duplicate answers) and 11.3 (replays) end to end: the real
 * ClientEngine against the real ServerEngine (concretizingDecider) over MemoryNetwork with a
 * SimulatedClock and seeded fault functions. No sleeps: everything runs in simulated time.
 *
 * The scenario is one order's whole life (Figures 6, 15, 16, 14):
 *   QUOTATION → PROCESSING, OFFER → PROCESSING → ACCEPT → ACK        (quotation cycle)
 *   ACTIVATE → ACK                                                   (activationType "scheduled")
 *   UPDATE → PROCESSING, OFFER → PROCESSING → ACCEPT → ACK           (update cycle)
 *   WITHDRAW → ACK
 * The application on the client answers every offer with PROCESSING then ACCEPT and moves on to
 * the next step once the previous request is settled, each after THINK_MS.
 *
 * Part 1 replays the clean run with exactly one fault on each of its packets (drop, duplicate,
 * reorder behind the next packet, delay beyond RETRANS_TIMER) and asserts the precise outcome of
 * every case. Part 2 runs hundreds of seeded random-loss runs and asserts that every run ends in
 * a state pair RFC 8921 allows. See docs/loss-and-retransmission.md for the reading of each case.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { millisToDateTime } from '../date-time';
import { toHex } from '../hex';
import { methodName, type MethodName } from '../method';
import { seededRandom, type RandomSource } from '../random';
import { MemoryNetwork, type FaultDecision, type FaultFunction } from '../transport/memory';
import type { Endpoint } from '../transport/transport';
import { ClientEngine, type CommandResult } from '../engine/client-engine';
import { concretizingDecider } from '../engine/decider';
import { ServerEngine } from '../engine/server-engine';
import { Simulation, type SimEvent } from '../engine/simulation';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const SERVER: Endpoint = { address: '198.51.100.7', port: 4785 };
const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
const UPDATED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }, { id: 'ce-b', link: 'pe2:ge-0/0/3' }] }];
/** Network latency, one way. */
const LATENCY_MS = 5;
/** The application's reaction time between two commands. */
const THINK_MS = 200;
/** EXPECTED_RESPONSE_TIME of the QUOTATION and UPDATE, from their sending (bounds every wait, 11.1.1). */
const RESPONSE_WINDOW_MS = 60_000;
/** VALIDITY_OFFER_TIME of the server's offers (bounds the server's waits, 9.1.8). */
const OFFER_VALIDITY_MS = 120_000;
/** RETRANS_TIMER (default, 8.5). */
const RETRANS_MS = 2000;

// ---------------------------------------------------------------------------------------------
// The scenario

type Phase = 'quotation' | 'activate' | 'update' | 'withdraw';

interface RunOutcome {
  sim: Simulation;
  client: ClientEngine;
  server: ServerEngine;
  id: string;
  /** The last phase the application entered. */
  phase: Phase;
  /** Why the run stopped: 'idle' (nothing due anywhere) or a limit. */
  stop: 'idle' | 'max-steps';
  /** Invariants broken while the run was in progress (should stay empty). */
  violations: string[];
}

function must(result: CommandResult): string {
  if (!result.ok) throw new Error(`command refused: ${result.reason}`);
  return result.orderId;
}

/**
 * Runs the scenario under `faults`. `seed` seeds both engines' random sources (Transaction-IDs,
 * nonces, first sequence numbers). The run goes on until nothing is due anywhere.
 */
function runScenario(faults: FaultFunction, seed = 1): RunOutcome {
  const clock = new SimulatedClock(T0);
  const network = new MemoryNetwork(() => clock.now(), LATENCY_MS);
  network.faults = faults;
  const sim = new Simulation(clock, network);
  const client = new ClientEngine({ clock, random: seededRandom(seed * 2 + 1), localEndpoint: CLIENT, label: 'client' });
  const server = new ServerEngine({
    clock,
    random: seededRandom(seed * 2 + 2),
    decider: concretizingDecider(),
    config: { offerValidityMs: OFFER_VALIDITY_MS },
  });
  // The memory network reports the sender's identity like DTLS would: the order's owner is "acme".
  sim.add('client', client, network.attach(CLIENT, { identity: 'acme' }));
  sim.add('server', server, network.attach(SERVER, { identity: 'provider' }));

  const apply = (result: CommandResult): string => must(sim.apply('client', result));
  const id = apply(
    client.createOrder({
      cpd: REQUESTED,
      server: SERVER,
      customerOrderId: 'C-loss',
      expectedResponseTime: millisToDateTime(T0 + RESPONSE_WINDOW_MS),
      ies: { options: { activationType: 'scheduled' } },
    }),
  );
  apply(client.approve(id));
  apply(client.sendQuotation(id));

  let phase: Phase = 'quotation';
  /** What the application does next, given the order's state (undefined: nothing yet). */
  const next = (): { key: string; act: () => CommandResult } | undefined => {
    const fsm = client.order(id)?.fsm;
    if (fsm === undefined) return undefined;
    if (phase === 'quotation' || phase === 'update') {
      if (fsm.state === 'OfferReceived') return { key: `${phase}:processOffer`, act: () => client.processOffer(id) };
      if (fsm.state === 'OfferProcessing') return { key: `${phase}:accept`, act: () => client.accept(id) };
      if (fsm.state !== 'Completed' || fsm.outstanding !== undefined) return undefined;
      if (phase === 'quotation') {
        return {
          key: 'activate',
          act: () => {
            phase = 'activate';
            return client.activate(id, null);
          },
        };
      }
      return {
        key: 'withdraw',
        act: () => {
          phase = 'withdraw';
          return client.withdraw(id);
        },
      };
    }
    if (phase === 'activate' && fsm.state === 'Completed' && fsm.outstanding === undefined) {
      return {
        key: 'update',
        act: () => {
          phase = 'update';
          return client.update(id, { cpd: UPDATED, expectedResponseTime: millisToDateTime(clock.now() + RESPONSE_WINDOW_MS) });
        },
      };
    }
    return undefined;
  };

  const violations: string[] = [];
  const check = (): void => {
    // A client that believes in an agreement must share it with the server: the server
    // concludes first (it sends the ACK), so the only way to differ is a client that gave up
    // an unanswered ACCEPT in an UPDATE cycle (11.1.1), which raises an alarm.
    const rec = client.order(id);
    if (rec?.fsm.state !== 'Completed') return;
    const order = server.listOrders()[0];
    if (order?.fsm.hasAgreement !== true) {
      violations.push(`t=${clock.now() - T0}: client Completed while the server is ${order?.fsm.state ?? 'unaware'}`);
      return;
    }
    if (order.agreement?.nonce !== rec.agreement?.nonce && !alarmed(sim.events, 'acceptUnanswered')) {
      violations.push(`t=${clock.now() - T0}: client and server agreements differ without an alarm`);
    }
    // The server activates before it sends the ACK of an ACTIVATE (9.2.11): a client that saw
    // the ACK never believes in an activation the server does not have.
    if (rec.fsm.activation?.status === 'active' && order.fsm.activation?.status !== 'active') {
      violations.push(`t=${clock.now() - T0}: client active, server ${order.fsm.activation?.status ?? 'without activation'}`);
    }
    // The converse: a server that activated while the client, its ACTIVATE settled, still sees
    // the agreement inactive lost every ACK; the client then gave up with an alarm (9.2.11).
    if (
      order.fsm.activation?.status === 'active' &&
      rec.fsm.activation?.status !== 'active' &&
      rec.fsm.outstanding?.method !== 'ACTIVATE' &&
      !alarmed(sim.events, 'activationUnanswered')
    ) {
      violations.push(`t=${clock.now() - T0}: server active, client ${rec.fsm.activation?.status ?? 'without activation'} without an alarm`);
    }
  };

  let pending: { key: string; at: number } | undefined;
  for (let steps = 0; steps < 20_000; steps++) {
    const want = next();
    if (want === undefined) pending = undefined;
    else if (pending?.key !== want.key) pending = { key: want.key, at: clock.now() + THINK_MS };
    const due = sim.nextDue();
    if (want !== undefined && pending !== undefined && (due === undefined || pending.at <= due)) {
      clock.set(Math.max(clock.now(), pending.at));
      pending = undefined;
      apply(want.act());
    } else if (due === undefined) {
      return { sim, client, server, id, phase, stop: 'idle', violations };
    } else {
      sim.step();
    }
    check();
  }
  return { sim, client, server, id, phase, stop: 'max-steps', violations };
}

const alarmed = (events: SimEvent[], reason: string): boolean => events.some((e) => e.kind === 'alarm' && e.cause === reason);

const short = (node: string): string => node;

/** Labels of the events of one kind, as `node:METHOD[:cause]`. */
function labels(run: RunOutcome, kind: SimEvent['kind'], withCause: boolean): string[] {
  return run.sim.events
    .filter((e) => e.kind === kind)
    .map((e) => [short(e.simNode), e.method ?? '-', ...(withCause ? [e.cause] : [])].join(':'))
    .sort();
}

/** Retransmission timers are recorded in the server's history as self-transitions; they are not state changes. */
const isTimerLoop = (h: { from?: string; to: string; cause: string }): boolean =>
  h.from === h.to && (h.cause === 'retransmitTimeout' || h.cause === 'retriesExhausted');

function transitions(run: RunOutcome, node: 'client' | 'server'): string[] {
  if (node === 'server') {
    return (run.server.listOrders()[0]?.history ?? []).filter((h) => !isTimerLoop(h)).map((h) => `${h.from ?? ''}->${h.to}:${h.cause}`);
  }
  return run.sim.events.filter((e) => e.simNode === 'client' && e.kind === 'transition').map((e) => `${e.from ?? ''}->${e.to}:${e.cause}`);
}

/**
 * The invariants every run must satisfy, faulty or not:
 * - 11.4: a retransmission is the same bytes with the same sequence number: every message a
 *   node put on the wire for one (Transaction-ID, seq) is byte-identical;
 * - no message is processed twice: each (node, Transaction-ID, seq) is "received" at most once,
 *   and the server's per-transaction processed count equals its distinct received messages;
 * - no run is stuck: it ends idle, with no request outstanding at the client;
 * - the invariant checked during the run (client Completed ⇒ same agreement at the server).
 */
function assertInvariants(run: RunOutcome): void {
  assert.equal(run.stop, 'idle', 'the run must end with nothing due anywhere');
  assert.deepEqual(run.sim.errors, []);
  assert.deepEqual(run.violations, []);
  const wire = new Map<string, string>();
  for (const send of run.sim.sends) {
    const key = `${send.simNode}|${send.message.txid}|${send.message.seq}`;
    const hex = toHex(send.bytes);
    const earlier = wire.get(key);
    if (earlier !== undefined) assert.equal(hex, earlier, `${key}: a retransmission must repeat the same bytes (11.4)`);
    wire.set(key, hex);
  }
  for (const e of run.sim.events.filter((x) => x.kind === 'retransmitted')) {
    assert.ok(wire.has(`${e.simNode}|${e.txid}|${e.seq}`), 'a retransmitted message was sent before');
  }
  const received = new Set<string>();
  const perTx = new Map<string, number>();
  for (const e of run.sim.events.filter((x) => x.kind === 'received')) {
    const key = `${e.simNode}|${e.txid}|${e.seq}`;
    assert.ok(!received.has(key), `${key} ${e.method} processed twice`);
    received.add(key);
    if (e.simNode === 'server' && e.txid !== undefined) perTx.set(e.txid, (perTx.get(e.txid) ?? 0) + 1);
  }
  for (const [txid, count] of perTx) assert.equal(run.server.processedCount(txid), count, `processed count of ${txid}`);
  const clientProcessed = Object.values(run.client.order(run.id)?.processed ?? {}).reduce((a, b) => a + b, 0);
  assert.equal(clientProcessed, [...received].filter((k) => k.startsWith('client|')).length);
  const rec = run.client.order(run.id);
  assert.ok(rec);
  // A request may stay outstanding only as an explicit unknown outcome carrying an open alarm
  // (docs/state-machines.md C10): never silently.
  if (rec.fsm.outstanding !== undefined) {
    assert.equal(rec.fsm.outstanding.unknown, true, 'no request left outstanding at the client unless its outcome is unknown');
    assert.ok(run.client.openAlarms(run.id).length > 0, 'an unknown outcome carries an open alarm');
  }
  assert.equal(run.sim.nextDue(), undefined);
  // Each state change of the server happens once per transaction.
  const history = (run.server.listOrders()[0]?.history ?? [])
    .filter((h) => !isTimerLoop(h))
    .map((h) => `${h.txid ?? ''}|${h.from ?? ''}|${h.to}|${h.cause}`);
  assert.equal(new Set(history).size, history.length, 'a server transition repeated within a transaction');
}

/** The run went through every step and the server confirmed the withdrawal (Figure 14). */
function assertCompleted(run: RunOutcome): void {
  assert.equal(run.phase, 'withdraw');
  const rec = run.client.order(run.id);
  assert.ok(rec);
  assert.equal(rec.fsm.state, 'Cancelled');
  assert.equal(rec.fsm.cancelReason, 'withdrawn');
  const order = run.server.listOrders()[0];
  assert.ok(order);
  assert.equal(order.fsm.state, 'Cancelled');
  assert.equal(order.fsm.cancelReason, 'withdrawn');
  assert.equal(run.server.listOrders().length, 1, 'one order at the server, whatever was repeated');
  assert.equal(order.owner, 'acme');
  // Both sides agreed the updated CPD, with the same nonce, before the withdrawal.
  assert.equal(rec.agreement?.cycle, 'update');
  assert.equal(rec.agreement.nonce, order.agreement?.nonce);
  assert.equal(order.agreement?.withdrawnAt !== undefined, true);
  assert.deepEqual(
    run.sim.events.filter((e) => e.kind === 'alarm'),
    [],
    'no alarm',
  );
}

// ---------------------------------------------------------------------------------------------
// Part 1: the clean run, then one fault on each of its packets

const CLEAN = runScenario(() => 'deliver');
const PACKETS = CLEAN.sim.sends.map((s) => ({ node: s.simNode as 'client' | 'server', method: methodName(s.message.method), at: s.at }));
const CLEAN_CLIENT_TRANSITIONS = transitions(CLEAN, 'client');
const CLEAN_SERVER_TRANSITIONS = transitions(CLEAN, 'server');
const REQUESTS: readonly MethodName[] = ['QUOTATION', 'UPDATE', 'ACCEPT', 'ACTIVATE', 'WITHDRAW'];

describe('loss: the clean run', () => {
  test('16 packets, in the order of Figures 6, 16, 15 and 14', () => {
    assert.deepEqual(
      PACKETS.map((p) => `${p.node}:${p.method}`),
      [
        'client:QUOTATION',
        'server:PROCESSING',
        'server:OFFER',
        'client:PROCESSING',
        'client:ACCEPT',
        'server:ACK',
        'client:ACTIVATE',
        'server:ACK',
        'client:UPDATE',
        'server:PROCESSING',
        'server:OFFER',
        'client:PROCESSING',
        'client:ACCEPT',
        'server:ACK',
        'client:WITHDRAW',
        'server:ACK',
      ],
    );
    assertInvariants(CLEAN);
    assertCompleted(CLEAN);
    assert.deepEqual(labels(CLEAN, 'retransmitted', false), []);
    assert.deepEqual(labels(CLEAN, 'duplicate', true), []);
    assert.deepEqual(labels(CLEAN, 'dropped', true), []);
    assert.equal(CLEAN.client.activation(CLEAN.id), undefined, 'no agreement left after the withdrawal');
    assert.deepEqual(CLEAN_SERVER_TRANSITIONS, [
      '->PQOReceived:quotationReceived',
      'PQOReceived->AwaitingProcessing:startProcessing',
      'AwaitingProcessing->OfferProposed:makeOffer',
      'OfferProposed->ProcessingReceived:processingReceived',
      'ProcessingReceived->AcceptReceived:acceptReceived',
      'AcceptReceived->Completed:confirmAccept',
      'Completed->Completed:activateReceived',
      'Completed->PQOReceived:updateReceived',
      'PQOReceived->AwaitingProcessing:startProcessing',
      'AwaitingProcessing->OfferProposed:makeOffer',
      'OfferProposed->ProcessingReceived:processingReceived',
      'ProcessingReceived->AcceptReceived:acceptReceived',
      'AcceptReceived->Completed:confirmAccept',
      'Completed->Cancelled:withdrawReceived',
    ]);
  });
});

type FaultKind = 'drop' | 'duplicate' | 'reorder' | 'late';

interface Expectation {
  /** `node:METHOD` of every retransmitted message (sorted). */
  retransmitted: string[];
  /** `node:METHOD:cause` of every duplicate recognised (sorted). */
  duplicates: string[];
  /** `node:METHOD:cause` of every message dropped (sorted). */
  dropped: string[];
  /** A PROCESSING the receiver never processed: its transition is skipped (Figure 6 shortcut). */
  skipped?: { node: 'client' | 'server'; cycle: 0 | 1 };
}

/** The node that receives what `node` sends. */
const peerOf = (node: 'client' | 'server'): 'client' | 'server' => (node === 'client' ? 'server' : 'client');

/**
 * What one fault on packet `i` must cause: the RFC 8921 11.3/11.4 reading of each case.
 *
 * - drop. A client request (QUOTATION, UPDATE, ACCEPT, ACTIVATE, WITHDRAW) is retransmitted
 *   unchanged after RETRANS_TIMER. A lost OFFER is retransmitted by the server (11.2.1). A lost
 *   ACK makes the client retransmit its request; the server recognises the duplicate and resends
 *   its cached ACK (11.4), never processing the request again. A lost PROCESSING costs nothing:
 *   the message sent right after it (OFFER, ACCEPT) carries the transaction on, and the receiver
 *   skips the intermediate state (PQOSent → OfferReceived, OfferProposed → AcceptReceived).
 * - duplicate. A duplicated request reaches the server less than a second after the answer went
 *   out: it is recognised and not answered again ("with a limited frequency", 11.4). A duplicated
 *   response is recognised and ignored.
 * - reorder (delayed until after the next packet). Only a PROCESSING can be overtaken by the next
 *   message of its own sender (OFFER, ACCEPT); it then arrives with a lower sequence number and is
 *   discarded as a replay (11.3). Every other packet's successor is caused by it, so the delay only
 *   postpones the run.
 * - late (delayed 2.5 s, past RETRANS_TIMER). The request is retransmitted and the copy is
 *   processed; the original arrives later and is either a duplicate (answered with nothing: the
 *   cached answer left 0.5 s ago) or, once the peer has sent a newer message, a replay (11.3).
 *   A late response arrives once the client has moved to its next transaction (unknown
 *   Transaction-ID), except the very last ACK, which is a plain duplicate.
 */
function expectation(kind: FaultKind, i: number): Expectation {
  const p = PACKETS[i];
  if (p === undefined) throw new RangeError(`no packet ${i}`);
  const receiver = peerOf(p.node);
  const answered = PACKETS[i - 1]?.method ?? '-';
  const cycle: 0 | 1 = i < 8 ? 0 : 1;
  const none: Expectation = { retransmitted: [], duplicates: [], dropped: [] };
  const isRequest = p.node === 'client' && REQUESTS.includes(p.method);
  const skip: Expectation['skipped'] = { node: receiver, cycle };
  switch (kind) {
    case 'drop':
      if (isRequest) return { ...none, retransmitted: [`client:${p.method}`] };
      if (p.method === 'OFFER') return { ...none, retransmitted: ['server:OFFER'] };
      if (p.method === 'ACK') return { ...none, retransmitted: [`client:${answered}`, 'server:ACK'].sort(), duplicates: [`server:${answered}:resend`] };
      return { ...none, skipped: skip };
    case 'duplicate':
      if (isRequest) return { ...none, duplicates: [`server:${p.method}:wait`] };
      if (p.node === 'client') return { ...none, duplicates: ['server:PROCESSING:response-duplicate'] };
      return { ...none, duplicates: [`client:${p.method}:retransmission:processing`] };
    case 'reorder':
      if (PACKETS[i + 1]?.node === p.node) return { ...none, dropped: [`${receiver}:${p.method}:seq`], skipped: skip };
      return none;
    case 'late':
      if (p.method === 'QUOTATION' || p.method === 'UPDATE') return { ...none, retransmitted: [`client:${p.method}`], dropped: [`server:${p.method}:seq`] };
      if (isRequest) return { ...none, retransmitted: [`client:${p.method}`], duplicates: [`server:${p.method}:wait`] };
      if (p.method === 'OFFER') return { ...none, retransmitted: ['server:OFFER'], dropped: ['client:OFFER:seq'] };
      if (p.method === 'PROCESSING') {
        return { ...none, dropped: [p.node === 'server' ? 'client:PROCESSING:lookup' : 'server:PROCESSING:seq'], skipped: skip };
      }
      // A late ACK: the client already retransmitted its request and got the cached ACK.
      return {
        retransmitted: [`client:${answered}`, 'server:ACK'].sort(),
        duplicates: [`server:${answered}:resend`, ...(i === PACKETS.length - 1 ? ['client:ACK:retransmission:processing'] : [])].sort(),
        dropped: i === PACKETS.length - 1 ? [] : ['client:ACK:lookup'],
      };
  }
}

/** The clean transitions without the PROCESSING step `skipped` removes. */
function expectedTransitions(node: 'client' | 'server', skipped: Expectation['skipped']): string[] {
  const clean = node === 'client' ? CLEAN_CLIENT_TRANSITIONS : CLEAN_SERVER_TRANSITIONS;
  if (skipped?.node !== node) return clean;
  const [viaFrom, via, after] =
    node === 'client'
      ? ['PQOSent->ServerProcessing:processingReceived', 'ServerProcessing->OfferReceived:offerReceived', 'PQOSent->OfferReceived:offerReceived']
      : ['OfferProposed->ProcessingReceived:processingReceived', 'ProcessingReceived->AcceptReceived:acceptReceived', 'OfferProposed->AcceptReceived:acceptReceived'];
  const out: string[] = [];
  let seen = 0;
  for (let k = 0; k < clean.length; k++) {
    const t = clean[k];
    if (t === undefined) continue;
    if (t === viaFrom && clean[k + 1] === via && seen++ === skipped.cycle) {
      out.push(after);
      k++;
      continue;
    }
    out.push(t);
  }
  return out;
}

function faultFor(kind: FaultKind, i: number): FaultDecision {
  switch (kind) {
    case 'drop':
      return 'drop';
    case 'duplicate':
      return 'duplicate';
    case 'reorder': {
      // Arrive just after the next packet would (when the next one does not depend on this one).
      const p = PACKETS[i];
      const nextAt = PACKETS[i + 1]?.at;
      return { delayMs: p === undefined || nextAt === undefined ? 1000 : nextAt - p.at + 1 };
    }
    case 'late':
      return { delayMs: RETRANS_MS + 500 };
  }
}

describe('loss: one fault on each packet of the clean run', () => {
  for (const kind of ['drop', 'duplicate', 'reorder', 'late'] as const) {
    for (let i = 0; i < PACKETS.length; i++) {
      const p = PACKETS[i];
      if (p === undefined) continue;
      test(`${kind} packet ${i} (${p.node} ${p.method}): completes, nothing processed twice`, () => {
        const fault = faultFor(kind, i);
        const run = runScenario((packet) => (packet.index === i ? fault : 'deliver'));
        const expected = expectation(kind, i);
        assertInvariants(run);
        assertCompleted(run);
        assert.deepEqual(labels(run, 'retransmitted', false), expected.retransmitted, 'retransmissions');
        assert.deepEqual(labels(run, 'duplicate', true), expected.duplicates, 'duplicates recognised');
        assert.deepEqual(labels(run, 'dropped', true), expected.dropped, 'messages dropped');
        assert.deepEqual(transitions(run, 'client'), expectedTransitions('client', expected.skipped), 'client transitions');
        assert.deepEqual(transitions(run, 'server'), expectedTransitions('server', expected.skipped), 'server transitions');
        // Everything that reached the peer was processed exactly once, except the skipped PROCESSING.
        const cleanServer = CLEAN.sim.events.filter((e) => e.kind === 'received' && e.simNode === 'server').length;
        const cleanClient = CLEAN.sim.events.filter((e) => e.kind === 'received' && e.simNode === 'client').length;
        const got = (node: string) => run.sim.events.filter((e) => e.kind === 'received' && e.simNode === node).length;
        assert.equal(got('server'), cleanServer - (expected.skipped?.node === 'server' ? 1 : 0));
        assert.equal(got('client'), cleanClient - (expected.skipped?.node === 'client' ? 1 : 0));
        // A retransmission costs exactly one RETRANS_TIMER (2 s) of extra time.
        const extra = run.sim.clock.now() - CLEAN.sim.clock.now();
        if (kind === 'drop' && expected.retransmitted.length > 0) assert.equal(extra, RETRANS_MS);
        if (kind === 'duplicate') assert.equal(extra, 0);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Part 2: independent random loss in both directions, many seeds

/** A uniform number in [0, 1) from a seeded source. */
function uniform(random: RandomSource): () => number {
  return () => {
    const b = random.bytes(4);
    return (((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0) / 2 ** 32;
  };
}

type Verdict =
  /** Every step done (both agreements, the activation, the withdrawal), no alarm. */
  | 'completed'
  /** Withdrawn and acknowledged at both ends, but the ACTIVATE or the UPDATE cycle gave up on the way (retries exhausted). */
  | 'withdrawn-after-setback'
  /** Withdrawn at both ends, but every ACK of the first WITHDRAW cycle was lost: the new cycle got FAIL (11.1.2). */
  | 'withdrawn-ack-lost'
  /** The QUOTATION never reached the server: nothing exists there. */
  | 'quotation-lost'
  /** The quotation cycle failed at both ends (timeout / expiry / CANCEL). */
  | 'quotation-failed'
  /** The server concluded an agreement whose ACK the client never got (11.1.1: alarm acceptUnanswered). */
  | 'agreement-unknown-to-client'
  /** Every re-query of an unanswered ACCEPT went unanswered: the order shows the unknown outcome with its alarm (C10). */
  | 'accept-unknown-alarmed';

/**
 * Classifies the end of a run and asserts that it is one of the outcomes RFC 8921 allows. The
 * client's order always ends Cancelled: either a cycle failed, or it sent WITHDRAW (Figure 8
 * leaves for Cancelled on sending). The server's order ends Completed or Cancelled.
 */
function classify(run: RunOutcome): Verdict {
  const rec = run.client.order(run.id);
  assert.ok(rec);
  const order = run.server.listOrders()[0];
  assert.ok(run.server.listOrders().length <= 1, 'never two orders for one QUOTATION');
  if (rec.fsm.state === 'AcceptSent') {
    assert.equal(rec.fsm.outstanding?.unknown, true);
    assert.ok(run.client.openAlarms(run.id).some((a) => a.kind === 'acceptUnanswered'));
    return 'accept-unknown-alarmed';
  }
  assert.equal(rec.fsm.state, 'Cancelled');
  const alarms = new Set(run.sim.events.filter((e) => e.kind === 'alarm').map((e) => e.cause));
  const notices = run.sim.events.filter((e) => e.simNode === 'client' && e.kind === 'notice').map((e) => e.cause);
  if (order === undefined) {
    assert.equal(rec.fsm.cancelReason, 'timeout');
    assert.equal(run.phase, 'quotation');
    return 'quotation-lost';
  }
  assert.ok(order.fsm.state === 'Completed' || order.fsm.state === 'Cancelled', `server ends in ${order.fsm.state}`);
  assert.equal(order.owner, 'acme');
  if (order.fsm.state === 'Completed') {
    // The one divergence the RFC leaves open: the agreement lives at the server while the client
    // gave up its unanswered ACCEPT and alarmed its administrator (11.1.1; state-machines.md C10).
    assert.ok(alarms.has('acceptUnanswered'), 'a live agreement the client does not know about must have raised acceptUnanswered');
    if (run.phase === 'withdraw') {
      // An UPDATE agreement concluded at the server only: the client's WITHDRAW carries the old
      // nonce and is refused (FAIL), which raises withdrawalRefused too.
      assert.ok(alarms.has('withdrawalRefused'));
      assert.notEqual(order.agreement?.nonce, rec.agreement?.nonce);
    } else {
      assert.equal(rec.fsm.cancelReason, 'timeout');
    }
    return 'agreement-unknown-to-client';
  }
  if (run.phase !== 'withdraw') {
    assert.equal(rec.fsm.cancelReason, 'timeout');
    assert.ok(order.fsm.cancelReason === 'expired' || order.fsm.cancelReason === 'cancelled', `server ${order.fsm.cancelReason}`);
    assert.equal(order.fsm.hasAgreement, false);
    return 'quotation-failed';
  }
  assert.equal(rec.fsm.cancelReason, 'withdrawn');
  assert.equal(order.fsm.cancelReason, 'withdrawn');
  if (notices.at(-1) === 'requestFailed') {
    // The new Withdrawal cycle (11.1.2) found the order already withdrawn.
    assert.ok(alarms.has('withdrawalUnanswered') && alarms.has('withdrawalRefused'));
    return 'withdrawn-ack-lost';
  }
  assert.equal(notices.at(-1), 'requestAnswered', 'the withdrawal was acknowledged');
  const count = (notice: string) => notices.filter((n) => n === notice).length;
  const everyStep = alarms.size === 0 && count('agreementReached') === 2 && count('requestAnswered') === 2 && count('requestUnanswered') === 0;
  if (everyStep) {
    assert.equal(rec.agreement?.cycle, 'update');
    assert.equal(rec.agreement.nonce, order.agreement?.nonce);
    return 'completed';
  }
  // A step gave up on the way: an ACTIVATE whose retries ran out (requestUnanswered with the
  // activationUnanswered alarm: the client does not know whether the server activated), an
  // UPDATE cycle that ended without agreement
  // (cycleEnded, with acceptUnanswered when its ACCEPT went unanswered), or a first Withdrawal
  // cycle that went unanswered before the next one was acknowledged (withdrawalUnanswered).
  assert.ok(
    count('requestUnanswered') > 0 || count('cycleEnded') > 0 || alarms.has('withdrawalUnanswered'),
    `an unexplained setback: ${notices.join(',')} / ${[...alarms].join(',')}`,
  );
  // Every ACTIVATE given up alarmed; other requests (a CANCEL after a timeout) may end unanswered too.
  const activationAlarms = run.sim.events.filter((e) => e.kind === 'alarm' && e.cause === 'activationUnanswered').length;
  assert.ok(activationAlarms <= count('requestUnanswered'), 'an activationUnanswered alarm comes with its requestUnanswered notice');
  return 'withdrawn-after-setback';
}

function randomRuns(lossRate: number, seeds: number, salt: number): Map<Verdict, number> {
  const verdicts = new Map<Verdict, number>();
  for (let seed = 1; seed <= seeds; seed++) {
    const draw = uniform(seededRandom(seed * 7919 + salt));
    const run = runScenario(() => (draw() < lossRate ? 'drop' : 'deliver'), seed);
    try {
      assertInvariants(run);
      const verdict = classify(run);
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
    } catch (error) {
      assert.fail(`loss ${lossRate * 100} %, seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return verdicts;
}

function rate(verdicts: Map<Verdict, number>, seeds: number): number {
  return (verdicts.get('completed') ?? 0) / seeds;
}

describe('loss: independent random loss in both directions', () => {
  for (const [lossRate, seeds, minCompletion] of [
    [0.1, 200, 0.97],
    [0.2, 200, 0.85],
    [0.5, 100, 0.1],
  ] as const) {
    test(`${lossRate * 100} % loss, ${seeds} seeds: every run completes or ends in an RFC outcome`, (t) => {
      const verdicts = randomRuns(lossRate, seeds, Math.round(lossRate * 1000));
      const completion = rate(verdicts, seeds);
      t.diagnostic(`${lossRate * 100} % loss: completion ${(completion * 100).toFixed(1)} %; ${JSON.stringify(Object.fromEntries(verdicts))}`);
      assert.ok(completion >= minCompletion, `completion ${completion} below ${minCompletion}`);
    });
  }

  test('loss, duplication and reordering together (100 seeds): still no double processing', (t) => {
    const verdicts = new Map<Verdict, number>();
    for (let seed = 1; seed <= 100; seed++) {
      const draw = uniform(seededRandom(seed * 104_729));
      const run = runScenario(() => {
        const x = draw();
        if (x < 0.1) return 'drop';
        if (x < 0.2) return 'duplicate';
        if (x < 0.3) return { delayMs: Math.floor(draw() * 3 * RETRANS_MS) };
        return 'deliver';
      }, seed);
      try {
        assertInvariants(run);
        const verdict = classify(run);
        verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      } catch (error) {
        assert.fail(`mixed faults, seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    t.diagnostic(`mixed faults: ${JSON.stringify(Object.fromEntries(verdicts))}`);
    assert.ok(rate(verdicts, 100) >= 0.85);
  });
});
