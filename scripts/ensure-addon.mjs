#!/usr/bin/env node
// Root postinstall: makes sure the DTLS server addon (lib/dtls-server) is built. npm normally
// builds it as the install step of the local @cpnp/dtls-server package; this covers npm
// configurations that skip dependency install scripts. Builds offline against Node's headers.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../lib/dtls-server/', import.meta.url));
if (existsSync(`${dir}build/Release/dtls_server.node`)) process.exit(0);
console.log('building the DTLS server addon (lib/dtls-server) ...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['run', 'build'], { cwd: dir, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('could not build lib/dtls-server: it needs python3, make and a C++17 compiler (g++)');
  process.exit(result.status ?? 1);
}
