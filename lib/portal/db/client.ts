/**
 * The portal's Prisma client (prisma/portal/schema.prisma) over better-sqlite3, with the same
 * connection settings as the provider's database (lib/db/sqlite-adapter.ts: WAL, fsync at
 * commit, foreign keys, statements kept out of another caller's open transaction).
 *
 * PORTAL_DATABASE_URL names the database (a path or file: URL); default data/portal.db under
 * CPNP_DATA_DIR (default data/), the folder `npm start` uses. Framework-free: the Next.js
 * server, the CLI, the seed and tests all open it through here. PostgreSQL is not wired for the
 * portal yet (its client is generated; lib/db/client.ts shows how).
 */
import { join, resolve } from 'node:path';
import { SqliteAdapterFactory, type SqliteOptions } from '../../db/sqlite-adapter';
import { parseDatabaseUrl } from '../../db/url';
import { PrismaClient } from './generated/sqlite/client';

export type PortalDbClient = PrismaClient;
export type { Prisma } from './generated/sqlite/client';

/** The configured portal database URL (env), resolved to a SQLite file path. */
export function portalDatabaseFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const url = env.PORTAL_DATABASE_URL?.trim() || join(resolve(cwd, env.CPNP_DATA_DIR ?? 'data'), 'portal.db');
  const target = parseDatabaseUrl(url, cwd);
  if (target.provider !== 'sqlite') {
    throw new Error('PORTAL_DATABASE_URL: the portal database is SQLite for now (a path or file: URL)');
  }
  return target.file;
}

/**
 * How long a chain of portal queries may hold the event loop before it yields (ms): the engine
 * host, the pages and the server actions share one Node.js loop with the DTLS sockets, and
 * better-sqlite3 never yields by itself (lib/db/turn-budget.ts; issue 9).
 */
export const PORTAL_DB_TURN_BUDGET_MS = 10;

/** A new client on `file` (absolute path). The caller disconnects it. */
export function openPortalDb(file: string, options: SqliteOptions = {}): PortalDbClient {
  return new PrismaClient({ adapter: new SqliteAdapterFactory(file, { turnBudgetMs: PORTAL_DB_TURN_BUDGET_MS, ...options }) });
}

const globalKey = Symbol.for('cpnp.portal.db');
type Holder = { [globalKey]?: PortalDbClient };

/**
 * The process-wide client, created on first use. Kept on globalThis so that Next.js dev reloads
 * (which re-evaluate modules) do not open a second connection to the same file.
 */
export function portalDb(): PortalDbClient {
  const holder = globalThis as Holder;
  holder[globalKey] ??= openPortalDb(portalDatabaseFile());
  return holder[globalKey];
}

/** Tests: make `portalDb()` return this client (or forget it with undefined). */
export function setPortalDbForTests(client: PortalDbClient | undefined): void {
  (globalThis as Holder)[globalKey] = client;
}
