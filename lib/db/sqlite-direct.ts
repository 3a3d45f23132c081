/**
 * A direct better-sqlite3 connection to a SQLite file, beside the Prisma client, for hot write
 * paths where Prisma's per-query cost dominates (docs/database.md, issue 8): the provider store
 * writes each group commit through prepared statements on this connection. It runs the same
 * pragmas as every Prisma connection (sqlite-adapter.ts: WAL, synchronous, foreign keys), so a
 * commit here is exactly as durable. Calls are synchronous: a commit blocks the event loop for
 * its fsync, which is what makes "committed, then sent" one step of the same turn.
 */
import { createRequire } from 'node:module';
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

/** Opens `file` (never ':memory:': that would be another database) with the server pragmas. */
export function openDirectSqlite(file: string, options: SqliteOptions = {}): SqliteConnection {
  if (file === ':memory:') throw new RangeError('a direct connection to :memory: would open another, empty database');
  const Sqlite = require('better-sqlite3') as SqliteConstructor;
  const db = new Sqlite(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  db.exec(sqlitePragmas(options));
  return db;
}

/** A date as Prisma writes DateTime columns on SQLite (ISO 8601, "+00:00"), so both read each other's rows. */
export function sqliteDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}
