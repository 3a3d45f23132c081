/**
 * RFC 8921 11.4 across group commit and restarts, against the REAL provider process over real
 * UDP and DTLS: a retransmitted request (same Transaction-ID and sequence number, arriving after
 * the resend interval) gets the answer it got the first time, byte for byte — when that answer
 * was committed in a group with other cycles' steps (issue 8), and again after the provider was
 * killed with SIGKILL and restarted on the same database (the answer cache is rebuilt from the
 * stored answers). Nothing is processed twice: one order per QUOTATION, one ACK per ACCEPT.
 *
 * The client is raw CPNP (the codec and a socket or a DTLS association), so the test sees the
 * exact bytes. The server's OFFER retransmission timer is set far out (--retrans-timer 30s) so
 * that every OFFER seen is an answer to a request, not a timer's copy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../cpnp/codec';
import { toHex } from '../../cpnp/hex';
import type { CpnpMessage, OfferMessage } from '../../cpnp/message';
import { Method } from '../../cpnp/method';
import { DtlsClientTransport } from '../../cpnp/transport/dtls-client';
import type { Endpoint } from '../../cpnp/transport/transport';
import { openDatabase } from '../../db';
import { cpd, keyOf, killChild, spawnCpnp, tempDir, writePolicy, writePsk, type SpawnedProvider } from './provider-harness';

const CYCLES = 6;

/** Raw bytes to and from the provider, with the messages decoded for matching. */
interface RawClient {
  send(bytes: Uint8Array): void;
  received: { bytes: Uint8Array; message: CpnpMessage }[];
  /** Resolves with the first message received after index `from` that matches (resending `resend` every 600 ms). */
  next(from: number, match: (m: CpnpMessage) => boolean, resend?: Uint8Array, ms?: number): Promise<{ bytes: Uint8Array; message: CpnpMessage }>;
  close(): Promise<void>;
}

