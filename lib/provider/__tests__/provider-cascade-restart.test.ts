/**
 * A child order survives a crash (RFC 8921 8.8, Figure 7; 8.3 transport session): two real
 * provider processes (`bin/cpnp.mjs provider`), Example Networks ("A") and its partner Carrier B
 * ("B"), configured as in docs/provider-server.md section 9, over DTLS between them.
 *
 * A customer orders a path with a node on Carrier B's network, so A places a child order at B.
 * B holds it for administrative validation (PROCESSING), and A is killed with SIGKILL while its
 * child order is in ChildServerProcessing. A is restarted on the same database: it binds the
 * local port it stored for carrier-b and re-establishes the DTLS association at once, so the
 * 4-tuple B knows the child order by is unchanged. Only then does B's operator approve: B's OFFER,
 * which B sends unasked, reaches the new process, A accepts it, and the customer gets the merged
 * OFFER and concludes the agreement, as Figure 7 draws it.
 *
 * The customer reaches A over plain UDP on loopback: a DTLS server cannot send to a client that
 * has not handshaken with the new process, and a customer waiting in ServerProcessing sends
 * nothing (docs/provider-server.md section 8). This test is about the partner side.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { systemClock } from '../../cpnp/clock';
import { ClientEngine, type CommandResult } from '../../cpnp/engine/client-engine';
import type { EngineEvent } from '../../cpnp/engine/output';
import { EngineRunner } from '../../cpnp/engine/runner';
import { cryptoRandom } from '../../cpnp/random';
import type { Endpoint } from '../../cpnp/transport/transport';
import { UdpTransport } from '../../cpnp/transport/udp';
import { openDatabase } from '../../db';
import { CASCADE_CPD } from './fixtures';
import { CLIENT_TIMERS, EventHub, fromNow, killChild, spawnCpnp, tempDir, writeCarrierB, writeExampleNetworks, type SpawnedProvider } from './provider-harness';

/** A customer of A over loopback UDP: a client engine, its transport and its runner. */
class UdpCustomer {
  readonly events: EngineEvent[] = [];
  private constructor(
    readonly transport: UdpTransport,
    readonly engine: ClientEngine,
    readonly runner: EngineRunner<ClientEngine>,
    private readonly hub: EventHub,
  ) {}

  static async start(hub: EventHub): Promise<UdpCustomer> {
    const transport = await UdpTransport.bind({ host: '127.0.0.1', logger: { warn: () => undefined } });
    const engine = new ClientEngine({ clock: systemClock, random: cryptoRandom, localEndpoint: () => transport.local(), transport: 'udp', label: 'customer', config: { timers: CLIENT_TIMERS } });
    const runner = new EngineRunner({ core: engine, transport, clock: systemClock, side: 'client', onEvent: hub.push });
    const customer = new UdpCustomer(transport, engine, runner, hub);
    runner.start();
    return customer;
  }

  async run(command: (engine: ClientEngine) => CommandResult): Promise<string> {
    const result = await this.runner.run(command);
    this.hub.poke();
    if (!result.ok) throw new Error(`customer: command refused: ${result.reason}`);
    return result.orderId;
  }

  state(id: string): string | undefined {
    return this.engine.state(id);
  }

  async close(): Promise<void> {
    await this.runner.stop().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
  }
}

