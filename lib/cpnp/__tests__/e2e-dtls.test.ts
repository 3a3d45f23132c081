/**
 * End to end over REAL DTLS 1.2 on loopback (RFC 8921 8.1: "The default transport mode is UDP
 * secured with DTLS"; section 13: mutual authentication with a pre-shared key, authenticated
 * encryption): a ServerEngine bound to a DtlsServer and a ClientEngine bound to the DTLS client
 * transport, each through an EngineRunner with the real clock and real timers.
 *
 * Every CPNP message type crosses the wire: QUOTATION, PROCESSING (both directions), OFFER,
 * ACCEPT, DECLINE, ACK (both directions), CANCEL, WITHDRAW, UPDATE, FAIL (both directions) and
 * ACTIVATE. The server records the PSK identity "acme" as the owner of acme's orders, and the
 * identity "globex" cannot touch them (FAIL 3, Table 6).
 *
 * The client transport is used as a production client would use it: the first order is
 * created before any DTLS association exists (node-dtls-client binds its socket on the first
 * handshake), so the engine learns its local endpoint from the first valid response and
 * enforces the whole RFC 8921 8.3 4-tuple from then on (docs/client-engine.md section 5a).
 *
 * No fixed sleeps: every wait is a promise resolved by the runners' onEvent callbacks, with a
 * timeout that names what was awaited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import type { Cpd } from '../cpd/types';
import { millisToDateTime, type DateTime } from '../date-time';
import type { CpnpMessage } from '../message';
import { Method, type MethodName } from '../method';
import { ProcessingSubcode } from '../processing-subcode';
import { cryptoRandom, newTransactionId, randomInitialSequence } from '../random';
import { StatusCode } from '../status-code';
import { ClientEngine, type CommandResult } from '../engine/client-engine';
import { concretizeCpd, concretizingDecider, type Decider } from '../engine/decider';
import type { EngineOutput } from '../engine/output';
import { EngineRunner } from '../engine/runner';
import { ServerEngine, type ServerOrderRecord } from '../engine/server-engine';
import { DtlsClientTransport } from '../transport/dtls-client';
import { DtlsServer } from '../transport/dtls-server';
import { PskTable } from '../transport/psk';
import type { Inbound } from '../transport/transport';
import { EventHub } from './helpers/event-hub';

const ACME_KEY = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const GLOBEX_KEY = new Uint8Array(32).map((_, i) => (i * 53 + 7) & 0xff);
const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
const UPDATED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }, { id: 'ce-b', link: 'pe2:ge-0/0/3' }] }];
/** Short RETRANS_TIMER: loopback answers within milliseconds. */
const TIMERS = { retransTimerMs: 400, maxRetries: 3 };
const WAIT_MS = 5000;

/** A date-time `ms` from now, whole seconds (9.1.6). */
const fromNow = (ms: number): DateTime => millisToDateTime(Math.ceil((Date.now() + ms) / 1000) * 1000);

/** Every event of both runners, and waiters resolved by them ("web-first" waiting). */
class EventLog extends EventHub {
  constructor() {
    super(WAIT_MS);
  }

  /** Methods the engine of `side` put on the wire ('sent' events, not retransmissions). */
  sent(side: 'client' | 'server'): Set<MethodName> {
    return new Set(this.events.filter((e) => e.side === side && e.kind === 'sent' && e.method !== undefined).map((e) => e.method as MethodName));
  }

  /** Methods the engine of `side` accepted and processed ('received' events). */
  received(side: 'client' | 'server'): Set<MethodName> {
    return new Set(this.events.filter((e) => e.side === side && e.kind === 'received' && e.method !== undefined).map((e) => e.method as MethodName));
  }
}

