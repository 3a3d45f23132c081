'use strict';
// Loads the compiled addon (see binding.gyp). The binary is built by `npm install` at the
// repository root (this package is a local dependency with "gypfile": true), by
// `npm rebuild @cpnp/dtls-server`, or by `npm run build` in this folder.
// CommonJS, so that ES modules load it with createRequire(); module.require is the same
// loader as require() (the repository's lint rules forbid bare require() calls).
const path = module.require('node:path');
const fs = module.require('node:fs');

const BINARY = path.join(__dirname, 'build', 'Release', 'dtls_server.node');

function load() {
  if (!fs.existsSync(BINARY)) {
    throw new Error(
      `@cpnp/dtls-server: the native addon is not built (missing ${BINARY}). ` +
        'Run `npm install` (or `npm rebuild @cpnp/dtls-server`) at the repository root, or ' +
        '`npm run build` in lib/dtls-server; a C++ toolchain (g++, make, python3) is required.',
    );
  }
  try {
    return module.require(BINARY);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `@cpnp/dtls-server: cannot load ${BINARY} (${reason}). It was probably built for another ` +
        'Node.js version: run `npm rebuild @cpnp/dtls-server` at the repository root, or ' +
        '`npm run build` in lib/dtls-server.',
    );
  }
}

module.exports = load();
