import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The test vector table. The project ships its own copy in lib/cpnp/vectors (wire-format.md:
 * the project ships test vectors); the public set in ../shared/spec/vectors is read too when
 * it is beside the clone (always in CI), so a drift between the two is caught.
 */
export interface ValidVector {
  name: string;
  hex: string;
  json: unknown;
}
export interface InvalidVector {
  name: string;
  why: string;
  hex: string;
}
export interface VectorSet {
  source: string;
  valid: ValidVector[];
  lenient: ValidVector[];
  invalid: InvalidVector[];
}

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../../..');

function load(dir: string, source: string): VectorSet {
  const read = <T>(file: string): T => JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as T;
  return {
    source,
    valid: read<ValidVector[]>('valid.json'),
    lenient: read<ValidVector[]>('valid-lenient.json'),
    invalid: read<InvalidVector[]>('invalid.json'),
  };
}

export function vectorSets(): VectorSet[] {
  const sets = [load(resolve(REPO_ROOT, 'lib/cpnp/vectors'), 'repo')];
  const shared = process.env.CPNP_VECTORS_DIR ?? resolve(REPO_ROOT, '../shared/spec/vectors');
  if (existsSync(resolve(shared, 'valid.json'))) sets.push(load(shared, 'shared'));
  else if (process.env.CI) throw new Error(`public vectors not found at ${shared}`);
  return sets;
}

export const hexToBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
export const bytesToHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
