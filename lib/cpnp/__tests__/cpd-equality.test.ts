import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { arbCpd } from '../cpd/arbitrary';
import { cpdBytes, cpdEquals } from '../cpd/equality';
import type { Cpd } from '../cpd/types';
import { readCpd } from '../cpd/validate';
import { SchemaReader } from '../schema-reader';
import { bytesToHex, vectorSets } from './vectors';

const json = new SchemaReader('json');
const read = (value: unknown): Cpd => readCpd(value, 'cpd', json);
const [repo] = vectorSets();
const vector = (name: string): { hex: string; cpd: Cpd } => {
  const v = repo?.valid.find((x) => x.name === name);
  assert.ok(v, `vector ${name} not found`);
  return { hex: v.hex, cpd: read((v.json as { cpd: unknown }).cpd) };
};

/** Changes one leaf (number, text or boolean) of a JSON-form tree, chosen by `pick`. */
function mutateLeaf(tree: unknown, pick: number): unknown {
  const leaves: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => (typeof item === 'object' && item !== null ? walk(item) : leaves.push({ parent: value, key: i })));
    } else if (typeof value === 'object' && value !== null) {
      const object = value as Record<string, unknown>;
      for (const [key, item] of Object.entries(object)) {
        if (typeof item === 'object' && item !== null) walk(item);
        else leaves.push({ parent: object, key });
      }
    }
  };
  walk(tree);
  const leaf = leaves[pick % leaves.length];
  assert.ok(leaf, 'a CPP always has leaves');
  const { parent, key } = leaf;
  const old: unknown = Array.isArray(parent) ? parent[key as number] : parent[key as string];
  const changed = typeof old === 'number' ? (old + 1 !== old ? old + 1 : old / 2) : typeof old === 'boolean' ? !old : `${String(old)}x`;
  if (Array.isArray(parent)) parent[key as number] = changed;
  else parent[key as string] = changed;
  return tree;
}

describe('cpdBytes / cpdEquals (RFC 8921 10.1, 10.2)', () => {
  it('cpdBytes is the key-15 value of the deterministic vectors', () => {
    for (const name of ['quotation-minimal', 'quotation-loose-with-ies', 'offer-concrete', 'accept', 'update-rich', 'withdraw-empty-cpd']) {
      const { hex, cpd } = vector(name);
      const bytes = bytesToHex(cpdBytes(cpd));
      assert.ok(hex.includes(`0f${bytes}`), `${name}: ${bytes} not found after key 15 in ${hex}`);
    }
    assert.equal(bytesToHex(cpdBytes([])), '80');
  });

  it('the Accepted CPD matches the Offered CPD; the Requested one does not', () => {
    const offered = vector('offer-concrete').cpd;
    assert.equal(cpdEquals(vector('accept').cpd, offered), true);
    assert.equal(cpdEquals(vector('ack-accepted-cpd').cpd, offered), true);
    assert.equal(cpdEquals(vector('quotation-loose-with-ies').cpd, offered), false);
  });

  it('key order does not matter, values and list order do', () => {
    const a: Cpd = [{ component: 'c', nodes: [{ id: 'a', link: 'l' }, { id: 'b', link: 'm' }], availability: { percent: 99.9 } }];
    const reordered = JSON.parse('[{"availability":{"percent":99.9},"nodes":[{"link":"l","id":"a"},{"id":"b","link":"m"}],"component":"c"}]') as Cpd;
    assert.equal(cpdEquals(a, reordered), true);
    assert.deepStrictEqual(cpdBytes(a), cpdBytes(reordered));
    const swapped: Cpd = [{ ...a[0]!, nodes: [...a[0]!.nodes].reverse() }];
    assert.equal(cpdEquals(a, swapped), false);
    assert.equal(cpdEquals(a, [{ ...a[0]!, availability: { percent: 99.90000000000002 } }]), false);
    assert.equal(cpdEquals(a, [{ ...a[0]!, availability: { percent: { min: 99.9, max: 99.9 } } }]), false);
    assert.equal(cpdEquals(a, [{ ...a[0]!, component: undefined }]), false);
    assert.equal(cpdEquals([{ nodes: [{ id: 'a', link: 'l', site: undefined }] }], [{ nodes: [{ id: 'a', link: 'l' }] }]), true);
    assert.equal(cpdEquals(a, [...a, ...a]), false);
    assert.equal(cpdEquals([], []), true);
  });

  it('is reflexive (also across a JSON round trip and a re-validation)', () => {
    fc.assert(
      fc.property(arbCpd(), (cpd) => {
        assert.ok(cpdEquals(cpd, cpd));
        const copy = JSON.parse(JSON.stringify(cpd)) as Cpd;
        assert.ok(cpdEquals(cpd, copy));
        assert.ok(cpdEquals(read(copy), cpd));
      }),
      { numRuns: 200 },
    );
  });

  it('is symmetric and agrees with structural equality', () => {
    fc.assert(
      fc.property(arbCpd({ maxCpps: 1, maxNodes: 1 }), arbCpd({ maxCpps: 1, maxNodes: 1 }), (a, b) => {
        const ab = cpdEquals(a, b);
        assert.equal(ab, cpdEquals(b, a));
        assert.equal(ab, JSON.stringify(read(a)) === JSON.stringify(read(b)));
      }),
      { numRuns: 200 },
    );
  });

  it('is false after any mutation', () => {
    fc.assert(
      fc.property(arbCpd({ minCpps: 1 }), fc.nat(), (cpd, pick) => {
        const changed = mutateLeaf(JSON.parse(JSON.stringify(cpd)), pick) as Cpd;
        assert.equal(cpdEquals(cpd, changed), false);
        assert.equal(cpdEquals(changed, cpd), false);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(arbCpd({ minCpps: 1 }), (cpd) => !cpdEquals(cpd, cpd.slice(1)) && !cpdEquals(cpd, [...cpd, ...cpd.slice(0, 1)])),
      { numRuns: 100 },
    );
  });
});
