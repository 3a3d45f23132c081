/**
 * Child process of db-durability.test.ts: commits a state change (and the order's new state) in
 * one transaction, prints "committed <id>" only after the commit returned, then waits to be
 * killed with SIGKILL. A server acknowledges on the wire at exactly that point.
 *
 *   node --import tsx lib/db/__tests__/durability-child.ts <db file> <order id> <synchronous>
 */
import { openDatabase } from '../client';
import type { SqliteSynchronous } from '../sqlite-adapter';
import { withTransaction } from '../transaction';

const [file, orderId, synchronous] = process.argv.slice(2);
if (file === undefined || orderId === undefined || (synchronous !== 'FULL' && synchronous !== 'NORMAL')) {
  console.error('usage: durability-child.ts <db file> <order id> FULL|NORMAL');
  process.exit(2);
}
const db = await openDatabase(file, { synchronous: synchronous satisfies SqliteSynchronous });
const change = await withTransaction(db, async (tx) => {
  await tx.providerOrder.update({ where: { id: orderId }, data: { state: 'Completed', snapshot: JSON.stringify({ state: 'Completed' }) } });
  return tx.providerStateChange.create({
    data: { orderId, from: 'AcceptReceived', to: 'Completed', cause: 'acceptConfirmed', method: 'ACCEPT', at: new Date() },
  });
});
process.stdout.write(`committed ${change.id}\n`);
// Keep the connection open (no close, no checkpoint) until the parent kills us.
setInterval(() => undefined, 60_000);
