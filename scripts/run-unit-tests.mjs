#!/usr/bin/env node
// Runs every *.test.ts under lib/ (and bin/, scripts/) with node's test runner through tsx.
// Node 20's --test does not expand globs or pick up .ts files itself, hence this wrapper.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['lib', 'bin', 'scripts'];
const skip = new Set(['node_modules', '.next', 'build']);

function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collect(path, out);
    else if (/\.test\.ts$/.test(entry.name)) out.push(relative(root, path));
  }
  return out;
}

const filter = process.argv.slice(2);
let files = roots.flatMap((r) => collect(join(root, r), [])).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((needle) => f.includes(needle)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/unit-test-hooks.mjs', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
