#!/usr/bin/env node
// The `cpnp` command. The library is TypeScript; tsx compiles it on the fly so the CLI runs
// straight from a clone without a separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
const { processIo } = await import('../lib/cli/io.ts');
process.exitCode = await main(process.argv.slice(2), processIo());
