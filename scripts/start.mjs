#!/usr/bin/env node
// The main job (`npm start`): builds the portal when there is no up-to-date production build,
// then serves it with `next start` on PORT (default 3000) until interrupted.
//
//   npm start                    build if needed, serve on :3000
//   PORT=8080 npm start          another port
//   npm start -- --rebuild       always rebuild first
//
// Before `next start` it migrates the portal's database (PORTAL_DATABASE_URL, default
// data/portal.db) and seeds the demo: organisations, customer/admin/staff accounts whose logins
// it prints, and the three reference providers (PORTAL_DEMO=0 skips the seed).
//
// Beside the portal it runs the reference Provider servers (`extraServices()` below);
// every service runs as a child process, is stopped on SIGINT/SIGTERM, and if any of them exits,
// the others are stopped and this script exits with its status.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { devProviders } from './dev-providers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const nextBin = createRequire(join(root, 'package.json')).resolve('next/dist/bin/next');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`start: PORT must be an integer 1..65535, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const forceBuild = process.argv.includes('--rebuild');

// Everything the production build is made from. Tests and docs are left out so that editing
// them does not trigger a rebuild.
const BUILD_INPUTS = [
  'app',
  'components',
  'lib',
  'public',
  'prisma',
  'next.config.js',
  'next.config.mjs',
  'next.config.ts',
  'postcss.config.mjs',
  'tsconfig.json',
  'package.json',
  'package-lock.json',
];
const SKIP_DIRS = new Set(['node_modules', '.next', '__tests__', 'build']);

/** Newest modification time (ms) under `path`, or 0 when it does not exist. */
function newestMtime(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return /\.test\.tsx?$/.test(path) ? 0 : stats.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIP_DIRS.has(entry.name)) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

function buildReason() {
  if (forceBuild) return '--rebuild was given';
  const buildId = join(root, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return 'there is no production build yet';
  const builtAt = statSync(buildId).mtimeMs;
  const changed = BUILD_INPUTS.find((input) => newestMtime(join(root, input)) > builtAt);
  return changed ? `${changed} changed since the last build` : null;
}

function build() {
  const reason = buildReason();
  if (!reason) {
    console.log('start: the production build is up to date');
    return;
  }
  console.log(`start: building the portal (${reason}): next build`);
  const result = spawnSync(process.execPath, [nextBin, 'build'], { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`start: next build failed (${result.status ?? result.signal}); not starting`);
    process.exit(result.status || 1);
  }
}

/**
 * Processes to run beside the portal: { name, command, args, env? } — the three reference CPNP
 * Provider servers (scripts/dev-providers.mjs), on loopback over DTLS, each with its own
 * SQLite database under data/.
 */
function extraServices() {
  const { services, portal } = devProviders(root);
  for (const p of portal.providers) console.log(`start: reference provider ${p.name} on dtls ${p.server}`);
  console.log(`start: the portal's PSK identity is "${portal.identity}" (key in ${portal.keyFile})`);
  return { services, portal };
}

/** better-auth's signing secret: BETTER_AUTH_SECRET, else one made once under the data folder. */
function authSecret(dataDir) {
  if (process.env.BETTER_AUTH_SECRET) return process.env.BETTER_AUTH_SECRET;
  const file = join(dataDir, 'portal-auth.secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The portal secret key that seals provider keys at rest (lib/portal/secrets/secret-box.ts):
 * PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE if set, else a file made once under the data folder
 * (0600). Losing the file makes the stored keys unreadable; see docs/portal-operations.md.
 */
function secretKeyEnv(dataDir) {
  if (process.env.PORTAL_SECRET_KEY) return {};
  if (process.env.PORTAL_SECRET_KEY_FILE) return { PORTAL_SECRET_KEY_FILE: process.env.PORTAL_SECRET_KEY_FILE };
  const file = join(dataDir, 'portal-secret.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    console.log(`start: created the portal secret key ${file} (keep it: provider keys are encrypted with it)`);
  }
  return { PORTAL_SECRET_KEY_FILE: file };
}

/**
 * Migrates the portal database and seeds the demo (lib/portal/setup.ts); returns the
 * environment `next start` needs and the demo logins.
 */
async function preparePortal(portal) {
  const dataDir = resolve(root, process.env.CPNP_DATA_DIR ?? 'data');
  const { portalDatabaseFile } = await tsImport('../lib/portal/db/client.ts', import.meta.url);
  const { setUpPortalDatabase } = await tsImport('../lib/portal/setup.ts', import.meta.url);
  const file = portalDatabaseFile({ ...process.env, CPNP_DATA_DIR: dataDir }, root);
  const demo = process.env.PORTAL_DEMO === '0' ? undefined : portal;
  try {
    const { applied, logins } = await setUpPortalDatabase(file, demo);
    console.log(`start: portal database ${file}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    return { env: { PORTAL_DATABASE_URL: file, BETTER_AUTH_SECRET: authSecret(dataDir), ...secretKeyEnv(dataDir), PORT: String(port) }, logins };
  } catch (error) {
    console.error(`start: could not prepare the portal database ${file}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}

function printLogins(logins) {
  if (logins.length === 0) return;
  console.log('start: demo sign-in (passwords kept in the data folder, dev/portal-logins.json):');
  for (const l of logins) console.log(`  ${l.role.padEnd(8)} ${l.email.padEnd(26)} ${l.password}   (${l.organisation})`);
}

const children = new Map();
let stopping = false;

function launch({ name, command, args, env: extraEnv }) {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: 'inherit' });
  children.set(name, child);
  child.on('error', (error) => {
    console.error(`start: could not run ${name}: ${error.message}`);
    stop(1);
  });
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`start: ${name} exited (${code ?? signal}); stopping`);
      stop(code ?? 1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  return child;
}

function stop(exitCode, signal = 'SIGTERM') {
  if (!stopping) process.exitCode = exitCode;
  stopping = true;
  if (children.size === 0) process.exit(process.exitCode ?? exitCode);
  for (const child of children.values()) child.kill(signal);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => stop(0, signal));
}

// Under `npm start`, a SIGTERM sent to npm alone kills npm's shell but not this script, which
// would keep the port busy as an orphan: stop when the parent goes away.
if (process.env.npm_lifecycle_event) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop(0);
  }, 1000).unref();
}

/** Polls the portal until it answers, then prints where it is. */
async function announce(url) {
  for (let attempt = 0; attempt < 240 && !stopping; attempt++) {
    try {
      await fetch(url, { method: 'HEAD' });
      console.log(`\nstart: CPNP portal ready at ${url}  (Ctrl-C to stop)\n`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

build();
const { services, portal } = extraServices();
const prepared = await preparePortal(portal);
for (const service of services) launch(service);
// HOST=127.0.0.1 keeps the portal on loopback (tests); by default Next listens on every address.
const hostArgs = process.env.HOST ? ['-H', process.env.HOST] : [];
launch({ name: 'next start', command: process.execPath, args: [nextBin, 'start', '-p', String(port), ...hostArgs], env: prepared.env });
await announce(`http://${process.env.HOST ?? 'localhost'}:${port}/`);
printLogins(prepared.logins);
