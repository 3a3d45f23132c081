/**
 * PostgreSQL, as far as this repository supports it (docs/database.md, "PostgreSQL"): the
 * client works by URL (client.ts), and this creates the tables in an EMPTY PostgreSQL database.
 *
 * prisma/migrations is SQLite SQL and cannot run on PostgreSQL. A PostgreSQL migration history
 * would need its own folder, created against a PostgreSQL shadow database; the pinned Wasm engine
 * cannot read a PostgreSQL schema back through the current adapter (it fails on the `char` type),
 * so it can neither create such migrations nor `db push`. What it can do is render the whole
 * schema as PostgreSQL DDL, which is what happens here, in one transaction. Later schema changes
 * must be applied by hand (`prisma migrate diff` where the native engine exists).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { MigrationError } from './migration-error';
import { REPO_ROOT } from './paths';
import { NO_FILTER, startSchemaEngine } from './schema-engine';
import { parseDatabaseUrl } from './url';

/** Written by scripts/db-generate.mjs: prisma/schema.prisma with provider postgresql. */
export const POSTGRES_SCHEMA_PATH = join(REPO_ROOT, 'lib', 'db', 'generated', 'postgresql.prisma');

/** Splits Prisma's DDL into statements (it never puts a semicolon inside one). */
function statements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^(\s*--[^\n]*\n)+/g, '').trim())
    .filter((s) => s !== '');
}

/**
 * Creates every table, index and foreign key of the schema in an empty PostgreSQL database
 * (its current schema, normally `public`). Refuses a database that already has tables.
 * Returns the DDL it ran.
 */
export async function initializePostgres(url: string): Promise<string> {
  const target = parseDatabaseUrl(url);
  if (target.provider !== 'postgresql') throw new MigrationError('unsupported', `${url} is not a PostgreSQL URL`);
  if (!existsSync(POSTGRES_SCHEMA_PATH)) {
    throw new MigrationError('bad-folder', `${POSTGRES_SCHEMA_PATH} is missing; run \`node scripts/db-generate.mjs\``);
  }
  const schema = { path: POSTGRES_SCHEMA_PATH, content: readFileSync(POSTGRES_SCHEMA_PATH, 'utf8') };
  const factory = new PrismaPg({ connectionString: target.url });
  const adapter = await factory.connect();
  try {
    const existing = await adapter.queryRaw({
      sql: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
      args: [],
      argTypes: [],
    });
    if (existing.rows.length > 0) {
      throw new MigrationError(
        'not-empty',
        `the PostgreSQL database already has tables (${existing.rows.map((r) => String(r[0])).join(', ')}); only an empty database is initialised here`,
      );
    }
    const { engine, describe, close } = await startSchemaEngine(factory, { schema });
    let ddl: string;
    try {
      const diff = await engine.diff({ from: { tag: 'empty' }, to: { tag: 'schemaDatamodel', files: [schema] }, script: true, exitCode: null, filters: NO_FILTER });
      ddl = diff.stdout ?? '';
    } catch (error) {
      throw new MigrationError('bad-folder', `rendering the PostgreSQL schema failed: ${describe(error)}`, [], { cause: error });
    } finally {
      await close();
    }
    // A driver adapter's commit()/rollback() only hand the connection back: the statements that
    // end the transaction are the caller's to send. PostgreSQL DDL is transactional, so a failure
    // leaves the database empty.
    const tx = await adapter.startTransaction();
    const run = (sql: string) => tx.executeRaw({ sql, args: [], argTypes: [] });
    try {
      for (const sql of statements(ddl)) await run(sql);
      await run('COMMIT');
      await tx.commit();
    } catch (error) {
      await run('ROLLBACK').catch(() => undefined);
      await tx.rollback();
      throw new MigrationError('apply-failed', `creating the PostgreSQL tables failed: ${error instanceof Error ? error.message : String(error)}`, [], {
        cause: error,
      });
    }
    return ddl;
  } finally {
    await adapter.dispose();
  }
}
