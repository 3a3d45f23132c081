/**
 * Migrating the portal database: prisma/portal/migrations through the same Wasm schema engine as
 * the provider's (lib/db/migrate.ts). Start-up (scripts/portal-setup.mjs) and the CLI call this.
 */
import { applyMigrations, type ApplyResult, type MigrateOptions } from '../../db/migrate';
import { PORTAL_MIGRATIONS_DIR } from '../../db/paths';

export function applyPortalMigrations(file: string, options: Omit<MigrateOptions, 'migrationsDir'> = {}): Promise<ApplyResult> {
  return applyMigrations(file, { ...options, migrationsDir: PORTAL_MIGRATIONS_DIR });
}
