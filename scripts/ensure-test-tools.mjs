#!/usr/bin/env node
// Installs the system tools the tests need when they are missing, from Debian's archive:
// Chromium for the end-to-end tests (playwright.config.ts uses /usr/bin/chromium; Playwright's
// own browser download cannot reach its host from the build machines, so we never run
// `npx playwright install`) and the openssl CLI (an independent DTLS peer for the interop
// tests, and the tool that makes throwaway TLS certificates at test time).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TOOLS = [
  { bin: '/usr/bin/chromium', pkg: 'chromium', versionArgs: ['--version'] },
  { bin: '/usr/bin/openssl', pkg: 'openssl', versionArgs: ['version'] },
];

function fail(message) {
  console.error(`ensure-test-tools: ${message}`);
  process.exit(1);
}

function version({ bin, versionArgs }) {
  const result = spawnSync(bin, versionArgs, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split('\n')[0] : null;
}

function run(argv) {
  console.log(`ensure-test-tools: $ ${argv.join(' ')}`);
  const result = spawnSync(argv[0], argv.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) fail(`could not run ${argv[0]}: ${result.error.message}`);
  if (result.status !== 0) fail(`\`${argv.join(' ')}\` exited with status ${result.status ?? result.signal}`);
}

const missing = TOOLS.filter((tool) => !existsSync(tool.bin));
for (const tool of TOOLS.filter((t) => !missing.includes(t))) {
  console.log(`ensure-test-tools: found ${tool.bin} (${version(tool) ?? 'version unknown'})`);
}
if (missing.length === 0) process.exit(0);

const names = missing.map((t) => t.pkg).join(' ');
const hint = `install them yourself (Debian/Ubuntu: apt-get install -y ${names})`;
if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) {
  fail(`${missing.map((t) => t.bin).join(', ')} missing and this is not a Debian-like system with apt-get; ${hint}`);
}

// The build machines run as root; elsewhere fall back to non-interactive sudo (never prompt: CI has no stdin).
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let prefix = [];
if (!isRoot) {
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
    fail(`this process is not root and passwordless sudo is unavailable; ${hint}`);
  }
  prefix = ['sudo', '-n', '--preserve-env=DEBIAN_FRONTEND'];
}

console.log(`ensure-test-tools: installing Debian packages: ${names}`);
run([...prefix, 'apt-get', 'update']);
run([...prefix, 'apt-get', 'install', '-y', ...missing.map((t) => t.pkg)]);

for (const tool of missing) {
  const installed = existsSync(tool.bin) ? version(tool) : null;
  if (!installed) fail(`apt-get finished but ${tool.bin} does not run; ${hint}`);
  console.log(`ensure-test-tools: installed ${installed}`);
}
