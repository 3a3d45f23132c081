/**
 * The write path of a server step: everything one processed message changes (digests, counters,
 * state change, order snapshot) commits together or not at all, and only then may the answer
 * go on the wire (RFC 8921 8.11).
 *
 * Two forms, measured by bench/db.ts for the five writes of a step (docs/database.md):
 * - `writeBatch(db, [...])`: the statements are built up front and run as one batch in one
 *   transaction. About 25% faster; use it when no statement depends on an earlier result.
 * - `withTransaction(db, async (tx) => ...)`: an interactive transaction, for steps that must
 *   read what they wrote and decide (capacity booking, capacity.ts).
 *
 * On SQLite a client has a single connection: statements sent through `db.prisma` while a
 * transaction is open wait for it to end (sqlite-adapter.ts). Inside `fn`, use `tx` only; a call
 * on `db.prisma` there would wait for its own transaction until `timeoutMs` rolls it back.
 */
import type { Prisma } from './generated/sqlite/client';
import type { Database, DbClient } from './client';

export type TxClient = Prisma.TransactionClient;

function clientOf(db: Database | DbClient): DbClient {
  return 'prisma' in db ? db.prisma : db;
}

export interface TransactionOptions {
  /** How long to wait for the connection while another transaction holds it (ms). */
  maxWaitMs?: number;
  /** The longest the transaction may stay open before Prisma rolls it back (ms). */
  timeoutMs?: number;
}

export const DEFAULT_TRANSACTION_OPTIONS: Required<TransactionOptions> = { maxWaitMs: 5000, timeoutMs: 10_000 };

/**
 * Runs `fn` in one transaction; commits when it resolves, rolls back when it throws (and
 * rethrows). On SQLite, start a writing transaction with a write, not a read: a transaction that
 * reads first may be refused (SQLITE_BUSY) when it later tries to write after another connection
 * has committed, while one that writes first waits for the lock.
 */
export function withTransaction<T>(db: Database | DbClient, fn: (tx: TxClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  return clientOf(db).$transaction(fn, {
    maxWait: options.maxWaitMs ?? DEFAULT_TRANSACTION_OPTIONS.maxWaitMs,
    timeout: options.timeoutMs ?? DEFAULT_TRANSACTION_OPTIONS.timeoutMs,
  });
}

/**
 * Runs the given statements (built from `db.prisma`, not awaited yet) in order in one
 * transaction, and returns their results. All or nothing, like withTransaction.
 */
export function writeBatch<P extends Prisma.PrismaPromise<unknown>[]>(db: Database | DbClient, statements: [...P]) {
  return clientOf(db).$transaction(statements);
}
