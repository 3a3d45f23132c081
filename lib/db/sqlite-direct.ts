/**
 * A direct better-sqlite3 connection to a SQLite file, beside the Prisma client, for hot write
 * paths where Prisma's per-query cost dominates (docs/database.md, issue 8): the provider store
 * writes each group commit through prepared statements on this connection. It runs the same
 * pragmas as every Prisma connection (sqlite-adapter.ts: WAL, synchronous, foreign keys), so a
 * commit here is exactly as durable. Two forms: openDirectSqlite (synchronous calls on the
 * caller's thread) and SqliteBatchWriter (a worker thread runs each batch as one transaction, so
 * the commit and its fsync leave the caller's event loop free: what the provider uses).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DEFAULT_BUSY_TIMEOUT_MS, sqlitePragmas, type SqliteOptions } from './sqlite-adapter';

/** The subset of better-sqlite3's API used here (the package ships no types). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
  readonly open: boolean;
}

type SqliteConstructor = new (file: string, options?: { timeout?: number }) => SqliteConnection;

const require = createRequire(import.meta.url);

/**
 * Page cache of a direct connection (KiB; SQLite's default is 2 MiB). The provider's indexes on
 * random Transaction-IDs touch pages all over the file: with the default cache, a group commit
 * spent most of its time re-reading them (measured: about twice the throughput with 32 MiB).
 */
export const DIRECT_CACHE_KIB = 32 * 1024;

/** Opens `file` (never ':memory:': that would be another database) with the server pragmas. */
export function openDirectSqlite(file: string, options: SqliteOptions = {}): SqliteConnection {
  if (file === ':memory:') throw new RangeError('a direct connection to :memory: would open another, empty database');
  const Sqlite = require('better-sqlite3') as SqliteConstructor;
  const db = new Sqlite(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  db.exec(`${sqlitePragmas(options)};\nPRAGMA cache_size = -${DIRECT_CACHE_KIB}`);
  return db;
}

/** A date as Prisma writes DateTime columns on SQLite (ISO 8601, "+00:00"), so both read each other's rows. */
export function sqliteDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** One statement of a batch: its index in the prepared list, its parameters, and whether its rowid is wanted. */
export type SqliteBatchItem = [index: number, params: unknown[], wantsId: boolean];

/**
 * Runs batches of prepared statements, each batch in ONE transaction, on a direct connection
 * owned by a worker thread (sqlite-batch-worker.mjs): the commit and its fsync happen off the
 * caller's event loop. Batches run in the order they are given, and may be given before the
 * previous one resolved (pipelining). Resolves with the rowid of every item that asked for one
 * (null for the others); rejects when the transaction rolled back. A failed batch also fails,
 * unrun, every later batch given with the same `generation` (they were planned on top of it).
 */
export class SqliteBatchWriter {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (ids: (number | null)[]) => void; reject: (error: Error) => void }>();
  private closed = false;

  constructor(file: string, statements: readonly string[], options: SqliteOptions & { cacheKiB?: number } = {}) {
    if (file === ':memory:') throw new RangeError('a direct connection to :memory: would open another, empty database');
    const pragmas = `${sqlitePragmas(options)};\nPRAGMA cache_size = -${options.cacheKiB ?? DIRECT_CACHE_KIB}`;
    this.worker = new Worker(new URL('./sqlite-batch-worker.mjs', import.meta.url), {
      workerData: { file, pragmas, busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, statements: [...statements] },
    });
    this.worker.on('message', (message: { id: number; ids?: (number | null)[]; error?: string; closed?: boolean }) => {
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.ids ?? []);
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', () => this.failAll(new Error('the SQLite writer thread exited')));
  }

  run(batch: readonly SqliteBatchItem[], generation = 0): Promise<(number | null)[]> {
    if (this.closed) return Promise.reject(new Error('the SQLite writer is closed'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, batch, generation });
    });
  }

  /** Waits for the batches in flight, closes the connection and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const id = this.next++;
    await new Promise<void>((resolve) => {
      this.waiting.set(id, { resolve: () => resolve(), reject: () => resolve() });
      this.worker.postMessage({ id, close: true });
    });
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
