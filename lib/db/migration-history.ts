/**
 * What a database has applied, read from Prisma's bookkeeping table `_prisma_migrations`, and
 * how it compares with the migrations folder. Read through an ordinary connection: the schema
 * engine locks the database exclusively while it works, so it is started only when there is
 * something to apply (docs/database.md).
 */
import { createHash } from 'node:crypto';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import type { MigrationList } from './schema-engine';

export interface AppliedMigration {
  name: string;
  /** SHA-256 (hex) of the migration.sql that was applied, as the schema engine records it. */
  checksum: string;
  finished: boolean;
  rolledBack: boolean;
}

export interface DatabaseHistory {
  /** undefined: no `_prisma_migrations` table. */
  rows: AppliedMigration[] | undefined;
  /** Tables other than SQLite's and `_prisma_migrations`. */
  userTables: string[];
}

export interface HistoryComparison {
  /** Finished and not rolled back, in the order applied. */
  applied: string[];
  /** In the folder and not applied (a rolled-back migration is pending again). */
  pending: string[];
  /** Started and never finished, nor rolled back: the database may be half-migrated. */
  failed: string[];
  /** Applied, but the folder's migration.sql no longer has the recorded checksum. */
  edited: string[];
  /** Applied, and absent from the folder. */
  unknown: string[];
}

async function rows(adapter: SqlDriverAdapter, sql: string): Promise<unknown[][]> {
  return (await adapter.queryRaw({ sql, args: [], argTypes: [] })).rows;
}

export async function readDatabaseHistory(adapter: SqlDriverAdapter): Promise<DatabaseHistory> {
  const tables = (await rows(adapter, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")).map((r) => String(r[0]));
  const userTables = tables.filter((t) => t !== '_prisma_migrations');
  if (!tables.includes('_prisma_migrations')) return { rows: undefined, userTables };
  const applied = await rows(
    adapter,
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at, migration_name',
  );
  return {
    rows: applied.map((r) => ({ name: String(r[0]), checksum: String(r[1]), finished: r[2] !== null, rolledBack: r[3] !== null })),
    userTables,
  };
}

/**
 * The checksums a migration.sql may have been recorded with: the schema engine hashes the
 * file as read, and a checkout may have converted its line endings since.
 */
export function acceptedChecksums(script: string): Set<string> {
  const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
  const lf = script.replace(/\r\n/g, '\n');
  return new Set([sha(script), sha(lf), sha(lf.replace(/\n/g, '\r\n'))]);
}

/** Compares a database's history with the folder. Pure: the basis of apply and status. */
export function compareHistory(list: MigrationList, history: AppliedMigration[]): HistoryComparison {
  const folder = new Map<string, string | undefined>(
    list.migrationDirectories.map((d) => [d.path, d.migrationFile.content.tag === 'ok' ? d.migrationFile.content.value : undefined]),
  );
  const live = history.filter((r) => !r.rolledBack);
  const applied = live.filter((r) => r.finished);
  const failed = live.filter((r) => !r.finished).map((r) => r.name);
  const appliedNames = new Set(applied.map((r) => r.name));
  const edited = applied
    .filter((r) => {
      const script = folder.get(r.name);
      return script !== undefined && !acceptedChecksums(script).has(r.checksum);
    })
    .map((r) => r.name);
  return {
    applied: applied.map((r) => r.name),
    pending: [...folder.keys()].filter((n) => !appliedNames.has(n) && !failed.includes(n)),
    failed,
    edited,
    unknown: applied.filter((r) => !folder.has(r.name)).map((r) => r.name),
  };
}