function rawClient(sendBytes: (bytes: Uint8Array) => void, subscribe: (fn: (bytes: Uint8Array) => void) => void, close: () => Promise<void>): RawClient {
  const received: RawClient['received'] = [];
  const waiters = new Set<() => void>();
  subscribe((bytes) => {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) return;
    received.push({ bytes: new Uint8Array(bytes), message: decoded.message });
    for (const w of [...waiters]) w();
  });
  return {
    send: sendBytes,
    received,
    next: (from, match, resend, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = received.slice(from).find((r) => match(r.message));
          if (found === undefined) return;
          done();
          resolve(found);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching answer within ${ms} ms (${received.length} messages received)`));
        }, ms);
        const again = resend === undefined ? undefined : setInterval(() => sendBytes(resend), 600);
        const done = (): void => {
          clearTimeout(timer);
          if (again !== undefined) clearInterval(again);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close,
  };
}

async function udpClient(server: () => Endpoint): Promise<RawClient> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return rawClient(
    (bytes) => socket.send(bytes, server().port, server().address),
    (fn) => socket.on('message', (msg) => fn(new Uint8Array(msg))),
    () => new Promise<void>((resolve) => socket.close(() => resolve())),
  );
}

function dtlsClient(server: () => Endpoint): RawClient {
  const transport = new DtlsClientTransport({
    psk: { identity: 'acme', key: keyOf('acme') },
    logger: { warn: () => undefined },
    retry: { attempts: 5, attemptTimeoutMs: 1500, backoffMs: [200, 400] },
    // The restarted provider does not know the old association: re-handshake on silence soon.
    deadAfterMs: 800,
  });
  return rawClient(
    (bytes) => void transport.send(server(), bytes).catch(() => undefined),
    (fn) => transport.onMessage((m) => fn(m.bytes)),
    () => transport.close(),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

for (const transport of ['udp', 'dtls'] as const) {
  describe(`11.4 over ${transport}: cached answers byte for byte after a group commit and after kill -9`, () => {
    const children: SpawnedProvider[] = [];
    const closers: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const child of children) await killChild(child);
      for (const close of closers.reverse()) await close().catch(() => undefined);
    });

    test('retransmitted QUOTATION and ACCEPT get the same OFFER and ACK bytes; nothing is processed twice', { timeout: 90_000 }, async () => {
      const dir = tempDir({ after });
      const policy = writePolicy(dir);
      const psk = writePsk(dir, ['acme']);
      const db = join(dir, 'provider.db');
      let endpoint: Endpoint = { address: '127.0.0.1', port: 0 };
      const start = async (): Promise<SpawnedProvider> => {
        const args = ['provider', '--config', policy, '--db', db, '--transport', transport, '--listen', `127.0.0.1:${endpoint.port}`, '--retrans-timer', '30s', '--log-level', 'debug'];
        if (transport === 'dtls') args.push('--psk-file', psk);
        const spawned = spawnCpnp(args, { env: { CPNP_PROVIDER_FAULT: '' } });
        children.push(spawned);
        const listening = await spawned.waitLog('listening', (r) => r.event === 'listening', 30_000);
        endpoint = { address: '127.0.0.1', port: Number(listening.port) };
        return spawned;
      };

      const first = await start();
      const client = transport === 'udp' ? await udpClient(() => endpoint) : dtlsClient(() => endpoint);
      closers.push(() => client.close());

      // 1. Several QUOTATIONs sent back to back: their steps are committed in groups.
      const quotations = Array.from({ length: CYCLES }, (_, i) => {
        const message: CpnpMessage = { version: 1, method: Method.QUOTATION, seq: 10, txid: toHex(randomBytes(16)), customerOrderId: `C-retx-${i}`, cpd: cpd('pe1:ge-0/0/1', 10) };
        return { message, bytes: encodeMessage(message) };
      });
      for (const q of quotations) client.send(q.bytes);
      const offers = new Map<string, { bytes: Uint8Array; message: OfferMessage }>();
      for (const q of quotations) {
        const got = await client.next(0, (m) => m.method === Method.OFFER && m.txid === q.message.txid, q.bytes);
        offers.set(q.message.txid, got as { bytes: Uint8Array; message: OfferMessage });
      }
      const grouped = first.logs.filter((r) => r.event === 'committed' && typeof r.outputs === 'number');
      assert.ok(grouped.length > 0, 'the provider logs its group commits');
      assert.ok(
        grouped.some((r) => (r.outputs as number) >= 2),
        `some group commit covered several steps (${grouped.map((r) => String(r.outputs)).join(', ')})`,
      );

      // 2. Retransmissions after the resend interval (1 s): the same OFFER bytes.
      await sleep(1100);
      for (const q of quotations) {
        const mark = client.received.length;
        client.send(q.bytes);
        const again = await client.next(mark, (m) => m.method === Method.OFFER && m.txid === q.message.txid, q.bytes);
        assert.deepEqual(again.bytes, offers.get(q.message.txid)?.bytes, `QUOTATION ${q.message.customerOrderId}: the cached OFFER, byte for byte`);
      }

      // 3. Half of them accepted (each ACK committed in a group with the others).
      const accepted = quotations.slice(0, CYCLES / 2);
      const accepts = accepted.map((q) => {
        const offer = offers.get(q.message.txid)?.message;
        assert.ok(offer);
        const message: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 11, txid: q.message.txid, customerOrderId: q.message.customerOrderId, providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd };
        return { message, bytes: encodeMessage(message) };
      });
      for (const a of accepts) client.send(a.bytes);
      const acks = new Map<string, Uint8Array>();
      for (const a of accepts) {
        const got = await client.next(0, (m) => m.method === Method.ACK && m.txid === a.message.txid, a.bytes);
        acks.set(a.message.txid, got.bytes);
      }

      // 4. kill -9, restart on the same port and database.
      await killChild(first);
      await start();
      await sleep(1100);

      // 5. The open negotiations' QUOTATIONs and the agreed orders' ACCEPTs, retransmitted: the
      //    answers come from the rebuilt cache, byte for byte.
      for (const q of quotations.slice(CYCLES / 2)) {
        const mark = client.received.length;
        const again = await client.next(mark, (m) => m.txid === q.message.txid && m.method !== Method.PROCESSING, q.bytes, 30_000);
        assert.deepEqual(again.bytes, offers.get(q.message.txid)?.bytes, `after restart, QUOTATION ${q.message.customerOrderId}: the same OFFER bytes`);
      }
      for (const a of accepts) {
        const mark = client.received.length;
        const again = await client.next(mark, (m) => m.txid === a.message.txid, a.bytes, 30_000);
        assert.deepEqual(again.bytes, acks.get(a.message.txid), `after restart, ACCEPT ${a.message.customerOrderId}: the same ACK bytes`);
      }
      assert.ok(!client.received.some((r) => r.message.method === Method.FAIL), 'no FAIL');

      // 6. Processed once: one order per QUOTATION, Completed exactly for the accepted ones.
      const database = await openDatabase(db);
      try {
        const orders = await database.prisma.providerOrder.findMany({ orderBy: { customerOrderId: 'asc' } });
        assert.equal(orders.length, CYCLES);
        assert.deepEqual(
          orders.map((o) => o.state),
          quotations.map((_, i) => (i < CYCLES / 2 ? 'Completed' : 'OfferProposed')),
        );
        const acceptChanges = await database.prisma.providerStateChange.count({ where: { cause: 'acceptReceived' } });
        assert.equal(acceptChanges, CYCLES / 2, 'each ACCEPT processed once');
      } finally {
        await database.close();
      }
    });
  });
}
