#!/usr/bin/env node
// Database migrations without the native Prisma schema engine (it cannot be downloaded here);
// lib/db/migrate.ts does the work through the Wasm engine. docs/database.md explains it.
//
//   node scripts/db-migrate.mjs create <name>       new prisma/migrations/<UTC stamp>_<name>/migration.sql
//                                                   from the changes in prisma/schema.prisma
//   node scripts/db-migrate.mjs status [<db>]       the folder, schema drift, and what <db> has applied;
//                                                   exit 1 when schema.prisma has changes without a migration
//                                                   or <db> has pending, failed, edited or unknown migrations
//   node scripts/db-migrate.mjs apply <db>          apply pending migrations (what servers do at start-up)
//   node scripts/db-migrate.mjs resolve <db> --rolled-back <migration>
//                                                   mark a failed migration rolled back (after a manual repair)
//   node scripts/db-migrate.mjs init-postgresql <postgresql://...>
//                                                   create the tables in an EMPTY PostgreSQL database
//                                                   (prisma/migrations is SQLite-only; docs/database.md)
//
// <db> is a SQLite path or file: URL; DATABASE_URL is used when it is omitted.
//
// --portal (anywhere on the line): the same commands for the portal's database,
// prisma/portal/schema.prisma and prisma/portal/migrations; <db> defaults to PORTAL_DATABASE_URL.
import { register } from 'tsx/esm/api';

register();
const { applyMigrations, createMigration, markRolledBack, migrationStatus } = await import('../lib/db/migrate.ts');
const { PORTAL_MIGRATIONS_DIR, PORTAL_SCHEMA_PATH } = await import('../lib/db/paths.ts');

const portal = process.argv.includes('--portal');
/** Which schema and migrations folder the commands work on. */
const target = portal ? { schemaPath: PORTAL_SCHEMA_PATH, migrationsDir: PORTAL_MIGRATIONS_DIR } : {};
const URL_VAR = portal ? 'PORTAL_DATABASE_URL' : 'DATABASE_URL';
const { MigrationError } = await import('../lib/db/migration-error.ts');
const { initializePostgres } = await import('../lib/db/postgres-init.ts');

const USAGE =
  'usage: db-migrate.mjs [--portal] create <name> | status [<db>] | apply <db> | resolve <db> --rolled-back <migration> | init-postgresql <url>';

function dbArg(value) {
  const db = value ?? process.env[URL_VAR];
  if (!db) {
    console.error(`${USAGE}\n(no <db> given and ${URL_VAR} is not set)`);
    process.exit(2);
  }
  return db;
}

async function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case 'create': {
      if (rest.length !== 1) throw new UsageError();
      const created = await createMigration(rest[0], target);
      if (created === null) {
        console.log(`${portal ? 'prisma/portal/schema.prisma and prisma/portal/migrations' : 'prisma/schema.prisma and prisma/migrations'} agree: no migration created`);
      } else {
        console.log(`created ${created.file}\n\n${created.sql}`);
      }
      return 0;
    }
    case 'status': {
      if (rest.length > 1) throw new UsageError();
      const db = rest[0] ?? process.env[URL_VAR];
      const status = await migrationStatus(db, target);
      let ok = true;
      console.log(`${status.migrationsDir}: ${status.migrations.length} migration(s)`);
      for (const m of status.migrations) console.log(`  ${m}`);
      if (status.schema.kind === 'in-sync') {
        console.log('schema.prisma: in sync with the migrations');
      } else if (status.schema.kind === 'changed') {
        ok = false;
        console.log('schema.prisma: has changes no migration contains; run `db-migrate.mjs create <name>`:\n');
        console.log(status.schema.sql);
      } else {
        ok = false;
        console.log(`schema.prisma: cannot compare, the migrations do not replay: ${status.schema.message}`);
      }
      const d = status.database;
      if (d !== undefined) {
        console.log(`database ${d.file}${d.exists ? '' : ' (does not exist yet)'}:`);
        console.log(`  applied: ${d.applied.length}${d.applied.length ? ` (last ${d.applied.at(-1)})` : ''}`);
        for (const [label, names] of [
          ['pending', d.pending],
          ['failed', d.failed],
          ['edited after being applied', d.edited],
          ['unknown to this version', d.unknown],
        ]) {
          if (names.length > 0) {
            ok = false;
            console.log(`  ${label}: ${names.join(', ')}`);
          }
        }
      }
      return ok ? 0 : 1;
    }
    case 'apply': {
      if (rest.length > 1) throw new UsageError();
      const result = await applyMigrations(dbArg(rest[0]), target);
      console.log(
        result.applied.length === 0
          ? `${result.database}: up to date`
          : `${result.database}: applied ${result.applied.join(', ')}`,
      );
      return 0;
    }
    case 'resolve': {
      if (rest.length !== 3 || rest[1] !== '--rolled-back') throw new UsageError();
      await markRolledBack(dbArg(rest[0]), rest[2], target);
      console.log(`${rest[2]} marked as rolled back; the next apply runs it again`);
      return 0;
    }
    case 'init-postgresql': {
      if (rest.length > 1) throw new UsageError();
      if (portal) throw new MigrationError('unsupported', 'init-postgresql --portal is not implemented yet: the portal runs on SQLite');
      const ddl = await initializePostgres(dbArg(rest[0]));
      console.log(`created the tables:\n\n${ddl}`);
      return 0;
    }
    default:
      throw new UsageError();
  }
}

class UsageError extends Error {}

try {
  process.exitCode = await main(process.argv.slice(2).filter((arg) => arg !== '--portal'));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(USAGE);
    process.exitCode = 2;
  } else if (error instanceof MigrationError) {
    console.error(`db-migrate: ${error.kind}: ${error.message}`);
    process.exitCode = 1;
  } else {
    console.error('db-migrate:', error);
    process.exitCode = 1;
  }
}
