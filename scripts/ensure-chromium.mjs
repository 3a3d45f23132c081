#!/usr/bin/env node
// Makes sure Debian's Chromium exists for the end-to-end tests (playwright.config.ts uses
// /usr/bin/chromium). Playwright's own browser download cannot reach its host from the build
// machines, so we never run `npx playwright install`; Debian's archive is reachable instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

function fail(message) {
  console.error(`ensure-chromium: ${message}`);
  process.exit(1);
}

function version() {
  const result = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

function run(argv) {
  console.log(`ensure-chromium: $ ${argv.join(' ')}`);
  const result = spawnSync(argv[0], argv.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) fail(`could not run ${argv[0]}: ${result.error.message}`);
  if (result.status !== 0) fail(`\`${argv.join(' ')}\` exited with status ${result.status ?? result.signal}`);
}

if (existsSync(CHROMIUM)) {
  console.log(`ensure-chromium: found ${CHROMIUM} (${version() ?? 'version unknown'})`);
  process.exit(0);
}

const hint = `install Chromium yourself (Debian/Ubuntu: apt-get install -y chromium) so that ${CHROMIUM} exists`;
if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) {
  fail(`${CHROMIUM} is missing and this is not a Debian-like system with apt-get; ${hint}`);
}

// The build machines run as root; elsewhere fall back to non-interactive sudo (never prompt: CI has no stdin).
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let prefix = [];
if (!isRoot) {
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
    fail(`${CHROMIUM} is missing, this process is not root and passwordless sudo is unavailable; ${hint}`);
  }
  prefix = ['sudo', '-n', '--preserve-env=DEBIAN_FRONTEND'];
}

console.log(`ensure-chromium: ${CHROMIUM} is missing; installing Debian's chromium package with apt-get`);
run([...prefix, 'apt-get', 'update']);
run([...prefix, 'apt-get', 'install', '-y', 'chromium']);

const installed = existsSync(CHROMIUM) ? version() : null;
if (!installed) fail(`apt-get finished but ${CHROMIUM} does not run; ${hint}`);
console.log(`ensure-chromium: installed ${installed}`);