describe('provider restart during a cascaded negotiation (Figure 7)', () => {
  const children: SpawnedProvider[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const child of children) await killChild(child);
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  test('A is killed while its child order at B negotiates; restarted, it completes the customer\'s order', { timeout: 60_000 }, async () => {
    const dir = tempDir({ after });
    const hub = new EventHub();

    // Carrier B: examples/partner.yaml (QUOTATION under administrative validation), no decision delay.
    const { policy: bPolicy, psk: bPsk } = writeCarrierB(dir, { decisionDelay: 'immediate' });
    const bDb = join(dir, 'carrier-b.db');
    const b = spawnCpnp(['provider', '--config', bPolicy, '--db', bDb, '--psk-file', bPsk, '--listen', '127.0.0.1:0', '--retrans-timer', '1s', '--log-level', 'debug'], { hub, env: { CPNP_PROVIDER_FAULT: '' } });
    children.push(b);
    const bPort = Number((await b.waitLog('B listening', (r) => r.event === 'listening')).port);

    // Example Networks: examples/provider.yaml, its partner entry pointed at B (section 9).
    const aPolicy = writeExampleNetworks(dir, bPort);
    const aDb = join(dir, 'example-networks.db');
    let aPort = 0;
    const startA = async (): Promise<{ a: SpawnedProvider; localPorts: unknown }> => {
      const a = spawnCpnp(
        ['provider', '--config', aPolicy, '--db', aDb, '--transport', 'udp', '--listen', `127.0.0.1:${aPort}`, '--retrans-timer', '1s', '--log-level', 'debug'],
        { hub, env: { CPNP_PROVIDER_FAULT: '' } },
      );
      children.push(a);
      const partners = await a.waitLog('A partners', (r) => r.event === 'partners');
      aPort = Number((await a.waitLog('A listening', (r) => r.event === 'listening')).port);
      return { a, localPorts: partners.localPorts };
    };
    const first = await startA();
    const stored = first.localPorts as Record<string, number> | undefined;
    const port = stored?.['carrier-b'];
    assert.equal(typeof port, 'number', 'a local port chosen for carrier-b');
    const server: Endpoint = { address: '127.0.0.1', port: aPort };

    const customer = await UdpCustomer.start(hub);
    closers.push(() => customer.close());
    const id = await customer.run((c) => c.createOrder({ cpd: CASCADE_CPD, server, customerOrderId: 'C-cascade-restart', expectedResponseTime: fromNow(120_000) }));
    await customer.run((c) => c.approve(id));
    // B is paused while A's child QUOTATION is on its way, until A's RETRANS_TIMER has sent it
    // again: B then finds the original and the copy queued (what a loaded machine does by
    // chance), and must process the request once and answer the copy as a duplicate (11.4).
    b.child.kill('SIGSTOP');
    try {
      await customer.run((c) => c.sendQuotation(id));
      await first.a.waitLog('A retransmitted its child QUOTATION to the paused B', (r) => r.event === 'retransmitted' && r.method === 'QUOTATION');
    } finally {
      b.child.kill('SIGCONT');
    }

    // B answered the child QUOTATION with PROCESSING: A's parent order is in ChildServerProcessing.
    const parentAtA = await first.a.waitLog('child order in ChildServerProcessing', (r) => r.event === 'transition' && r.to === 'ChildServerProcessing');
    const childAtB = await b.waitLog('B holds the child order for approval', (r) => r.cause === 'needAdminApproval');
    await hub.until('the customer got PROCESSING', () => customer.state(id) === 'ServerProcessing');

    // kill -9, then restart on the same database and port.
    first.a.child.kill('SIGKILL');
    assert.equal((await first.a.exited).signal, 'SIGKILL');
    const second = await startA();
    assert.deepEqual(second.localPorts, stored, 'the stored local ports are reused');
    const reconnected = await second.a.waitLog('A re-established the association with B', (r) => r.event === 'partner-reconnected');
    assert.equal(reconnected.partner, 'carrier-b');
    assert.equal(reconnected.port, port, 'from the same local port: the same 4-tuple at B (8.3)');

    // B's operator approves only now: B's OFFER goes to the 4-tuple of the child order.
    const approve = spawnCpnp(['provider', 'approve', String(childAtB.order), '--config', bPolicy, '--db', bDb]);
    children.push(approve);
    assert.equal((await approve.exited).code, 0, approve.stderr());

    await hub.until('the customer has the merged OFFER', () => customer.state(id) === 'OfferReceived', 30_000);
    const offered = customer.engine.order(id)?.offer?.cpd[0]?.nodes?.map((n) => n.id);
    assert.deepEqual(offered, ['ce-paris', 'ce-oslo'], 'the offer covers both providers');
    await customer.run((c) => c.accept(id));
    await hub.until('agreed', () => customer.state(id) === 'Completed', 15_000);
    assert.ok(!customer.events.some((e) => e.kind === 'received' && e.method === 'FAIL'), 'the customer never got a FAIL');
    await hub.until('B concluded the child order', () => b.logs.some((r) => r.event === 'transition' && r.order === childAtB.order && r.to === 'Completed'), 10_000);

    for (const p of [second.a, b]) p.child.kill('SIGTERM');
    assert.equal((await second.a.exited).code, 0);
    assert.equal((await b.exited).code, 0);

    // What both databases say.
    const read = async <T>(file: string, fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> => {
      const db = await openDatabase(file);
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
    const parent = await read(aDb, (db) => db.prisma.providerOrder.findUnique({ where: { id: String(parentAtA.order) } }));
    assert.equal(parent?.state, 'Completed');
    const changes = await read(aDb, (db) => db.prisma.providerStateChange.findMany({ where: { orderId: String(parentAtA.order) }, orderBy: { id: 'asc' } }));
    assert.deepEqual(
      changes.map((c) => c.to),
      ['PQOReceived', 'AwaitingProcessing', 'ChildCreated', 'ChildPQOSent', 'ChildServerProcessing', 'ChildOfferReceived', 'ChildOfferProcessing', 'ChildAcceptSent', 'ChildCompleted', 'AwaitingProcessing', 'OfferProposed', 'AcceptReceived', 'Completed'],
      'Figure 7, one state change each, across the restart',
    );
    const child = await read(bDb, (db) => db.prisma.providerOrder.findUnique({ where: { id: String(childAtB.order) } }));
    assert.equal(child?.state, 'Completed', 'the child order is agreed at B');
    const atB = await read(bDb, (db) => db.prisma.providerMessage.findMany({ where: { direction: 'in' }, orderBy: { id: 'asc' } }));
    // A retransmits a request its 1 s RETRANS_TIMER saw unanswered (11.1.1); on a loaded machine
    // B's answer can take longer than that, and B logs the copy it answered from its cache
    // (11.4). So B may have stored a message more than once, but only as a byte-identical copy
    // (same txid, sequence number and digest), and it processed each message exactly once.
    const key = (m: { txid: string; seq: bigint | number }): string => `${m.txid.toLowerCase()}#${String(m.seq)}`;
    const distinct = new Map<string, (typeof atB)[number]>();
    for (const m of atB) {
      const seen = distinct.get(key(m));
      if (seen === undefined) distinct.set(key(m), m);
      else assert.equal(m.digest, seen.digest, `a second ${m.method} with the same sequence number is a byte-identical retransmission`);
    }
    assert.deepEqual([...distinct.values()].map((m) => m.method), ['QUOTATION', 'PROCESSING', 'ACCEPT'], 'B received each of A\'s messages (copies aside)');
    const processed = b.logs.filter((r) => r.event === 'received' && r.cause === 'accepted');
    assert.deepEqual(processed.map((r) => r.method), ['QUOTATION', 'PROCESSING', 'ACCEPT'], 'B processed each of A\'s messages once');
    const duplicates = b.logs.filter((r) => r.event === 'duplicate');
    assert.ok(duplicates.some((r) => r.method === 'QUOTATION'), 'the copy of the child QUOTATION sent while B was paused reached B as a duplicate');
    assert.ok(duplicates.length >= atB.length - distinct.size, 'every extra copy stored at B was answered as a duplicate, not processed');
    assert.deepEqual([...new Set(atB.map((m) => m.clientPort))], [port], 'all from the one stored port, before and after the restart');
    assert.ok(!b.logs.some((r) => r.event === 'dropped' || r.event === 'rejected'), 'B dropped or refused nothing');
  });
});
