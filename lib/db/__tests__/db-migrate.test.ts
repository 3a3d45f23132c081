import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../client';
import { withTransaction } from '../transaction';
import { applyMigrations, createMigration, markRolledBack, migrationStatus, schemaDrift } from '../migrate';
import { MigrationError, type MigrationErrorKind } from '../migration-error';
import { MIGRATIONS_DIR, SCHEMA_PATH } from '../paths';
import { runToEnd, spawnTs, tempDir } from './helpers';

const INIT = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

/** A copy of the repository's migrations folder that a test may change. */
function copyMigrations(dir: string): string {
  const copy = join(dir, 'migrations');
  cpSync(MIGRATIONS_DIR, copy, { recursive: true });
  return copy;
}

function addMigration(migrationsDir: string, name: string, sql: string): void {
  mkdirSync(join(migrationsDir, name));
  writeFileSync(join(migrationsDir, name, 'migration.sql'), sql);
}

async function rejectsWith(promise: Promise<unknown>, kind: MigrationErrorKind, text: RegExp): Promise<MigrationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MigrationError, `expected a MigrationError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, text);
    return error;
  }
  assert.fail(`expected a MigrationError (${kind})`);
}

async function query<T>(file: string, sql: string): Promise<T[]> {
  const db = await openDatabase(file);
  try {
    return await db.prisma.$queryRawUnsafe<T[]>(sql);
  } finally {
    await db.close();
  }
}

describe('applyMigrations', () => {
  it('creates the file and its directory, applies every migration, and is idempotent', async (t) => {
    const file = join(tempDir(t), 'a', 'b', 'provider.db');
    const first = await applyMigrations(`file:${file}`);
    assert.equal(first.database, file);
    assert.deepEqual(first.applied, INIT);
    assert.ok(existsSync(file));
    const tables = (await query<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);
    for (const model of ['ProviderOrder', 'ProviderTransaction', 'ProviderStateChange', 'ProviderMessage', 'CapacityPool', 'CapacityReservation', 'ScheduledActivation', 'EngineState']) {
      assert.ok(tables.includes(model), `table ${model} exists`);
    }
    const second = await applyMigrations(file);
    assert.deepEqual(second.applied, []);
    assert.equal(Number((await query<{ n: bigint }>(file, 'SELECT COUNT(*) AS n FROM _prisma_migrations'))[0]?.n), INIT.length);
  });

  it('keeps the bookkeeping prisma migrate keeps in _prisma_migrations', async (t) => {
    const file = join(tempDir(t), 'provider.db');
    const before = Date.now();
    await applyMigrations(file);
    const columns = await query<{ name: string; type: string; notnull: number; pk: number }>(file, 'PRAGMA table_info(_prisma_migrations)');
    assert.deepEqual(
      columns.map((c) => [c.name, c.type, Number(c.notnull), Number(c.pk)]),
      [
        ['id', 'TEXT', 1, 1],
        ['checksum', 'TEXT', 1, 0],
        ['finished_at', 'DATETIME', 0, 0],
        ['migration_name', 'TEXT', 1, 0],
        ['logs', 'TEXT', 0, 0],
        ['rolled_back_at', 'DATETIME', 0, 0],
        ['started_at', 'DATETIME', 1, 0],
        ['applied_steps_count', 'INTEGER UNSIGNED', 1, 0],
      ],
    );
    const rows = await query<Record<string, string | number | null>>(file, 'SELECT * FROM _prisma_migrations ORDER BY started_at');
    assert.equal(rows.length, INIT.length);
    rows.forEach((row, i) => {
      const name = INIT[i] ?? assert.fail('more rows than migrations');
      const script = readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'));
      assert.equal(row.migration_name, name);
      assert.equal(row.checksum, createHash('sha256').update(script).digest('hex'));
      assert.match(String(row.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(row.logs, null);
      assert.equal(row.rolled_back_at, null);
      assert.equal(Number(row.applied_steps_count), 1);
      const started = Date.parse(String(row.started_at));
      const finished = Date.parse(String(row.finished_at));
      assert.ok(started >= before - 1000 && finished >= started, `${row.started_at} .. ${row.finished_at}`);
    });
  });

  it('lets only one of two processes started together apply the migrations', async (t) => {
    const file = join(tempDir(t), 'provider.db');
    const outputs = await Promise.all([0, 1].map(() => runToEnd(spawnTs('scripts/db-migrate.mjs', ['apply', file]))));
    assert.equal(outputs.filter((o) => o.includes('applied')).length, 1, outputs.join('\n'));
    assert.equal(outputs.filter((o) => o.includes('up to date')).length, 1, outputs.join('\n'));
    assert.equal(Number((await query<{ n: bigint }>(file, 'SELECT COUNT(*) AS n FROM _prisma_migrations'))[0]?.n), INIT.length);
  });

  it('serialises concurrent calls in one process too', async (t) => {
    const file = join(tempDir(t), 'provider.db');
    const results = await Promise.all([applyMigrations(file), applyMigrations(file), applyMigrations(file)]);
    assert.deepEqual(results.map((r) => r.applied.length).sort(), [0, 0, INIT.length]);
  });

  it('refuses a database whose applied migration was edited since', async (t) => {
    const dir = tempDir(t);
    const migrationsDir = copyMigrations(dir);
    const file = join(dir, 'provider.db');
    await applyMigrations(file, { migrationsDir });
    const edited = INIT[0] ?? assert.fail('no migration');
    appendFileSync(join(migrationsDir, edited, 'migration.sql'), '\n-- a harmless-looking comment\n');
    const error = await rejectsWith(applyMigrations(file, { migrationsDir }), 'edited', /was modified after it was applied.*checksum/);
    assert.deepEqual(error.migrations, [edited]);
    assert.match(error.message, new RegExp(edited));
    const status = await migrationStatus(file, { migrationsDir });
    assert.deepEqual(status.database?.edited, [edited]);
  });

  it('accepts a migration whose line endings were converted by a checkout', async (t) => {
    const dir = tempDir(t);
    const migrationsDir = copyMigrations(dir);
    const file = join(dir, 'provider.db');
    await applyMigrations(file, { migrationsDir });
    const path = join(migrationsDir, INIT[0] ?? '', 'migration.sql');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    assert.deepEqual((await applyMigrations(file, { migrationsDir })).applied, []);
  });

  it('refuses a database migrated by a newer version, and one whose history diverges', async (t) => {
    const dir = tempDir(t);
    const newer = copyMigrations(dir);
    addMigration(newer, '29990101000000_future', 'CREATE TABLE "Future" ("id" INTEGER NOT NULL PRIMARY KEY);\n');
    const file = join(dir, 'provider.db');
    await applyMigrations(file, { migrationsDir: newer });
    const error = await rejectsWith(applyMigrations(file), 'newer-database', /newer version.*29990101000000_future/);
    assert.deepEqual(error.migrations, ['29990101000000_future']);

    const other = join(dir, 'other');
    cpSync(MIGRATIONS_DIR, other, { recursive: true });
    addMigration(other, '29990101000000_elsewhere', 'CREATE TABLE "Elsewhere" ("id" INTEGER NOT NULL PRIMARY KEY);\n');
    await rejectsWith(applyMigrations(file, { migrationsDir: other }), 'diverged', /29990101000000_future.*29990101000000_elsewhere/);
  });

  it('reports a broken migration, refuses to start until it is resolved, then applies the fix', async (t) => {
    const dir = tempDir(t);
    const migrationsDir = copyMigrations(dir);
    const file = join(dir, 'provider.db');
    await applyMigrations(file, { migrationsDir });
    const broken = '29990101000000_broken';
    addMigration(migrationsDir, broken, 'CREATE TABLE "Extra" ("id" INTEGER NOT NULL PRIMARY KEY);\nCREATE TABLE "ProviderOrder" ("id" INTEGER);\n');
    const failure = await rejectsWith(applyMigrations(file, { migrationsDir }), 'apply-failed', /29990101000000_broken failed to apply.*already exists/s);
    assert.deepEqual(failure.migrations, [broken]);

    await rejectsWith(applyMigrations(file, { migrationsDir }), 'failed', /29990101000000_broken failed earlier.*--rolled-back/s);
    const status = await migrationStatus(file, { migrationsDir });
    assert.deepEqual(status.database?.failed, [broken]);
    assert.equal(status.schema.kind, 'error');

    // The operator repairs the script (SQLite runs a migration without a transaction, so "Extra"
    // already exists), marks the failed attempt rolled back, and starts again.
    writeFileSync(join(migrationsDir, broken, 'migration.sql'), 'CREATE TABLE IF NOT EXISTS "Extra" ("id" INTEGER NOT NULL PRIMARY KEY);\n');
    await markRolledBack(file, broken, { migrationsDir });
    assert.deepEqual((await applyMigrations(file, { migrationsDir })).applied, [broken]);
  });

  it('fails clearly, and changes nothing, when another connection holds the database', async (t) => {
    const dir = tempDir(t);
    const migrationsDir = copyMigrations(dir);
    const file = join(dir, 'provider.db');
    await applyMigrations(file, { migrationsDir });
    addMigration(migrationsDir, '29990101000000_more', 'CREATE TABLE "More" ("id" INTEGER NOT NULL PRIMARY KEY);\n');
    const db = await openDatabase(file);
    t.after(() => db.close());
    let release = () => {};
    const holding = new Promise<void>((resolve) => (release = resolve));
    let started = () => {};
    const inside = new Promise<void>((resolve) => (started = resolve));
    const held = withTransaction(db, async (tx) => {
      await tx.engineState.create({ data: { key: 'busy', json: '{}' } });
      started();
      await holding;
    });
    await inside;
    try {
      const error = await rejectsWith(
        applyMigrations(file, { migrationsDir, sqlite: { busyTimeoutMs: 100 } }),
        'apply-failed',
        /could not apply 29990101000000_more: .*locked by another connection/,
      );
      assert.deepEqual(error.migrations, ['29990101000000_more']);
    } finally {
      release();
      await held;
    }
    assert.deepEqual((await migrationStatus(file, { migrationsDir })).database?.pending, ['29990101000000_more']);
    await db.close();
    assert.deepEqual((await applyMigrations(file, { migrationsDir })).applied, ['29990101000000_more']);
  });

  it('refuses a database that has tables but no migration history', async (t) => {
    const file = join(tempDir(t), 'provider.db');
    const db = await openDatabase(file);
    await db.prisma.$executeRawUnsafe('CREATE TABLE "Legacy" ("id" INTEGER)');
    await db.close();
    await rejectsWith(applyMigrations(file), 'not-empty', /Legacy.*no migration history/);
  });

  it('refuses PostgreSQL and in-memory URLs with an explanation', async () => {
    await rejectsWith(applyMigrations('postgresql://cpnp@127.0.0.1:1/cpnp'), 'unsupported', /SQLite migrations only.*docs\/database\.md/);
    await rejectsWith(applyMigrations(':memory:'), 'unsupported', /in-memory/);
  });
});

describe('createMigration and status', () => {
  it('has a migration for every change of schema.prisma in this repository', async () => {
    assert.equal(await schemaDrift(), null, 'schema.prisma changed without `node scripts/db-migrate.mjs create <name>`');
  });

  it('writes the difference as a new migration named after its UTC time, then nothing more', async (t) => {
    const dir = tempDir(t);
    const migrationsDir = copyMigrations(dir);
    const schemaPath = join(dir, 'schema.prisma');
    writeFileSync(schemaPath, `${readFileSync(SCHEMA_PATH, 'utf8')}\nmodel Extra {\n  id   Int    @id\n  note String?\n}\n`);

    const now = new Date(Date.UTC(2099, 0, 2, 3, 4, 5));
    const created = await createMigration('Add extra!', { schemaPath, migrationsDir, now });
    assert.ok(created);
    assert.equal(created.name, '20990102030405_add_extra');
    assert.match(created.sql, /CREATE TABLE "Extra"/);
    assert.equal(readFileSync(join(migrationsDir, created.name, 'migration.sql'), 'utf8'), created.sql);
    assert.equal(await createMigration('again', { schemaPath, migrationsDir, now }), null);

    // A clock behind the last migration still yields a later name.
    writeFileSync(schemaPath, `${readFileSync(schemaPath, 'utf8')}\nmodel Extra2 {\n  id Int @id\n}\n`);
    const late = await createMigration('extra2', { schemaPath, migrationsDir, now: new Date(Date.UTC(2000, 0, 1)) });
    assert.equal(late?.name, '20990102030406_extra2');

    const file = join(dir, 'provider.db');
    assert.deepEqual((await applyMigrations(file, { migrationsDir })).applied, [...INIT, created.name, '20990102030406_extra2']);
    const status = await migrationStatus(file, { migrationsDir, schemaPath });
    assert.deepEqual(status.schema, { kind: 'in-sync' });
    assert.deepEqual(status.database?.pending, []);
  });

  it('reports pending migrations of a missing database without creating it', async (t) => {
    const file = join(tempDir(t), 'absent.db');
    const status = await migrationStatus(file);
    assert.equal(status.database?.exists, false);
    assert.deepEqual(status.database?.pending, INIT);
    assert.equal(existsSync(file), false);
  });
});
