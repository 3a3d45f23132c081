import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaDrift } from '../../db/migrate';
import { PORTAL_MIGRATIONS_DIR, PORTAL_SCHEMA_PATH } from '../../db/paths';

test('prisma/portal/migrations replays to exactly prisma/portal/schema.prisma (no change without a migration)', async () => {
  const drift = await schemaDrift({ schemaPath: PORTAL_SCHEMA_PATH, migrationsDir: PORTAL_MIGRATIONS_DIR });
  assert.equal(drift, null, `schema.prisma has changes no migration contains; run \`node scripts/db-migrate.mjs --portal create <name>\`:\n${drift}`);
});
