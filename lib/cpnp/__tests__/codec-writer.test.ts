import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeCbor, withCborWriter, type Encodable } from '../cbor/encoder';
import { CborDateTag, CborFloat } from '../cbor/values';
import { decodeMessage, encodeMessage } from '../codec';
import { CpnpDecodeError } from '../errors';
import { fromHex } from '../hex';
import { FIELD_KEYS, FIELD_NAMES, MAX_MESSAGE_SIZE, type CpnpMessage } from '../message';
import { readMessage } from '../message-schema';
import { writeMessage } from '../message-writer';
import { SchemaReader } from '../schema-reader';
import { arbMessage } from './arbitrary-message';
import { bytesToHex, hexToBytes, vectorSets } from './vectors';

/**
 * The one-pass validating writer (message-writer.ts) against the reference it replaces on the
 * hot path: readMessage's typed copy, written by the generic encodeCbor. The writer must never
 * accept what readMessage refuses, must write the same bytes, and encodeMessage must refuse
 * exactly as readMessage does (same rule, path and message) on every input.
 */

const RUNS = Number(process.env.CPNP_PROPERTY_RUNS ?? 300);
const reader = new SchemaReader('json');

type Outcome = { ok: true; hex: string } | { ok: false; error: string };

function describeError(error: unknown): string {
  if (error instanceof CpnpDecodeError) return `CpnpDecodeError ${error.rule} @${error.path}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The reference: validate into a typed copy, then write that copy as the integer-keyed wire map. */
function reference(value: unknown): Outcome {
  try {
    const checked = readMessage(value, reader) as unknown as Record<string, Encodable | undefined>;
    const wire = new Map<number, Encodable>();
    for (const name of FIELD_NAMES) {
      const item = checked[name];
      if (item === undefined) continue;
      wire.set(FIELD_KEYS[name], name === 'txid' || name === 'nonce' ? (fromHex(item as string) as Uint8Array) : item);
    }
    const bytes = encodeCbor(wire);
    if (bytes.length > MAX_MESSAGE_SIZE) return { ok: false, error: 'size' };
    return { ok: true, hex: bytesToHex(bytes) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

function viaCodec(value: unknown): Outcome {
  try {
    return { ok: true, hex: bytesToHex(encodeMessage(value as CpnpMessage)) };
  } catch (error) {
    if (error instanceof CpnpDecodeError && error.rule === 'size') return { ok: false, error: 'size' };
    return { ok: false, error: describeError(error) };
  }
}

/** The writer alone: its bytes, or undefined when it leaves the message to readMessage. */
function onePass(value: unknown): string | undefined {
  try {
    return bytesToHex(withCborWriter(writeMessage, value));
  } catch {
    return undefined;
  }
}

// Values put in place of, or next to, the message's own (fresh each time: edits may follow).
const POOL: readonly (() => unknown)[] = [
  () => undefined, () => null, () => 0, () => -0, () => 1, () => 2, () => 3, () => 7, () => 63, () => 64,
  () => 68, () => 100, () => 101, () => 65535, () => 65536, () => 4294967295, () => 4294967296,
  () => 2 ** 53, () => 1.5, () => -1, () => NaN, () => Infinity, () => '', () => 'x', () => 'ce-a',
  () => 'ce-b', () => '192.0.2.0/24', () => '192.0.2.1/24', () => '2001:db8::/32', () => 'a\u0001', () => '\ud800',
  () => 'é', () => 'x'.repeat(65), () => '2026-01-01T00:00:00Z', () => '2026-02-30T00:00:00Z',
  () => 'drop', () => 'police', () => 'test', () => 'production', () => 'quantitative', () => 'qualitative',
  () => 'implicit', () => 'explicit', () => 'rsvp', () => 'all', () => 'low', () => 'ipv4', () => 'ssm',
  () => true, () => false, () => [], () => ['ce-a', 'ce-b'], () => ['ce-a', 'ce-a'], () => [1, 2], () => [2, 1],
  () => ({}), () => ({ min: 1 }), () => ({ max: 1, min: 2 }), () => ({ min: 1, pref: 0 }),
  () => ({ oneOf: ['low', 'high'] }), () => ({ oneOf: ['low', 'low'] }), () => ({ oneOf: ['drop', 'lower-effort'] }),
  () => ({ lat: 1, lon: 2 }), () => Object.assign(Object.create(null) as object, { min: 1 }),
  () => new Map(), () => new Uint8Array(2), () => new CborFloat(1), () => new CborFloat(0.5),
  () => new CborDateTag('2026-01-01T00:00:00Z'), () => new Date(0), () => '00'.repeat(16), () => 'AA'.repeat(16),
  () => [{ id: 'n', link: 'l' }], () => [{ nodes: [{ id: 'n', link: 'l' }] }],
];
const KEYS = [
  'zz', 'class', 'kind', 'sources', 'testUntil', 'purpose', 'nonce', 'reasons', 'conformance', 'overall', 'capacity',
  'pref', 'min', 'lat', 'protocol', 'between', 'statusCode', 'providerOrderId', 'activationSchedule', 'ies', 'cpd',
  'links', 'srcPort', 'families', 'multicast', 'qos', 'nodes', 'perLink', 'oneOf', 'location',
];

type Edit = { kind: 'set' | 'delete' | 'add'; at: number; key: number; value: number };

/** Every plain object and array of a message tree, the root first. */
function containers(root: object): object[] {
  const out: object[] = [];
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    // Only the JSON-form containers: a Uint8Array, Map or class instance is a value to edit around.
    const proto: unknown = Object.getPrototypeOf(node);
    if (!Array.isArray(node) && proto !== Object.prototype && proto !== null) return;
    out.push(node);
    for (const child of Object.values(node)) walk(child);
  };
  walk(root);
  return out;
}

function mutate(message: CpnpMessage, edits: readonly Edit[]): unknown {
  const copy = structuredClone(message) as object;
  for (const edit of edits) {
    const all = containers(copy);
    const target = all[edit.at % all.length] as Record<string, unknown>;
    const keys = Object.keys(target);
    const value = (POOL[edit.value % POOL.length] as () => unknown)();
    const existing = keys[edit.key % Math.max(keys.length, 1)];
    if (edit.kind === 'add' || existing === undefined) {
      if (Array.isArray(target)) target.push(value);
      else target[KEYS[edit.key % KEYS.length] as string] = value;
    } else if (edit.kind === 'set') {
      target[existing] = value;
    } else if (Array.isArray(target)) {
      target.splice(Number(existing), 1);
    } else {
      delete target[existing];
    }
  }
  return copy;
}

const arbEdit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom('set', 'delete', 'add'),
  at: fc.nat(),
  key: fc.nat(),
  value: fc.nat(),
});

describe('one-pass validating writer (message-writer.ts) against readMessage', () => {
  it('takes every valid vector on its own path, with the vector bytes', () => {
    for (const set of vectorSets()) {
      for (const v of set.valid) {
        const decoded = decodeMessage(hexToBytes(v.hex));
        assert.ok(decoded.ok, v.name);
        assert.equal(onePass(decoded.message), v.hex, `${set.source}/${v.name}`);
      }
    }
  });

  it('takes every valid message on its own path, with the bytes of the typed copy', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        const expected = reference(message);
        assert.ok(expected.ok, expected.ok ? '' : expected.error);
        assert.equal(onePass(message), expected.hex);
      }),
      { numRuns: RUNS },
    );
  });

  it('on edited messages: never accepts what readMessage refuses; encodeMessage refuses alike', () => {
    fc.assert(
      fc.property(arbMessage, fc.array(arbEdit, { minLength: 1, maxLength: 3 }), (message, edits) => {
        const value = mutate(message, edits);
        const expected = reference(value);
        const fast = onePass(value);
        if (fast !== undefined) assert.deepEqual(expected, { ok: true, hex: fast });
        assert.deepEqual(viaCodec(value), expected);
      }),
      { numRuns: RUNS * 10 },
    );
  });
});
