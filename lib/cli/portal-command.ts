/**
 * `cpnp portal ...`: administration of the portal's database for real deployments.
 *
 *   cpnp portal user add --email E --password P --role customer|admin|staff --org NAME [--name N] [--db FILE]
 *   cpnp portal migrate [--db FILE]
 *
 * --db defaults to PORTAL_DATABASE_URL, else data/portal.db (the file `npm start` uses). The
 * password may come from the PORTAL_USER_PASSWORD environment variable instead of the command
 * line (which other local users can read in the process list). Both commands apply pending
 * migrations first, so the first admin of a new deployment is one command.
 */
import { parseArgs } from 'node:util';
import { openPortalDb, portalDatabaseFile } from '../portal/db/client';
import { applyPortalMigrations } from '../portal/db/migrate';
import { addUser } from '../portal/users/accounts';
import { EXIT_OK, EXIT_USAGE, type CliIo } from './io';

const USAGE = `usage:
  cpnp portal user add --email E --password P --role customer|admin|staff --org NAME [--name N] [--db FILE]
      (or the password in PORTAL_USER_PASSWORD)
  cpnp portal migrate [--db FILE]
--db: the portal database (default PORTAL_DATABASE_URL, else data/portal.db)
`;

/** Exit status when the database refuses (duplicate user, migration error). */
export const EXIT_REFUSED = 4;

function dbFile(db: string | undefined): string {
  return portalDatabaseFile(db ? { ...process.env, PORTAL_DATABASE_URL: db } : process.env);
}

export async function portalCommand(args: string[], io: CliIo): Promise<number> {
  const [group, sub, ...rest] = args;
  if (group === undefined || group === '--help' || group === '-h') {
    io.stdout(USAGE);
    return group === undefined ? EXIT_USAGE : EXIT_OK;
  }
  let parsed;
  try {
    const tail = group === 'migrate' ? [sub, ...rest].filter((a): a is string => a !== undefined) : rest;
    parsed = parseArgs({
      args: tail,
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        role: { type: 'string' },
        org: { type: 'string' },
        name: { type: 'string' },
        db: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    io.stderr(`cpnp portal: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let file: string;
  try {
    file = dbFile(parsed.db);
  } catch (error) {
    io.stderr(`cpnp portal: ${error instanceof Error ? error.message : error}\n`);
    return EXIT_USAGE;
  }
  if (group === 'migrate') {
    try {
      const { applied } = await applyPortalMigrations(file);
      io.stdout(`${file}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
      return EXIT_OK;
    } catch (error) {
      io.stderr(`cpnp portal migrate: ${error instanceof Error ? error.message : error}\n`);
      return EXIT_REFUSED;
    }
  }
  if (group !== 'user' || sub !== 'add') {
    io.stderr(`cpnp portal: unknown command "${[group, sub].filter(Boolean).join(' ')}"\n${USAGE}`);
    return EXIT_USAGE;
  }
  const password = parsed.password ?? process.env.PORTAL_USER_PASSWORD;
  const missing = (['email', 'role', 'org'] as const).filter((k) => !parsed[k]);
  if (!password) missing.push('password' as never);
  if (missing.length > 0) {
    io.stderr(`cpnp portal user add: missing --${missing.join(', --')}\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    await applyPortalMigrations(file);
  } catch (error) {
    io.stderr(`cpnp portal user add: ${error instanceof Error ? error.message : error}\n`);
    return EXIT_REFUSED;
  }
  const db = openPortalDb(file);
  try {
    const email = parsed.email ?? '';
    const result = await addUser(db, {
      email,
      password: password ?? '',
      role: parsed.role as 'customer',
      organisation: parsed.org ?? '',
      name: parsed.name ?? email.split('@')[0] ?? email,
    });
    if (!result.ok) {
      io.stderr(`cpnp portal user add: ${result.message}\n`);
      return result.message.includes('exists') ? EXIT_REFUSED : EXIT_USAGE;
    }
    io.stdout(`added ${parsed.role} ${email.toLowerCase()} to ${parsed.org} (user ${result.userId}) in ${file}\n`);
    return EXIT_OK;
  } finally {
    await db.$disconnect();
  }
}
