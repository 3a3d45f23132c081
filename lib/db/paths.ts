/**
 * Where the database files of the repository live. Resolved from this file, not from the
 * working directory, so servers started from anywhere find the same schema and migrations.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCHEMA_PATH = join(REPO_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');

/** The portal's own database (prisma/portal/schema.prisma), migrated separately. */
export const PORTAL_SCHEMA_PATH = join(REPO_ROOT, 'prisma', 'portal', 'schema.prisma');
export const PORTAL_MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'portal', 'migrations');
