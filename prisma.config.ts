/**
 * Prisma CLI configuration (Prisma 7 reads the connection URL from here, not from the schema).
 * Only the CLI uses this file: servers open the database through lib/db/client.ts and migrate
 * it through lib/db/migrate.ts. DATABASE_URL is needed only by commands that talk to a
 * database (`prisma migrate deploy`, `prisma migrate status`, `prisma studio`); `prisma
 * generate` runs without it. See docs/database.md.
 */
import { defineConfig } from 'prisma/config';

const url = process.env.DATABASE_URL;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  ...(url ? { datasource: { url } } : {}),
});
