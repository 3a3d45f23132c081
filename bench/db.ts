/**
 * `node --import tsx bench/db.ts [--ms 1500]`: cost of the Provider server's hot-path write.
 * One processed message persists about five rows (inbound message digest, transaction
 * counters, state change, order projection + snapshot, outbound message digest). This
 * measures that batch three ways, with `synchronous = FULL` (the default) and `NORMAL`:
 *
 *  - interactive: `withTransaction(db, async (tx) => { ... })`, statements awaited in turn;
 *  - batch:       `writeBatch(db, [...])`, statements built up front;
 *  - autocommit:  the five statements without a transaction (five commits; for reference only,
 *                 since a crash between them would leave the step half written).
 *
 * Results go to stdout as a markdown table; docs/database.md records them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database, type DbClient } from '../lib/db/client';
import { applyMigrations } from '../lib/db/migrate';
import { withTransaction, writeBatch } from '../lib/db/transaction';
import type { SqliteSynchronous } from '../lib/db/sqlite-adapter';

const msArg = process.argv.indexOf('--ms');
const RUN_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 1500;

const ORDER = 'P-000000000001';
const TXID = '00112233445566778899aabbccddeeff';
const peer = { transport: 'udp', clientAddress: '192.0.2.1', clientPort: 40000, serverAddress: '198.51.100.1', serverPort: 2000 };

async function setup(db: Database): Promise<void> {
  await db.prisma.providerOrder.create({
    data: { id: ORDER, customerOrderId: 'C-1', state: 'PQOReceived', requestedCpd: { objects: [] }, snapshot: '{}' },
  });
  await db.prisma.providerTransaction.create({ data: { txid: TXID, orderId: ORDER, customerOrderId: 'C-1', method: 'QUOTATION', ...peer } });
}

/** The five statements of one processed message; `i` varies the data. */
function step(client: Pick<DbClient, 'providerMessage' | 'providerTransaction' | 'providerStateChange' | 'providerOrder'>, i: number) {
  const at = new Date(1_800_000_000_000 + i);
  const message = (direction: string, seq: number) => ({
    orderId: ORDER,
    txid: TXID,
    direction,
    method: 'UPDATE',
    seq: BigInt(seq),
    digest: 'ab'.repeat(32),
    size: 180,
    ...peer,
    at,
  });
  return [
    client.providerMessage.create({ data: message('in', i) }),
    client.providerTransaction.update({
      where: { orderId_txid: { orderId: ORDER, txid: TXID } },
      data: { inSeq: BigInt(i), processed: { increment: 1 } },
    }),
    client.providerStateChange.create({ data: { orderId: ORDER, from: 'Completed', to: 'PQOReceived', cause: 'updateReceived', method: 'UPDATE', txid: TXID, at } }),
    client.providerOrder.update({ where: { id: ORDER }, data: { state: 'PQOReceived', snapshot: `{"step":${i},"history":"${'x'.repeat(1500)}"}` } }),
    client.providerMessage.create({ data: message('out', i) }),
  ] as const;
}

type Variant = 'interactive' | 'batch' | 'autocommit';

async function runOnce(db: Database, variant: Variant, i: number): Promise<void> {
  switch (variant) {
    case 'interactive':
      await withTransaction(db, async (tx) => {
        // Awaited one by one, as code that needs a result (an id, a count) must.
        const ops = step(tx, i);
        for (const op of ops) await op;
      });
      return;
    case 'batch':
      await writeBatch(db, [...step(db.prisma, i)]);
      return;
    case 'autocommit':
      for (const op of step(db.prisma, i)) await op;
      return;
  }
}

interface Row {
  variant: Variant;
  synchronous: SqliteSynchronous;
  stepsPerSec: number;
  p50: number;
  p99: number;
}

async function measure(variant: Variant, synchronous: SqliteSynchronous): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'cpnp-bench-db-'));
  const file = join(dir, 'bench.db');
  try {
    await applyMigrations(file);
    const db = await openDatabase(file, { synchronous });
    try {
      await setup(db);
      for (let i = 0; i < 50; i++) await runOnce(db, variant, i); // warm-up (query plan cache, JIT)
      const times: number[] = [];
      const start = performance.now();
      let i = 50;
      while (performance.now() - start < RUN_MS) {
        const t0 = performance.now();
        await runOnce(db, variant, i++);
        times.push(performance.now() - t0);
      }
      const elapsed = performance.now() - start;
      times.sort((a, b) => a - b);
      const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN;
      return { variant, synchronous, stepsPerSec: (times.length / elapsed) * 1000, p50: pct(0.5), p99: pct(0.99) };
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const synchronous of ['FULL', 'NORMAL'] as const) {
  for (const variant of ['interactive', 'batch', 'autocommit'] as const) rows.push(await measure(variant, synchronous));
}
console.log(`SQLite, 5 writes per step, ${RUN_MS} ms per row (node ${process.version})\n`);
console.log('| variant | synchronous | steps/s | p50 ms | p99 ms |');
console.log('|---|---|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.variant} | ${r.synchronous} | ${r.stepsPerSec.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
}
