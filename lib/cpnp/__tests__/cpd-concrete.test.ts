import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { arbCpd, arbCpp } from '../cpd/arbitrary';
import { isConcrete, looseValuePaths } from '../cpd/concrete';
import type { Cpd } from '../cpd/types';
import { readCpd } from '../cpd/validate';
import { SchemaReader } from '../schema-reader';
import { vectorSets } from './vectors';

const [repo] = vectorSets();
const vectorCpd = (name: string): Cpd => {
  const v = repo?.valid.find((x) => x.name === name);
  assert.ok(v, `vector ${name} not found`);
  return readCpd((v.json as { cpd: unknown }).cpd, 'cpd', new SchemaReader('json'));
};

const node = { id: 'a', link: 'l' };

describe('isConcrete / looseValuePaths (RFC 8921 8.7)', () => {
  it('the Requested CPD of the vectors is loose where it says so', () => {
    const requested = vectorCpd('quotation-loose-with-ies');
    assert.equal(isConcrete(requested), false);
    assert.deepStrictEqual(looseValuePaths(requested), [
      'cpd[0].qos.delayMs',
      'cpd[0].qos.jitterMs',
      'cpd[0].qos.lossPct',
      'cpd[0].availability.percent',
      'cpd[0].capacity.inMbps',
      'cpd[0].capacity.outMbps',
    ]);
  });

  it('the Offered, Accepted and smallest CPDs are concrete; so is the Empty CPD', () => {
    for (const name of ['offer-concrete', 'accept', 'ack-accepted-cpd', 'quotation-minimal', 'withdraw-empty-cpd']) {
      const cpd = vectorCpd(name);
      assert.equal(isConcrete(cpd), true, name);
      assert.deepStrictEqual(looseValuePaths(cpd), []);
    }
  });

  it('finds choice lists too, with the index of the CPP and a custom root', () => {
    const updated = vectorCpd('update-rich');
    assert.deepStrictEqual(looseValuePaths(updated), ['cpd[1].scope.reach', 'cpd[1].qos.class']);
    assert.deepStrictEqual(looseValuePaths(updated, 'offer'), ['offer[1].scope.reach', 'offer[1].qos.class']);
  });

  it('every negotiable field is looked at', () => {
    const loose = { min: 1 };
    const choice = <T extends string>(...oneOf: T[]): { oneOf: T[] } => ({ oneOf });
    const cpd: Cpd = [
      {
        nodes: [node],
        scope: { reach: choice('global', 'restricted'), model: choice('1:1', '1:N') },
        qos: { kind: 'quantitative', delayMs: loose, jitterMs: loose, lossPct: loose },
        availability: { percent: loose },
        capacity: { inMbps: loose, outMbps: loose, perLink: [{ link: 'x', inMbps: 1 }, { link: 'y', inMbps: loose, outMbps: loose }] },
        conformance: { policing: choice('police', 'shape'), outOfProfile: 'lower-effort' },
        overall: { delay: choice('low', 'high'), loss: choice('low', 'high'), throughput: choice('low', 'high') },
      },
      { nodes: [node], qos: { kind: 'qualitative', class: choice('low', 'medium') }, conformance: { policing: 'police', outOfProfile: choice('drop', 'lower-effort') } },
    ];
    assert.deepStrictEqual(looseValuePaths(cpd), [
      'cpd[0].scope.reach',
      'cpd[0].scope.model',
      'cpd[0].qos.delayMs',
      'cpd[0].qos.jitterMs',
      'cpd[0].qos.lossPct',
      'cpd[0].availability.percent',
      'cpd[0].capacity.inMbps',
      'cpd[0].capacity.outMbps',
      'cpd[0].capacity.perLink[1].inMbps',
      'cpd[0].capacity.perLink[1].outMbps',
      'cpd[0].conformance.policing',
      'cpd[0].overall.delay',
      'cpd[0].overall.loss',
      'cpd[0].overall.throughput',
      'cpd[1].qos.class',
      'cpd[1].conformance.outOfProfile',
    ]);
  });

  it('fixed values that look like ranges are not loose (ports, locations)', () => {
    const cpd: Cpd = [{ nodes: [{ ...node, location: { lat: 1, lon: 2 } }], flows: [{ dstPort: [1, 2] }] }];
    assert.equal(isConcrete(cpd), true);
  });

  it('matches the generator flag', () => {
    fc.assert(
      fc.property(arbCpd({ concrete: true }), (cpd) => isConcrete(cpd) && looseValuePaths(cpd).length === 0),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(arbCpd({ concrete: false }), (cpd) => !isConcrete(cpd) && looseValuePaths(cpd).length > 0),
      { numRuns: 200 },
    );
    fc.assert(fc.property(arbCpp({ concrete: false }), (cpp) => !isConcrete([cpp])), { numRuns: 100 });
  });

  it('every reported path names an object (a loose value) in the JSON form', () => {
    fc.assert(
      fc.property(arbCpd(), (cpd) => {
        const root: unknown = { cpd };
        for (const path of looseValuePaths(cpd)) {
          let at: unknown = root;
          for (const step of path.split(/\.|\[|\]\.?/).filter((s) => s !== '')) {
            at = (at as Record<string, unknown>)[step];
          }
          assert.equal(typeof at, 'object', path);
          assert.ok(at !== null && !Array.isArray(at), path);
        }
      }),
      { numRuns: 200 },
    );
  });
});
