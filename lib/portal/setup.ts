/**
 * Start-up of the portal's database (scripts/start.mjs calls this before `next start`):
 * apply prisma/portal/migrations, then (demo) seed accounts and the reference providers.
 * Framework-free.
 */
import { dirname, join } from 'node:path';
import { openPortalDb } from './db/client';
import { applyPortalMigrations } from './db/migrate';
import { seedDemo, type DemoLogin, type DemoProviders } from './seed/demo';

export interface PortalSetupResult {
  applied: string[];
  logins: DemoLogin[];
}

export async function setUpPortalDatabase(file: string, demo: DemoProviders | undefined): Promise<PortalSetupResult> {
  const { applied } = await applyPortalMigrations(file);
  if (!demo) return { applied, logins: [] };
  const db = openPortalDb(file);
  try {
    const logins = await seedDemo(db, demo, join(dirname(demo.keyFile), 'portal-logins.json'));
    return { applied, logins };
  } finally {
    await db.$disconnect();
  }
}
