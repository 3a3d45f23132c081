/**
 * Migrations without the native schema engine: create them from schema.prisma, apply them at
 * start-up, report their status. The bookkeeping is Prisma's own (`_prisma_migrations`, written
 * by the schema engine), so `prisma migrate deploy` / `status` agree with this code wherever the
 * native binary exists. docs/database.md explains the workflow.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { withMigrationLock } from './migrate-lock';
import { MigrationError } from './migration-error';
import { checkMigrationsFolder, migrationNames, newMigrationDirName, readMigrationsFolder, writeMigration } from './migrations-folder';
import { MIGRATIONS_DIR, SCHEMA_PATH } from './paths';
import { compareHistory, readDatabaseHistory, type DatabaseHistory, type HistoryComparison } from './migration-history';
import { NO_FILTER, startSchemaEngine, type EngineHandle, type MigrationList } from './schema-engine';
import { SqliteAdapterFactory, type SqliteOptions } from './sqlite-adapter';
import { parseDatabaseUrl } from './url';

/** The provider of prisma/schema.prisma and of the migrations folder. */
export const MIGRATIONS_PROVIDER = 'sqlite';

export interface MigrateOptions {
  /** Defaults to prisma/migrations of this repository. */
  migrationsDir?: string;
  /** Relative SQLite paths resolve against this directory (default: process.cwd()). */
  cwd?: string;
  /** How long to wait for another process that is migrating the same database (ms). */
  lockTimeoutMs?: number;
  sqlite?: SqliteOptions;
  /** Receives the schema engine's log lines. */
  log?: (line: string) => void;
}

export interface ApplyResult {
  /** The SQLite file that was migrated. */
  database: string;
  /** Migrations applied by this call, in order; empty when the database was up to date. */
  applied: string[];
}

