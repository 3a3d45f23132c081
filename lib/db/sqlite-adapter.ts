/**
 * The SQLite driver adapter, with the connection settings a server workload needs. Every
 * connection the factory opens (the client's, the schema engine's) runs the same pragmas, so
 * the settings cannot be forgotten on one path. The client's connection also keeps statements
 * out of other code's open transaction (SerializedConnection below).
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { TurnBudget } from './turn-budget';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from '@prisma/driver-adapter-utils';

/**
 * `FULL` (default): the WAL is fsynced at every commit, so a commit survives a power loss or OS
 * crash, not only a killed process. A state change is acknowledged on the wire only after its
 * commit (RFC 8921 8.11), so the acknowledgement must not outlive the data.
 * `NORMAL`: survives a killed process (kill -9) but may lose the last commits on power loss;
 * for tests and benchmarks.
 */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteOptions {
  /** How long a connection waits for another one's write lock before failing (ms). */
  busyTimeoutMs?: number;
  synchronous?: SqliteSynchronous;
  /**
   * Yield to the event loop before a statement or transaction once the current turn has spent
   * this many ms (turn-budget.ts): better-sqlite3 is synchronous, so a chain of awaited queries
   * otherwise never lets I/O and timers run. Off by default; the portal's engine host shares
   * its loop with sockets and pages and turns it on (lib/portal/db/client.ts).
   */
  turnBudgetMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** The pragmas run on every new connection. */
export function sqlitePragmas(options: SqliteOptions = {}): string {
  const synchronous = options.synchronous ?? 'FULL';
  return [
    // WAL: readers (the portal) never block the writer (the server) and vice versa.
    'PRAGMA journal_mode = WAL',
    `PRAGMA synchronous = ${synchronous}`,
    // Relations are real foreign keys (Prisma's default relationMode); SQLite checks them only
    // when asked to.
    'PRAGMA foreign_keys = ON',
  ].join(';\n');
}

/** A FIFO lock for one connection. */
class ConnectionLock {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves with the function that releases the lock (calling it twice is harmless). */
  acquire(): Promise<() => void> {
    let open = () => {};
    const released = new Promise<void>((resolve) => (open = resolve));
    const acquired = this.#tail.then(() => {
      let done = false;
      return () => {
        if (!done) {
          done = true;
          open();
        }
      };
    });
    this.#tail = this.#tail.then(() => released);
    return acquired;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * A Prisma client on SQLite has one connection. The adapter queues transactions, but a statement
 * issued outside a transaction while one is open would run on the same connection, inside that
 * transaction: it would be rolled back with it even though its own promise had resolved, and a
 * read would see uncommitted data. This wrapper makes such statements wait until the open
 * transaction ends. Statements of the transaction itself go through the Transaction object and
 * are not held.
 */
class SerializedConnection implements SqlDriverAdapter {
  readonly provider;
  readonly adapterName;
  readonly #inner: SqlDriverAdapter;
  readonly #lock = new ConnectionLock();
  readonly #budget: TurnBudget | undefined;

  constructor(inner: SqlDriverAdapter, budget?: TurnBudget) {
    this.#inner = inner;
    this.#budget = budget;
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }
  queryRaw(query: SqlQuery) {
    return this.#lock.run(async () => {
      await this.#budget?.pause();
      return this.#inner.queryRaw(query);
    });
  }
  executeRaw(query: SqlQuery) {
    return this.#lock.run(async () => {
      await this.#budget?.pause();
      return this.#inner.executeRaw(query);
    });
  }
  executeScript(script: string) {
    return this.#lock.run(() => this.#inner.executeScript(script));
  }
  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const release = await this.#lock.acquire();
    let tx: Transaction;
    try {
      // Yield (when the turn's budget is spent) while holding the lock: callers keep their FIFO
      // order.
      await this.#budget?.pause();
      tx = await this.#inner.startTransaction(isolationLevel);
    } catch (error) {
      release();
      throw error;
    }
    const end = async (how: () => Promise<void>) => {
      try {
        await how();
      } finally {
        release();
      }
    };
    return {
      provider: tx.provider,
      adapterName: tx.adapterName,
      options: tx.options,
      // A long transaction (restoring 1,000 orders) yields too: the lock is ours meanwhile.
      queryRaw: async (query) => {
        await this.#budget?.pause();
        return tx.queryRaw(query);
      },
      executeRaw: async (query) => {
        await this.#budget?.pause();
        return tx.executeRaw(query);
      },
      commit: () => end(() => tx.commit()),
      rollback: () => end(() => tx.rollback()),
      ...(tx.createSavepoint ? { createSavepoint: tx.createSavepoint.bind(tx) } : {}),
      ...(tx.rollbackToSavepoint ? { rollbackToSavepoint: tx.rollbackToSavepoint.bind(tx) } : {}),
      ...(tx.releaseSavepoint ? { releaseSavepoint: tx.releaseSavepoint.bind(tx) } : {}),
    };
  }
  dispose() {
    return this.#inner.dispose();
  }
}

/**
 * A better-sqlite3 adapter factory whose connections are configured by `sqlitePragmas` and
 * serialised around transactions (SerializedConnection).
 */
export class SqliteAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'sqlite';
  readonly adapterName: string;
  readonly #inner: PrismaBetterSqlite3;
  readonly #pragmas: string;
  readonly #serialize: boolean;
  readonly #budget: TurnBudget | undefined;

  /**
   * `file` is an absolute path or ':memory:'. `serialize: false` leaves connections bare, for a
   * user that owns its connection alone and queues nothing (the schema engine).
   */
  constructor(file: string, options: SqliteOptions = {}, { serialize = true }: { serialize?: boolean } = {}) {
    // `timeout` is better-sqlite3's busy timeout; it is in force before the pragmas run, so
    // even switching to WAL waits politely for another process.
    this.#inner = new PrismaBetterSqlite3({ url: file, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    this.adapterName = this.#inner.adapterName;
    this.#pragmas = sqlitePragmas(options);
    this.#serialize = serialize;
    // One budget per factory: every connection of the client shares the same event loop.
    this.#budget = options.turnBudgetMs === undefined ? undefined : new TurnBudget({ budgetMs: options.turnBudgetMs });
  }

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await this.#inner.connect();
    try {
      await adapter.executeScript(this.#pragmas);
    } catch (error) {
      await adapter.dispose();
      throw error;
    }
    return this.#serialize ? new SerializedConnection(adapter, this.#budget) : adapter;
  }

  /** An in-memory database: the scratch database where the schema engine replays migrations. */
  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.#inner.connectToShadowDb();
  }
}
