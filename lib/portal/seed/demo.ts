/**
 * The demo data `npm start` seeds (idempotent; every start runs it): organisation "Acme Corp"
 * with a customer, an admin and a staff account; a second organisation "Globex Ltd" with one
 * customer (to see that organisations are isolated); the reference providers that
 * scripts/dev-providers.mjs runs, with the portal's PSK identity and key file and their admin files.
 *
 * Passwords are random, made on the first run and kept in `loginsFile` (mode 0600, under
 * data/, never committed), so the printed logins stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { PortalDbClient } from '../db/client';
import type { Role } from '../db/types';
import { upsertProvider } from '../providers/registry';
import { addUser } from '../users/accounts';

export interface DemoLogin {
  email: string;
  password: string;
  name: string;
  role: Role;
  organisation: string;
}

export interface DemoProviders {
  identity: string;
  keyFile: string;
  /** adminFile: where the provider writes its admin endpoint's URL and token (scripts/dev-providers.mjs). */
  providers: { name: string; server: string; adminFile?: string }[];
}

const ACCOUNTS: Omit<DemoLogin, 'password'>[] = [
  { email: 'customer@acme.example', name: 'Casey Customer', role: 'customer', organisation: 'Acme Corp' },
  { email: 'admin@acme.example', name: 'Ada Admin', role: 'admin', organisation: 'Acme Corp' },
  { email: 'staff@acme.example', name: 'Sam Staff', role: 'staff', organisation: 'Acme Corp' },
  { email: 'customer@globex.example', name: 'Gus Globex', role: 'customer', organisation: 'Globex Ltd' },
];

function loadPasswords(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    const logins = JSON.parse(readFileSync(file, 'utf8')) as DemoLogin[];
    return Object.fromEntries(logins.map((l) => [l.email, l.password]));
  } catch {
    return {};
  }
}

export async function seedDemo(db: PortalDbClient, providers: DemoProviders, loginsFile: string): Promise<DemoLogin[]> {
  const known = loadPasswords(loginsFile);
  const logins: DemoLogin[] = [];
  for (const account of ACCOUNTS) {
    const password = known[account.email] ?? randomBytes(9).toString('base64url');
    const added = await addUser(db, { ...account, password }, 'keep');
    if (!added.ok) throw new Error(`demo seed: ${account.email}: ${added.message}`);
    // An account kept from an earlier run whose password file was deleted cannot be printed.
    if (added.created || known[account.email]) logins.push({ ...account, password });
  }
  writeFileSync(loginsFile, `${JSON.stringify(logins, null, 2)}\n`, { mode: 0o600 });
  chmodSync(loginsFile, 0o600);
  for (const p of providers.providers) {
    await upsertProvider(db, { name: p.name, endpoint: p.server, transport: 'dtls', pskIdentity: providers.identity, pskKeyFile: providers.keyFile, ...(p.adminFile === undefined ? {} : { adminFile: p.adminFile }) });
  }
  return logins;
}