/** Runs `fn` with a schema engine on `factory`, then frees the engine and its connections. */
async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  options: { schema?: { path: string; content: string }; log?: (line: string) => void },
  fn: (handle: EngineHandle) => Promise<T>,
): Promise<T> {
  const handle = await startSchemaEngine(factory, options);
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

function sqliteFile(urlOrPath: string, cwd: string | undefined): string {
  const target = parseDatabaseUrl(urlOrPath, cwd);
  if (target.provider !== 'sqlite') {
    throw new MigrationError(
      'unsupported',
      'prisma/migrations holds SQLite migrations only. An empty PostgreSQL database is set up with ' +
        '`node scripts/db-migrate.mjs init-postgresql <url>`; docs/database.md ("PostgreSQL") explains the limits',
    );
  }
  if (target.file === ':memory:') {
    throw new MigrationError('unsupported', 'an in-memory database lives in one connection only; migrate a file');
  }
  return target.file;
}

/** Reads `file`'s history through a short-lived ordinary connection. */
async function inspect(file: string, options: MigrateOptions): Promise<DatabaseHistory> {
  const adapter = await new SqliteAdapterFactory(file, options.sqlite).connect();
  try {
    return await readDatabaseHistory(adapter);
  } finally {
    await adapter.dispose();
  }
}

/**
 * Refuses to migrate a database whose history does not extend the folder's: a half-applied
 * migration, an applied migration edited since, migrations unknown to this version, or tables
 * that no migration created. Returns the comparison otherwise.
 */
function checkHistory(file: string, list: MigrationList, history: DatabaseHistory): HistoryComparison {
  if (history.rows === undefined) {
    if (history.userTables.length > 0) {
      throw new MigrationError(
        'not-empty',
        `${file} has tables (${history.userTables.join(', ')}) but no migration history (_prisma_migrations): these migrations did not create it. ` +
          'Use a new database file, or baseline it with `prisma migrate resolve --applied <migration>` after checking its schema by hand.',
      );
    }
    return compareHistory(list, []);
  }
  const c = compareHistory(list, history.rows);
  if (c.failed.length > 0) {
    throw new MigrationError(
      'failed',
      `${file}: migration ${c.failed.join(', ')} failed earlier and the database may be half-migrated. ` +
        'Restore a backup, or repair the database by hand and run `node scripts/db-migrate.mjs resolve <db> --rolled-back <migration>` to retry it.',
      c.failed,
    );
  }
  if (c.edited.length > 0) {
    throw new MigrationError(
      'edited',
      `${file}: migration ${c.edited.join(', ')} was modified after it was applied to this database (its checksum differs from the one in _prisma_migrations). ` +
        'Restore the original migration.sql: an applied migration is never edited, a change goes into a new migration.',
      c.edited,
    );
  }
  if (c.unknown.length > 0) {
    const behind = c.pending.length === 0;
    throw new MigrationError(
      behind ? 'newer-database' : 'diverged',
      behind
        ? `${file} was migrated by a newer version of this software: it has migrations this version does not know (${c.unknown.join(', ')}). ` +
            'Run the newer version, or restore a backup taken before the upgrade.'
        : `${file}: its migration history and the migrations folder diverge: the database has ${c.unknown.join(', ')}, ` +
            `which the folder lacks, and the folder has ${c.pending.join(', ')}, which the database lacks.`,
      c.unknown,
    );
  }
  return c;
}

/**
 * Brings a SQLite database up to date with prisma/migrations; what servers call at start-up.
 * Creates the file (and its directory) if missing, applies pending migrations in order, and
 * records them in `_prisma_migrations`. Idempotent: an up-to-date database is only read.
 * Processes starting together are serialised by a lock (migrate-lock.ts); the later one finds
 * nothing left to do. Throws a MigrationError that names the problem and the way out.
 */
export async function applyMigrations(urlOrPath: string, options: MigrateOptions = {}): Promise<ApplyResult> {
  const file = sqliteFile(urlOrPath, options.cwd);
  const list = readMigrationsFolder(options.migrationsDir ?? MIGRATIONS_DIR);
  checkMigrationsFolder(list, MIGRATIONS_PROVIDER);
  mkdirSync(dirname(file), { recursive: true });
  return withMigrationLock(
    file,
    async () => {
      const before = checkHistory(file, list, await inspect(file, options));
      if (before.pending.length === 0) return { database: file, applied: [] };
      let failure: { error: unknown; text: string } | undefined;
      const applied = await withEngine(new SqliteAdapterFactory(file, options.sqlite, { serialize: false }), { log: options.log }, async ({ engine, describe }) => {
        try {
          return (await engine.applyMigrations({ migrationsList: list, filters: NO_FILTER })).appliedMigrationNames;
        } catch (error) {
          failure = { error, text: describe(error) };
          return [];
        }
      });
      if (failure !== undefined) {
        // Read after the engine is gone: it holds the database exclusively while it runs.
        const failed = compareHistory(list, (await inspect(file, options)).rows ?? []).failed;
        const text =
          failed.length > 0
            ? `${file}: migration ${failed.join(', ')} failed to apply: ${failure.text}`
            : `${file}: could not apply ${before.pending.join(', ')}: ${failure.text}`;
        throw new MigrationError('apply-failed', text, failed.length > 0 ? failed : before.pending, { cause: failure.error });
      }
      return { database: file, applied };
    },
    options.lockTimeoutMs,
  );
}

export interface DatabaseMigrationStatus extends HistoryComparison {
  file: string;
  exists: boolean;
}

/** How the folder, replayed, compares with schema.prisma. */
export type SchemaComparison =
  | { kind: 'in-sync' }
  /** schema.prisma was changed without `create`; `sql` is what a new migration would contain. */
  | { kind: 'changed'; sql: string }
  /** The folder could not be replayed (a broken migration); `message` says why. */
  | { kind: 'error'; message: string };

export interface MigrationStatus {
  migrationsDir: string;
  /** The folder's migrations, in the order they apply. */
  migrations: string[];
  schema: SchemaComparison;
  database?: DatabaseMigrationStatus;
}

async function databaseStatus(file: string, list: MigrationList, options: MigrateOptions): Promise<DatabaseMigrationStatus> {
  // A status query must not create the file it reports on.
  if (!existsSync(file)) return { file, exists: false, ...compareHistory(list, []) };
  return { file, exists: true, ...compareHistory(list, (await inspect(file, options)).rows ?? []) };
}

export interface SchemaOptions {
  /** Defaults to prisma/schema.prisma of this repository. */
  schemaPath?: string;
  migrationsDir?: string;
  log?: (line: string) => void;
}

/**
 * Replays the migrations folder into a scratch in-memory SQLite database and diffs the result
 * against schema.prisma. Returns the SQL of the difference, or null when there is none.
 */
export async function schemaDrift(options: SchemaOptions = {}): Promise<string | null> {
  const schemaPath = options.schemaPath ?? SCHEMA_PATH;
  const schema = { path: schemaPath, content: readFileSync(schemaPath, 'utf8') };
  const list = readMigrationsFolder(options.migrationsDir ?? MIGRATIONS_DIR);
  checkMigrationsFolder(list, MIGRATIONS_PROVIDER);
  // The engine reads the connector from the lock file; a folder without one starts empty.
  const withLock: MigrationList =
    list.lockfile.content === null ? { ...list, lockfile: { ...list.lockfile, content: `provider = "${MIGRATIONS_PROVIDER}"\n` } } : list;
  return withEngine(new SqliteAdapterFactory(':memory:', {}, { serialize: false }), { schema, log: options.log }, async ({ engine, describe }) => {
    let result;
    try {
      result = await engine.diff({
        from: { tag: 'migrations', ...withLock },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: true,
        filters: NO_FILTER,
      });
    } catch (error) {
      throw new MigrationError('bad-folder', `replaying ${withLock.baseDir} failed: ${describe(error)}`, [], { cause: error });
    }
    // exitCode 2: the two schemas differ (the `--exit-code` convention of `prisma migrate diff`).
    return result.exitCode === 2 ? (result.stdout ?? '') : null;
  });
}

export interface CreatedMigration {
  /** `<YYYYMMDDHHMMSS>_<name>` */
  name: string;
  file: string;
  sql: string;
}

/**
 * `prisma migrate dev --create-only`, offline: writes the SQL that takes the folder's schema to
 * schema.prisma as a new migration. Returns null (and writes nothing) when there is no change.
 * The new folder is replayed once more to prove that it now matches schema.prisma.
 */
export async function createMigration(name: string, options: SchemaOptions & { now?: Date } = {}): Promise<CreatedMigration | null> {
  const dir = options.migrationsDir ?? MIGRATIONS_DIR;
  const sql = await schemaDrift(options);
  if (sql === null) return null;
  const dirName = newMigrationDirName(migrationNames(readMigrationsFolder(dir)), name, options.now ?? new Date());
  const file = writeMigration(dir, dirName, sql, MIGRATIONS_PROVIDER);
  const rest = await schemaDrift(options);
  if (rest !== null) {
    throw new MigrationError('bad-folder', `${file} was written, but replaying the folder still differs from schema.prisma:\n${rest}`, [dirName]);
  }
  return { name: dirName, file, sql };
}

/** The folder, its agreement with schema.prisma, and (given a URL) what a database has applied. */
export async function migrationStatus(urlOrPath: string | undefined, options: MigrateOptions & SchemaOptions = {}): Promise<MigrationStatus> {
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const list = readMigrationsFolder(migrationsDir);
  checkMigrationsFolder(list, MIGRATIONS_PROVIDER);
  let schema: SchemaComparison;
  try {
    const sql = await schemaDrift(options);
    schema = sql === null ? { kind: 'in-sync' } : { kind: 'changed', sql };
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    schema = { kind: 'error', message: error.message };
  }
  const status: MigrationStatus = { migrationsDir, migrations: migrationNames(list), schema };
  if (urlOrPath !== undefined) status.database = await databaseStatus(sqliteFile(urlOrPath, options.cwd), list, options);
  return status;
}

/**
 * `prisma migrate resolve --rolled-back`: marks a failed migration as rolled back, after the
 * database was repaired by hand, so the next start applies it again.
 */
export async function markRolledBack(urlOrPath: string, migration: string, options: MigrateOptions = {}): Promise<void> {
  const file = sqliteFile(urlOrPath, options.cwd);
  if (!existsSync(file)) throw new MigrationError('unsupported', `${file} does not exist`);
  await withMigrationLock(
    file,
    () =>
      withEngine(new SqliteAdapterFactory(file, options.sqlite, { serialize: false }), { log: options.log }, async ({ engine }) => {
        await engine.markMigrationRolledBack({ migrationName: migration });
      }),
    options.lockTimeoutMs,
  );
}