/** The first message arriving on `transport` that satisfies `match`. */
function nextMessage(transport: DtlsClientTransport, match: (m: CpnpMessage) => boolean, ms = WAIT_MS): Promise<{ inbound: Inbound; message: CpnpMessage }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching message within ${ms} ms`));
    }, ms);
    const off = transport.onMessage((inbound) => {
      const decoded = decodeMessage(inbound.bytes);
      if (!decoded.ok || !match(decoded.message)) return;
      clearTimeout(timer);
      off();
      resolve({ inbound, message: decoded.message });
    });
  });
}

function ok(result: CommandResult): string {
  if (!result.ok) assert.fail(`command refused: ${result.reason}`);
  return result.orderId;
}

interface World {
  log: EventLog;
  dtlsServer: DtlsServer;
  server: ServerEngine;
  serverRunner: EngineRunner<ServerEngine>;
  client: ClientEngine;
  clientRunner: EngineRunner<ClientEngine>;
  clientTransport: DtlsClientTransport;
  /** The identities the DTLS server authenticated, per message received. */
  identities: string[];
  moreTimeAnswers: { orderId: string; granted: boolean }[];
}

describe('CPNP over real DTLS (loopback, PSK)', () => {
  let w: World;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    const log = new EventLog();
    const table = PskTable.from([
      { identity: 'acme', key: ACME_KEY, customer: 'acme' },
      { identity: 'globex', key: GLOBEX_KEY, customer: 'globex' },
    ]);
    const dtlsServer = await DtlsServer.listen({ host: '127.0.0.1', port: 0, psk: table });
    closers.push(() => dtlsServer.close());
    const identities: string[] = [];
    dtlsServer.onMessage((m) => identities.push(m.identity ?? '(none)'));

    // Quotations wait for the test to decide (pending), except "C-decline" and every UPDATE,
    // which get an offer at once; the server asks for more time on command.
    const concrete = concretizingDecider();
    const moreTimeAnswers: World['moreTimeAnswers'] = [];
    const decider: Decider = {
      decide: (request) => (request.cycle === 'update' || request.customerOrderId === 'C-decline' ? concrete.decide(request) : { kind: 'pending' }),
      moreTimeAnswered: (orderId, granted) => {
        moreTimeAnswers.push({ orderId, granted });
      },
    };
    const server = new ServerEngine({ clock: systemClock, random: cryptoRandom, decider, config: { transport: 'dtls', timers: TIMERS } });
    const serverRunner = new EngineRunner({ core: server, transport: dtlsServer, clock: systemClock, side: 'server', onEvent: log.push });
    serverRunner.start();
    closers.push(() => serverRunner.stop());

    // A production client: the default connector (an ephemeral port, bound on the first
    // handshake) and the engine asking the transport for each transaction's local endpoint.
    const clientTransport = new DtlsClientTransport({ psk: { identity: 'acme', key: ACME_KEY }, logger: { warn: () => undefined } });
    closers.push(() => clientTransport.close());
    const client = new ClientEngine({
      clock: systemClock,
      random: cryptoRandom,
      localEndpoint: (server) => clientTransport.localFor(server),
      transport: 'dtls',
      config: { timers: TIMERS },
    });
    const clientRunner = new EngineRunner({ core: client, transport: clientTransport, clock: systemClock, side: 'client', onEvent: log.push });
    clientRunner.start();
    closers.push(() => clientRunner.stop());
    w = { log, dtlsServer, server, serverRunner, client, clientRunner, clientTransport, identities, moreTimeAnswers };
  });

  after(async () => {
    // Runners first (they stop using the transports), then the transports.
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  // --- helpers over the world ---------------------------------------------------------------

  const serverOrder = (customerOrderId: string): ServerOrderRecord | undefined =>
    w.server.listOrders().find((o) => o.customerOrderId === customerOrderId);
  const serverState = (customerOrderId: string) => serverOrder(customerOrderId)?.fsm.state;
  const clientState = (id: string) => w.client.state(id);

  async function client(command: (core: ClientEngine) => CommandResult): Promise<string> {
    const id = ok(await w.clientRunner.run(command));
    w.log.poke();
    return id;
  }

  async function server(command: (core: ServerEngine) => EngineOutput): Promise<EngineOutput> {
    const output = await w.serverRunner.run(command);
    assert.deepEqual(
      output.events.filter((e) => e.kind === 'command-rejected' || e.kind === 'error'),
      [],
      'the server command was accepted',
    );
    w.log.poke();
    return output;
  }

  async function place(customerOrderId: string, scheduled = false): Promise<string> {
    const id = await client((c) =>
      c.createOrder({
        cpd: REQUESTED,
        server: w.dtlsServer.local(),
        customerOrderId,
        ...(scheduled ? { ies: { options: { activationType: 'scheduled' } } } : {}),
      }),
    );
    await client((c) => c.approve(id));
    await client((c) => c.sendQuotation(id));
    return id;
  }

  const providerId = (customerOrderId: string): string => {
    const order = serverOrder(customerOrderId);
    assert.ok(order, `server order for ${customerOrderId}`);
    return order.id;
  };

  // --- the scenarios ------------------------------------------------------------------------

  test('QUOTATION → PROCESSING; more time asked (PROCESSING) and granted (ACK); OFFER → PROCESSING → ACCEPT → ACK', async () => {
    // No association yet: the order and its QUOTATION transaction start without a local endpoint.
    assert.equal(w.clientTransport.localFor(w.dtlsServer.local()), undefined);
    const id = await place('C-main', true);
    const opened = w.client.order(id);
    assert.equal(opened?.local, undefined, 'the local endpoint is not known when the QUOTATION transaction opens');
    await w.log.until('server PROCESSING answered the QUOTATION', () => clientState(id) === 'ServerProcessing');
    // The PROCESSING fixed it: the association's endpoint, from now on enforced (8.3).
    const local = w.clientTransport.localFor(w.dtlsServer.local());
    assert.ok(local && local.port > 0);
    assert.deepEqual(w.client.order(id)?.local, local);
    assert.equal(w.client.order(id)?.session?.peer.clientPort, local.port);
    assert.equal(serverState('C-main'), 'AwaitingProcessing');
    assert.equal(serverOrder('C-main')?.owner, 'acme', 'the order belongs to the DTLS PSK identity');

    // 9.2.2, Figure 11: the server asks for more time, the client grants it with ACK.
    const until = fromNow(120_000);
    await server((s) => s.requestMoreTime(providerId('C-main'), until, ProcessingSubcode.UPGRADE_LOCAL_RESOURCES));
    await w.log.until('the client sees the request for more time', () => w.client.order(id)?.fsm.moreTimeRequested === until);
    await client((c) => c.grantMoreTime(id));
    await w.log.until('the server gets the ACK granting more time', () => w.moreTimeAnswers.some((a) => a.orderId === providerId('C-main') && a.granted));
    assert.equal(serverOrder('C-main')?.fsm.moreTimeRequested, undefined);

    await server((s) => s.completeDecision(providerId('C-main'), { kind: 'offer', cpd: concretizeCpd(REQUESTED) }));
    await w.log.until('the OFFER arrives', () => clientState(id) === 'OfferReceived');
    await client((c) => c.processOffer(id));
    await w.log.until('the server processes the client PROCESSING', () => serverState('C-main') === 'ProcessingReceived');
    await client((c) => c.accept(id));
    await w.log.until('both ends Completed', () => clientState(id) === 'Completed' && serverState('C-main') === 'Completed');
    const rec = w.client.order(id);
    assert.equal(rec?.agreement?.providerOrderId, providerId('C-main'));
    assert.equal(rec.agreement.nonce, serverOrder('C-main')?.agreement?.nonce);
    assert.deepEqual(w.client.activation(id), { status: 'inactive' }, 'a scheduled order starts inactive (9.2.11)');
  });

  test('ACTIVATE → ACK', async () => {
    const id = 'C-main';
    await client((c) => c.activate(id, null));
    await w.log.until('the ACTIVATE is acknowledged', () => w.client.order(id)?.fsm.outstanding === undefined && w.client.activation(id)?.status === 'active');
    assert.deepEqual(serverOrder(id)?.fsm.activation, { status: 'active' });
  });

  test('"globex" cannot touch acme\'s order: FAIL 3 (Table 6), and nothing changes', async () => {
    const rec = w.client.order('C-main');
    assert.ok(rec?.nonce && rec.providerOrderId);
    const before = structuredClone(serverOrder('C-main'));
    const globex = new DtlsClientTransport({ psk: { identity: 'globex', key: GLOBEX_KEY }, logger: { warn: () => undefined } });
    try {
      // Every key right (customer and provider identifiers, nonce): only the identity is wrong.
      const attempts: CpnpMessage[] = [
        {
          version: 1,
          method: Method.WITHDRAW,
          seq: randomInitialSequence(cryptoRandom),
          txid: newTransactionId(cryptoRandom),
          customerOrderId: rec.customerOrderId,
          providerOrderId: rec.providerOrderId,
          nonce: rec.nonce,
        },
        {
          version: 1,
          method: Method.UPDATE,
          seq: randomInitialSequence(cryptoRandom),
          txid: newTransactionId(cryptoRandom),
          customerOrderId: rec.customerOrderId,
          providerOrderId: rec.providerOrderId,
          nonce: rec.nonce,
          expectedResponseTime: fromNow(60_000),
          cpd: UPDATED,
        },
      ];
      for (const attempt of attempts) {
        const answer = nextMessage(globex, (m) => m.txid === attempt.txid);
        await globex.send(w.dtlsServer.local(), encodeMessage(attempt));
        const { message, inbound } = await answer;
        assert.equal(message.method, Method.FAIL);
        if (message.method === Method.FAIL) assert.equal(message.statusCode, StatusCode.AUTHORIZATION_FAILED);
        assert.deepEqual(inbound.from, w.dtlsServer.local());
      }
    } finally {
      await globex.close();
    }
    assert.ok(w.identities.includes('globex'));
    const after = serverOrder('C-main');
    assert.deepEqual(after?.fsm, before?.fsm, 'the order is untouched');
    assert.equal(after?.transactions.length, before?.transactions.length, 'no transaction was opened');
    assert.equal(clientState('C-main'), 'Completed');
  });

  test('UPDATE → PROCESSING, OFFER → ACCEPT → ACK (Figure 15)', async () => {
    const id = 'C-main';
    const oldNonce = w.client.order(id)?.nonce;
    await client((c) => c.update(id, { cpd: UPDATED, expectedResponseTime: fromNow(60_000) }));
    await w.log.until('the update OFFER arrives', () => clientState(id) === 'OfferReceived');
    await client((c) => c.accept(id));
    await w.log.until('the update is concluded at both ends', () => clientState(id) === 'Completed' && w.client.order(id)?.agreement?.cycle === 'update' && serverState(id) === 'Completed');
    const rec = w.client.order(id);
    assert.notEqual(rec?.nonce, oldNonce, 'an UPDATE offer brings a new nonce (11.2.3)');
    assert.equal(rec?.nonce, serverOrder(id)?.agreement?.nonce);
    assert.deepEqual(serverOrder(id)?.agreement?.cpd, concretizeCpd(UPDATED));
  });

  test('WITHDRAW → ACK (Figure 14)', async () => {
    const id = 'C-main';
    await client((c) => c.withdraw(id));
    await w.log.until('the withdrawal is acknowledged', () => serverState(id) === 'Cancelled' && w.client.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.client.order(id)?.fsm.cancelReason, 'withdrawn');
    assert.equal(serverOrder(id)?.fsm.cancelReason, 'withdrawn');
  });

  test('more time refused (client FAIL 7), then the server FAILs the order (Figure 12, 9.2.10)', async () => {
    const id = await place('C-refuse');
    await w.log.until('PROCESSING', () => clientState(id) === 'ServerProcessing');
    const until = fromNow(120_000);
    await server((s) => s.requestMoreTime(providerId('C-refuse'), until, ProcessingSubcode.REQUEST_EXTERNAL_RESOURCES));
    await w.log.until('the client sees the request for more time', () => w.client.order(id)?.fsm.moreTimeRequested === until);
    await client((c) => c.refuseMoreTime(id));
    await w.log.until('the server gets FAIL 7', () => w.moreTimeAnswers.some((a) => a.orderId === providerId('C-refuse') && !a.granted));
    assert.equal(serverState('C-refuse'), 'AwaitingProcessing', 'after a refusal the server still owes an answer (11.2.1)');
    await server((s) => s.completeDecision(providerId('C-refuse'), { kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES }));
    await w.log.until('the client gets the FAIL', () => clientState(id) === 'Cancelled');
    assert.equal(w.client.order(id)?.fsm.cancelReason, 'failed');
    assert.equal(serverState('C-refuse'), 'Cancelled');
  });

  test('OFFER → DECLINE → ACK (Figure 13)', async () => {
    const id = await place('C-decline');
    await w.log.until('the OFFER', () => clientState(id) === 'OfferReceived');
    await client((c) => c.decline(id));
    await w.log.until('the DECLINE is acknowledged', () => serverState('C-decline') === 'Cancelled' && w.client.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.client.order(id)?.fsm.cancelReason, 'declined');
    assert.equal(serverOrder('C-decline')?.fsm.cancelReason, 'declined');
  });

  test('PROCESSING → CANCEL → ACK (9.2.7)', async () => {
    const id = await place('C-cancel');
    await w.log.until('PROCESSING', () => clientState(id) === 'ServerProcessing');
    await client((c) => c.cancel(id));
    await w.log.until('the CANCEL is acknowledged', () => serverState('C-cancel') === 'Cancelled' && w.client.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.client.order(id)?.fsm.cancelReason, 'cancelled');
    assert.equal(serverOrder('C-cancel')?.fsm.cancelReason, 'cancelled');
  });

  test('every message type crossed the DTLS association, all from the identity "acme" or "globex"', () => {
    const all: MethodName[] = ['QUOTATION', 'PROCESSING', 'OFFER', 'ACCEPT', 'DECLINE', 'ACK', 'CANCEL', 'WITHDRAW', 'UPDATE', 'FAIL', 'ACTIVATE'];
    const sentByClient = w.log.sent('client');
    const sentByServer = w.log.sent('server');
    assert.deepEqual(
      all.filter((m) => !sentByClient.has(m) && !sentByServer.has(m)),
      [],
      'every method was sent',
    );
    for (const m of ['QUOTATION', 'PROCESSING', 'ACCEPT', 'DECLINE', 'ACK', 'CANCEL', 'WITHDRAW', 'UPDATE', 'FAIL', 'ACTIVATE'] as const) {
      assert.ok(sentByClient.has(m), `client sent ${m}`);
      assert.ok(w.log.received('server').has(m), `server processed ${m}`);
    }
    for (const m of ['PROCESSING', 'OFFER', 'ACK', 'FAIL'] as const) {
      assert.ok(sentByServer.has(m), `server sent ${m}`);
      assert.ok(w.log.received('client').has(m), `client processed ${m}`);
    }
    assert.deepEqual([...new Set(w.identities)].sort(), ['acme', 'globex']);
    for (const order of w.server.listOrders()) assert.equal(order.owner, 'acme');
    assert.deepEqual(
      w.log.events.filter((e) => e.kind === 'send-error' || e.kind === 'error'),
      [],
      'no transport or engine error',
    );
    assert.equal(w.clientTransport.handshakeCount(w.dtlsServer.local()) >= 1, true);
    assert.deepEqual(
      w.log.events.filter((e) => e.side === 'client' && e.kind === 'dropped' && e.cause === 'fourTuple'),
      [],
      'every response matched its transaction\'s 4-tuple',
    );
    // Later transactions found the association up and knew their local endpoint from the start.
    const learnt = w.log.events.filter((e) => e.side === 'client' && e.cause === 'local-endpoint' && (e.detail ?? '').endsWith('(first valid response)'));
    assert.equal(learnt.length, 1, 'only the first transaction had to learn it');
    assert.deepEqual(
      w.dtlsServer.associations().map((a) => a.identity).filter((identity) => identity === 'acme'),
      ['acme'],
      'one association for acme',
    );
  });
});
