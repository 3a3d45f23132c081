import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../client';
import { messageDigest } from '../digest';
import { peerColumns, peerFromColumns } from '../peer-columns';
import { withTransaction, writeBatch } from '../transaction';
import { DatabaseUrlError, parseDatabaseUrl } from '../url';
import { createOrder, migratedDatabase, PEER, tempDir } from './helpers';

const AT = new Date('2026-11-27T10:00:00.123Z');

describe('openDatabase', () => {
  it('configures SQLite connections for a server: WAL, synchronous FULL, foreign keys, busy timeout', async (t) => {
    const { db } = await migratedDatabase(t, { synchronous: 'FULL' });
    const pragma = async (name: string) => {
      const rows = await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
      return Object.values(rows[0] ?? {})[0];
    };
    assert.equal(await pragma('journal_mode'), 'wal');
    assert.equal(Number(await pragma('synchronous')), 2); // FULL
    assert.equal(Number(await pragma('foreign_keys')), 1);
    assert.equal(Number(await pragma('busy_timeout')), 5000);
    assert.equal(db.provider, 'sqlite');
  });

  it('uses synchronous NORMAL only when asked', async (t) => {
    const { db } = await migratedDatabase(t, { synchronous: 'NORMAL' });
    const rows = await db.prisma.$queryRawUnsafe<{ synchronous: bigint }[]>('PRAGMA synchronous');
    assert.equal(Number(rows[0]?.synchronous), 1);
  });

  it('picks the PostgreSQL client and adapter for postgres:// URLs', async () => {
    // Nothing listens on port 1: the connection attempt must come from node-postgres.
    await assert.rejects(openDatabase('postgresql://cpnp@127.0.0.1:1/cpnp'), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(`${error.message} ${String((error as { code?: unknown }).code ?? '')}`, /ECONNREFUSED|Can't reach database server|127\.0\.0\.1:1/i);
      return true;
    });
  });

  it('close() is idempotent', async (t) => {
    const file = join(tempDir(t), 'x.db');
    const db = await openDatabase(file);
    await db.close();
    await db.close();
  });
});

describe('parseDatabaseUrl', () => {
  it('reads file: URLs, plain paths, :memory: and PostgreSQL URLs', () => {
    assert.deepEqual(parseDatabaseUrl('file:./data/p.db', '/srv'), { provider: 'sqlite', file: '/srv/data/p.db' });
    assert.deepEqual(parseDatabaseUrl('file:/var/lib/p.db'), { provider: 'sqlite', file: '/var/lib/p.db' });
    assert.deepEqual(parseDatabaseUrl('file:///var/lib/p.db'), { provider: 'sqlite', file: '/var/lib/p.db' });
    assert.deepEqual(parseDatabaseUrl('file:p.db?connection_limit=1', '/srv'), { provider: 'sqlite', file: '/srv/p.db' });
    assert.deepEqual(parseDatabaseUrl('data/p.db', '/srv'), { provider: 'sqlite', file: '/srv/data/p.db' });
    assert.deepEqual(parseDatabaseUrl(':memory:'), { provider: 'sqlite', file: ':memory:' });
    assert.deepEqual(parseDatabaseUrl('postgres://u:p@h:5432/db'), { provider: 'postgresql', url: 'postgres://u:p@h:5432/db' });
    assert.deepEqual(parseDatabaseUrl('postgresql://h/db'), { provider: 'postgresql', url: 'postgresql://h/db' });
  });

  it('refuses empty URLs and unknown schemes', () => {
    assert.throws(() => parseDatabaseUrl(' '), DatabaseUrlError);
    assert.throws(() => parseDatabaseUrl('file:'), DatabaseUrlError);
    assert.throws(() => parseDatabaseUrl('mysql://h/db'), /unsupported database URL scheme "mysql:"/);
  });
});

