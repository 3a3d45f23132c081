/**
 * Child process of db-capacity.test.ts: books and releases capacity on a shared pool as fast as
 * it can, from its own connection, and prints a JSON summary of what it holds at the end and
 * when it started and finished booking (so the test can check that the children overlapped).
 *
 *   node --import tsx lib/db/__tests__/capacity-race-child.ts <db file> <pool> <order id> <seed> <attempts>
 */
import { releaseReservation, reserveCapacity } from '../capacity';
import { openDatabase } from '../client';

const [file, pool, orderId, seedText, attemptsText] = process.argv.slice(2);
if (file === undefined || pool === undefined || orderId === undefined) {
  console.error('usage: capacity-race-child.ts <db file> <pool> <order id> <seed> <attempts>');
  process.exit(2);
}
let seed = Number(seedText) >>> 0 || 1;
/** xorshift32: reproducible per seed, no shared state with the other child. */
const next = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
};

const db = await openDatabase(file, { synchronous: 'NORMAL', busyTimeoutMs: 20_000 });
const held: { id: number; inKbps: number; outKbps: number }[] = [];
let refused = 0;
const start = Date.now();
for (let i = 0; i < Number(attemptsText); i++) {
  if (held.length > 0 && next() % 4 === 0) {
    const [r] = held.splice(next() % held.length, 1);
    if (r !== undefined && !(await releaseReservation(db, r.id, new Date()))) throw new Error(`reservation ${r.id} was not live`);
    continue;
  }
  const inKbps = 1 + (next() % 300);
  const outKbps = 1 + (next() % 150);
  const result = await reserveCapacity(db, { pool, orderId, inKbps, outKbps });
  if (result.ok) held.push({ id: result.reservation.id, inKbps, outKbps });
  else if (result.reason === 'insufficient') refused++;
  else throw new Error(`unexpected ${result.reason}`);
}
const end = Date.now();
await db.close();
const sum = (k: 'inKbps' | 'outKbps') => held.reduce((s, r) => s + r[k], 0);
process.stdout.write(`${JSON.stringify({ held: held.length, refused, inKbps: sum('inKbps'), outKbps: sum('outKbps'), start, end })}\n`);