describe('generated client: every model', () => {
  it('ProviderOrder: create, read, update, delete, child orders, JSON columns', async (t) => {
    const { db } = await migratedDatabase(t);
    const cpd = { objects: [{ id: 'o1', capacity: { inMbps: { min: 10, max: 100 } } }] };
    const parent = await db.prisma.providerOrder.create({
      data: {
        id: 'P-0000000000a1',
        customerOrderId: 'C-1',
        ownerIdentity: 'customer-a',
        state: 'OfferProposed',
        cycle: 0,
        cycleTxid: 'aa'.repeat(16),
        activationType: 'scheduled',
        scope: 'global',
        requestedCpd: cpd,
        offeredCpd: { objects: [] },
        nonce: '0102030405060708',
        validityOfferTime: AT,
        snapshot: JSON.stringify({ id: 'P-0000000000a1' }),
      },
    });
    assert.equal(parent.activationStatus, 'none');
    assert.deepEqual(parent.requestedCpd, cpd);
    const child = await db.prisma.providerOrder.create({
      data: { id: 'P-0000000000a2', customerOrderId: 'P-0000000000a1', state: 'ChildCreated', requestedCpd: {}, snapshot: '{}', parentOrderId: parent.id },
    });
    const read = await db.prisma.providerOrder.findUnique({ where: { id: parent.id }, include: { children: true } });
    assert.deepEqual(read?.children.map((c) => c.id), [child.id]);
    assert.equal(read?.validityOfferTime?.toISOString(), AT.toISOString());
    const updated = await db.prisma.providerOrder.update({
      where: { id: parent.id },
      data: { state: 'Cancelled', cancelReason: 'expired', agreementCpd: cpd, activationStatus: 'inactive' },
    });
    assert.equal(updated.state, 'Cancelled');
    assert.ok(updated.updatedAt.getTime() >= parent.updatedAt.getTime());
    assert.equal((await db.prisma.providerOrder.findMany({ where: { customerOrderId: 'C-1' } })).length, 1);
    await db.prisma.providerOrder.delete({ where: { id: child.id } });
    assert.equal(await db.prisma.providerOrder.count(), 1);
  });

  it('ProviderTransaction: uint32 sequence numbers, answer bytes, lookup by customer id and txid', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000b1', 'C-b');
    const txid = 'bb'.repeat(16);
    const answer = new Uint8Array([0xa5, 0x00, 0xff, 0x10]);
    const created = await db.prisma.providerTransaction.create({
      data: { txid, orderId: 'P-0000000000b1', customerOrderId: 'C-b', method: 'QUOTATION', ...PEER, inSeq: 0xffff_ffffn, outSeq: 0n, lastAnswer: answer, lastAnswerAt: AT },
    });
    const found = await db.prisma.providerTransaction.findFirst({ where: { customerOrderId: 'C-b', txid } });
    assert.equal(found?.id, created.id);
    assert.equal(found?.inSeq, 0xffff_ffffn);
    assert.deepEqual(new Uint8Array(found?.lastAnswer ?? []), answer);
    assert.deepEqual(peerFromColumns(found ?? assert.fail('not found')), { transport: 'udp', clientAddress: '192.0.2.1', clientPort: 40000, serverAddress: '198.51.100.1', serverPort: 2000 });
    const updated = await db.prisma.providerTransaction.update({
      where: { orderId_txid: { orderId: 'P-0000000000b1', txid } },
      data: { outSeq: { increment: 1 }, processed: { increment: 1 }, status: 'closed' },
    });
    assert.equal(updated.outSeq, 1n);
    assert.equal(updated.processed, 1);
    await assert.rejects(
      db.prisma.providerTransaction.create({ data: { txid, orderId: 'P-0000000000b1', customerOrderId: 'C-b', method: 'UPDATE', ...PEER } }),
      /Unique constraint/,
    );
    await db.prisma.providerTransaction.delete({ where: { id: created.id } });
    assert.equal(await db.prisma.providerTransaction.count(), 0);
  });

  it('ProviderStateChange and ProviderMessage: append, read back in time order, delete', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000c1');
    for (const [i, [from, to]] of [[undefined, 'PQOReceived'], ['PQOReceived', 'OfferProposed']].entries()) {
      await db.prisma.providerStateChange.create({
        data: { orderId: 'P-0000000000c1', from, to: to ?? '', cause: 'test', method: 'QUOTATION', txid: 'cc'.repeat(16), at: new Date(AT.getTime() + i), detail: { step: i } },
      });
    }
    const history = await db.prisma.providerStateChange.findMany({ where: { orderId: 'P-0000000000c1' }, orderBy: { at: 'asc' } });
    assert.deepEqual(history.map((h) => [h.from, h.to]), [[null, 'PQOReceived'], ['PQOReceived', 'OfferProposed']]);
    assert.deepEqual(history[1]?.detail, { step: 1 });
    await db.prisma.providerStateChange.update({ where: { id: history[0]?.id ?? 0 }, data: { cause: 'quotationReceived' } });

    const bytes = new TextEncoder().encode('a CPNP message');
    const msg = await db.prisma.providerMessage.create({
      data: { orderId: 'P-0000000000c1', txid: 'cc'.repeat(16), direction: 'in', method: 'QUOTATION', seq: 7n, digest: messageDigest(bytes), size: bytes.length, ...PEER, at: AT },
    });
    // A message that names no stored order is still logged.
    await db.prisma.providerMessage.create({
      data: { txid: 'dd'.repeat(16), direction: 'out', method: 'FAIL', seq: 1n, digest: messageDigest(new Uint8Array()), size: 0, ...PEER, at: AT },
    });
    assert.match(msg.digest, /^[0-9a-f]{64}$/);
    assert.equal(msg.seq, 7n);
    assert.equal((await db.prisma.providerMessage.findMany({ where: { orderId: 'P-0000000000c1' } })).length, 1);
    await db.prisma.providerMessage.update({ where: { id: msg.id }, data: { size: 15 } });
    await db.prisma.providerMessage.deleteMany({});
    await db.prisma.providerStateChange.deleteMany({});
    assert.equal(await db.prisma.providerMessage.count(), 0);
  });

  it('CapacityPool and CapacityReservation', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000d1');
    await db.prisma.capacityPool.create({ data: { id: 'edge', capacityInKbps: 1000, capacityOutKbps: 500, availableInKbps: 1000, availableOutKbps: 500 } });
    const r = await db.prisma.capacityReservation.create({ data: { pool: 'edge', orderId: 'P-0000000000d1', inKbps: 10, outKbps: 5, status: 'held', expiresAt: AT } });
    const pool = await db.prisma.capacityPool.findUnique({ where: { id: 'edge' }, include: { reservations: true } });
    assert.deepEqual(pool?.reservations.map((x) => x.id), [r.id]);
    await db.prisma.capacityReservation.update({ where: { id: r.id }, data: { status: 'committed', expiresAt: null } });
    await db.prisma.capacityPool.update({ where: { id: 'edge' }, data: { availableInKbps: { decrement: 10 } } });
    await db.prisma.capacityReservation.delete({ where: { id: r.id } });
    await db.prisma.capacityPool.delete({ where: { id: 'edge' } });
    assert.equal(await db.prisma.capacityPool.count(), 0);
  });

  it('ScheduledActivation: due activations, once per order, action and time', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000e1');
    await db.prisma.scheduledActivation.create({ data: { orderId: 'P-0000000000e1', at: AT, action: 'activate' } });
    await db.prisma.scheduledActivation.create({ data: { orderId: 'P-0000000000e1', at: new Date(AT.getTime() + 3_600_000), action: 'deactivate' } });
    const due = await db.prisma.scheduledActivation.findMany({ where: { done: false, at: { lte: new Date(AT.getTime() + 1) } } });
    assert.deepEqual(due.map((d) => d.action), ['activate']);
    await db.prisma.scheduledActivation.update({ where: { id: due[0]?.id ?? 0 }, data: { done: true, doneAt: AT } });
    assert.equal(await db.prisma.scheduledActivation.count({ where: { done: false } }), 1);
    await assert.rejects(db.prisma.scheduledActivation.create({ data: { orderId: 'P-0000000000e1', at: AT, action: 'activate' } }), /Unique constraint/);
    await db.prisma.scheduledActivation.deleteMany({ where: { orderId: 'P-0000000000e1' } });
    assert.equal(await db.prisma.scheduledActivation.count(), 0);
  });

  it('EngineState: upsert by key', async (t) => {
    const { db } = await migratedDatabase(t);
    await db.prisma.engineState.upsert({ where: { key: 'responseCache' }, create: { key: 'responseCache', json: '{"v":1}' }, update: { json: '{"v":1}' } });
    await db.prisma.engineState.upsert({ where: { key: 'responseCache' }, create: { key: 'responseCache', json: '{"v":2}' }, update: { json: '{"v":2}' } });
    assert.equal((await db.prisma.engineState.findUnique({ where: { key: 'responseCache' } }))?.json, '{"v":2}');
    await db.prisma.engineState.delete({ where: { key: 'responseCache' } });
    assert.equal(await db.prisma.engineState.count(), 0);
  });

  it('enforces relations: no state change for an order that does not exist', async (t) => {
    const { db } = await migratedDatabase(t);
    await assert.rejects(
      db.prisma.providerStateChange.create({ data: { orderId: 'P-missing', to: 'PQOReceived', cause: 'test', at: AT } }),
      /Foreign key constraint/,
    );
  });
});

describe('transactions', () => {
  it('withTransaction commits everything or, when the function throws, nothing', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000f1');
    await assert.rejects(
      withTransaction(db, async (tx) => {
        await tx.providerOrder.update({ where: { id: 'P-0000000000f1' }, data: { state: 'OfferProposed' } });
        await tx.providerStateChange.create({ data: { orderId: 'P-0000000000f1', from: 'PQOReceived', to: 'OfferProposed', cause: 'offer', at: AT } });
        throw new Error('the answer could not be encoded');
      }),
      /could not be encoded/,
    );
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: 'P-0000000000f1' } }))?.state, 'PQOReceived');
    assert.equal(await db.prisma.providerStateChange.count(), 0);

    const result = await withTransaction(db, async (tx) => {
      await tx.providerOrder.update({ where: { id: 'P-0000000000f1' }, data: { state: 'OfferProposed' } });
      return tx.providerStateChange.create({ data: { orderId: 'P-0000000000f1', from: 'PQOReceived', to: 'OfferProposed', cause: 'offer', at: AT } });
    });
    assert.equal(result.to, 'OfferProposed');
    assert.equal(await db.prisma.providerStateChange.count(), 1);
  });

  it('a statement issued outside an open transaction waits for it, and is not rolled back with it', async (t) => {
    const { db } = await migratedDatabase(t);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = () => {};
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const failing = withTransaction(db, async (tx) => {
      await tx.engineState.create({ data: { key: 'inside', json: '{}' } });
      entered();
      await gate;
      throw new Error('roll back');
    });
    await inside;
    // PrismaPromises are lazy: .then() sends the statement now.
    const read = db.prisma.engineState.findMany().then((rows) => rows);
    let outsideDone = false;
    const outside = db.prisma.engineState.create({ data: { key: 'outside', json: '{}' } }).then(() => (outsideDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(outsideDone, false, 'the outside write waits for the open transaction');
    release();
    await assert.rejects(failing, /roll back/);
    await outside;
    assert.deepEqual((await read).map((r) => r.key), [], 'a read does not see uncommitted rows');
    assert.deepEqual((await db.prisma.engineState.findMany()).map((r) => r.key), ['outside']);
  });

  it('writeBatch runs the statements in order, all or nothing', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, 'P-0000000000f2');
    const [order, change] = await writeBatch(db, [
      db.prisma.providerOrder.update({ where: { id: 'P-0000000000f2' }, data: { state: 'OfferProposed' } }),
      db.prisma.providerStateChange.create({ data: { orderId: 'P-0000000000f2', to: 'OfferProposed', cause: 'offer', at: AT } }),
    ]);
    assert.equal(order.state, 'OfferProposed');
    assert.equal(change.orderId, 'P-0000000000f2');
    await assert.rejects(
      writeBatch(db, [
        db.prisma.providerOrder.update({ where: { id: 'P-0000000000f2' }, data: { state: 'Completed' } }),
        db.prisma.providerStateChange.create({ data: { orderId: 'P-missing', to: 'Completed', cause: 'ack', at: AT } }),
      ]),
      /Foreign key constraint/,
    );
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: 'P-0000000000f2' } }))?.state, 'OfferProposed');
  });
});

describe('helpers', () => {
  it('messageDigest is SHA-256 in lowercase hex', () => {
    assert.equal(messageDigest(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('peerColumns and peerFromColumns round-trip; unknown transports are refused', () => {
    const peer = { transport: 'dtls' as const, clientAddress: '2001:db8::1', clientPort: 5684, serverAddress: '2001:db8::2', serverPort: 2000, identity: 'x' };
    const { identity: _identity, ...tuple } = peer;
    assert.deepEqual(peerFromColumns(peerColumns(peer)), tuple);
    assert.throws(() => peerFromColumns({ ...peerColumns(peer), transport: 'sctp' }), /unknown transport "sctp"/);
  });
});
