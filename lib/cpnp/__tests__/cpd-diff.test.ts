import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { arbCpd } from '../cpd/arbitrary';
import { looseValuePaths } from '../cpd/concrete';
import { diffCpd, pairCpps, type CpdDiff, type DiffEntry } from '../cpd/diff';
import type { Cpd, Cpp } from '../cpd/types';
import { readCpd } from '../cpd/validate';
import { SchemaReader } from '../schema-reader';
import { vectorSets } from './vectors';

const json = new SchemaReader('json');
const [repo] = vectorSets();
const vectorCpd = (name: string): Cpd => {
  const v = repo?.valid.find((x) => x.name === name);
  assert.ok(v, `vector ${name} not found`);
  return readCpd((v.json as { cpd: unknown }).cpd, 'cpd', json);
};

function at(diff: CpdDiff, path: string): DiffEntry {
  const found = diff.entries.filter((e) => e.path === path);
  assert.equal(found.length, 1, `expected one entry at ${path}, got ${found.length}: ${diff.entries.map((e) => e.path).join(', ')}`);
  return found[0]!;
}

const node = { id: 'a', link: 'l' };
const one = (extra: Partial<Cpp>): Cpd => [{ nodes: [node], ...extra }];
/** The single entry of a comparison of one quantitative QoS delay. */
const delay = (requested: Cpp['qos'], offered: Cpp['qos']): DiffEntry => at(diffCpd(one({ qos: requested }), one({ qos: offered })), 'cpd[0].qos.delayMs');
const q = (delayMs: number | { min?: number; max?: number; pref?: number }): Cpp['qos'] => ({ kind: 'quantitative', delayMs });

describe('diffCpd: the worked example of the vectors (QUOTATION vs OFFER)', () => {
  const diff = diffCpd(vectorCpd('quotation-loose-with-ies'), vectorCpd('offer-concrete'));

  it('capacity narrows: asked pref 100 (min 80), offered 80', () => {
    for (const dir of ['inMbps', 'outMbps']) {
      const e = at(diff, `cpd[0].capacity.${dir}`);
      assert.equal(e.verdict, 'narrows');
      assert.equal(e.clause, 'RFC 7297 3.5 Capacity');
      assert.deepStrictEqual(e.requested, { min: 80, pref: 100 });
      assert.equal(e.offered, 80);
      assert.equal(e.gap, -20);
    }
  });

  it('delay, jitter and loss meet: inside their maximum, no preference given', () => {
    for (const [key, offered] of [
      ['delayMs', 25],
      ['jitterMs', 4],
      ['lossPct', 0.05],
    ] as const) {
      const e = at(diff, `cpd[0].qos.${key}`);
      assert.equal(e.verdict, 'meets', key);
      assert.equal(e.offered, offered);
      assert.equal(e.gap, undefined);
      assert.equal(e.clause, 'RFC 7297 3.3 QoS Guarantees');
    }
  });

  it('availability narrows: 99.95 is above min 99.9 but not the preferred 99.99', () => {
    const e = at(diff, 'cpd[0].availability.percent');
    assert.equal(e.verdict, 'narrows');
    assert.ok(Math.abs((e.gap ?? 0) + 0.04) < 1e-9, String(e.gap));
    assert.match(e.note, /99\.99/);
  });

  it('nodes, scope, the rest of QoS and conformance are equal: meets', () => {
    for (const path of [
      'cpd[0].nodes["ce-a"].id',
      'cpd[0].nodes["ce-a"].link',
      'cpd[0].nodes["ce-a"].location',
      'cpd[0].nodes["ce-b"].location',
      'cpd[0].scope.reach',
      'cpd[0].scope.model',
      'cpd[0].scope.outbound',
      'cpd[0].scope.inbound',
      'cpd[0].qos.kind',
      'cpd[0].qos.statistic',
      'cpd[0].conformance.policing',
      'cpd[0].conformance.outOfProfile',
    ]) {
      assert.equal(at(diff, path).verdict, 'meets', path);
    }
    assert.equal(at(diff, 'cpd[0].nodes["ce-b"].link').clause, 'RFC 7297 3.1 Customer Nodes Map');
  });

  it('summary: 17 meets, 3 narrows, nothing missed or extra; overall narrows', () => {
    assert.deepStrictEqual(diff.summary, { meets: 17, narrows: 3, misses: 0, extra: 0, overall: 'narrows' });
    assert.equal(diff.entries.length, 20);
    assert.deepStrictEqual(diff.pairs, [{ requested: 0, offered: 0 }]);
  });

  it('the other way round, the loose values of a request offered against a fixed one miss', () => {
    const back = diffCpd(vectorCpd('offer-concrete'), vectorCpd('quotation-loose-with-ies'));
    assert.equal(at(back, 'cpd[0].capacity.inMbps').verdict, 'misses');
    assert.equal(back.summary.overall, 'misses');
  });
});

describe('diffCpd: numbers (Num)', () => {
  const cases: [string, Cpp['qos'], Cpp['qos'], DiffEntry['verdict'], number | undefined][] = [
    ['fixed = fixed', q(10), q(10), 'meets', 0],
    ['fixed != fixed', q(10), q(12), 'misses', 2],
    ['loose max, offered inside', q({ max: 30 }), q(25), 'meets', undefined],
    ['loose max, offered at the bound', q({ max: 30 }), q(30), 'meets', undefined],
    ['loose max, offered above', q({ max: 30 }), q(35), 'misses', 5],
    ['loose min, offered below', q({ min: 80 }), q(70), 'misses', -10],
    ['loose with pref, offered the pref', q({ min: 10, max: 30, pref: 20 }), q(20), 'meets', 0],
    ['loose with pref, offered below the pref', q({ min: 10, max: 30, pref: 20 }), q(15), 'narrows', -5],
    ['loose with pref, offered above the pref', q({ min: 10, pref: 20 }), q(40), 'narrows', 20],
    ['loose with pref, offered below the min', q({ min: 10, pref: 20 }), q(5), 'misses', -5],
    ['loose = loose', q({ min: 10, max: 30, pref: 20 }), q({ min: 10, max: 30, pref: 20 }), 'meets', 0],
    ['loose = loose without pref', q({ max: 30 }), q({ max: 30 }), 'meets', undefined],
    ['loose strictly inside loose', q({ min: 10, max: 30, pref: 20 }), q({ min: 15, max: 25, pref: 18 }), 'narrows', -2],
    ['loose inside an open range', q({ max: 30 }), q({ min: 0, max: 20 }), 'narrows', undefined],
    ['same range, other pref', q({ min: 10, max: 30, pref: 20 }), q({ min: 10, max: 30, pref: 25 }), 'narrows', 5],
    ['loose going above', q({ min: 10, max: 30 }), q({ min: 20, max: 40 }), 'misses', 10],
    ['loose going below', q({ min: 10, max: 30 }), q({ min: 5, max: 20 }), 'misses', -5],
    ['loose unbounded where the request is bounded', q({ max: 30 }), q({ min: 10 }), 'misses', undefined],
    ['fixed asked, loose offered', q(10), q({ min: 5, max: 15, pref: 12 }), 'misses', 2],
    ['fixed asked, loose offered pinning it', q(10), q({ min: 10, max: 10 }), 'meets', 0],
  ];
  for (const [name, requested, offered, verdict, gap] of cases) {
    it(`${name}: ${verdict}`, () => {
      const e = delay(requested, offered);
      assert.equal(e.verdict, verdict, e.note);
      assert.equal(e.gap, gap);
      assert.ok(e.note.length > 0);
    });
  }
});

describe('diffCpd: choices (Enum)', () => {
  const reach = (requested: string | { oneOf: string[] }, offered: string | { oneOf: string[] }): DiffEntry => {
    const scope = (r: typeof requested): Cpp['scope'] => ({ reach: r as 'global', model: '1:1' });
    return at(diffCpd(one({ scope: scope(requested) }), one({ scope: scope(offered) })), 'cpd[0].scope.reach');
  };
  const both = { oneOf: ['global', 'restricted'] };
  it('same fixed choice meets; another fixed choice misses', () => {
    assert.equal(reach('global', 'global').verdict, 'meets');
    assert.equal(reach('global', 'restricted').verdict, 'misses');
  });
  it('a fixed offer among the requested choices meets (choices have no preference order)', () => {
    assert.equal(reach(both, 'restricted').verdict, 'meets');
    assert.equal(reach({ oneOf: ['global', 'restricted'] }, 'global').verdict, 'meets');
  });
  it('a fixed offer outside the requested choices misses', () => {
    const model = (r: Cpp['scope'], o: Cpp['scope']): DiffEntry => at(diffCpd(one({ scope: r }), one({ scope: o })), 'cpd[0].scope.model');
    assert.equal(model({ reach: 'global', model: { oneOf: ['1:1', '1:N'] } }, { reach: 'global', model: '1:any' }).verdict, 'misses');
  });
  it('loose offers: same set meets, a subset narrows, anything else misses', () => {
    const model = (r: string[], o: string[] | string): DiffEntry =>
      at(
        diffCpd(one({ scope: { reach: 'global', model: { oneOf: r as '1:1'[] } } }), one({ scope: { reach: 'global', model: Array.isArray(o) ? { oneOf: o as '1:1'[] } : (o as '1:1') } })),
        'cpd[0].scope.model',
      );
    assert.equal(model(['1:1', '1:N', '1:any'], ['1:any', '1:N', '1:1']).verdict, 'meets');
    assert.equal(model(['1:1', '1:N', '1:any'], ['1:N', '1:1']).verdict, 'narrows');
    assert.equal(model(['1:1', '1:N'], ['1:N', '1:any']).verdict, 'misses');
    assert.equal(reach('global', both).verdict, 'misses');
  });
});

describe('diffCpd: structure', () => {
  it('clauses and fields on one side only are misses or extra, as a whole', () => {
    const requested = one({ availability: { percent: 99.9 }, routing: { avoid: ['sat'] } });
    const offered = one({ availability: { percent: 99.9, statistic: 'avg' }, isolation: { required: true, security: ['ipsec'] } });
    const diff = diffCpd(requested, offered);
    const routing = at(diff, 'cpd[0].routing');
    assert.equal(routing.verdict, 'misses');
    assert.deepStrictEqual(routing.requested, { avoid: ['sat'] });
    assert.equal('offered' in routing, false);
    assert.equal(routing.clause, 'RFC 7297 3.10 Routing and Forwarding');
    const isolation = at(diff, 'cpd[0].isolation');
    assert.equal(isolation.verdict, 'extra');
    assert.equal('requested' in isolation, false);
    assert.equal(at(diff, 'cpd[0].availability.statistic').verdict, 'extra');
    assert.equal(at(diff, 'cpd[0].availability.percent').verdict, 'meets');
    assert.deepStrictEqual(diff.summary, { meets: 3, narrows: 0, misses: 1, extra: 2, overall: 'misses' });
  });

  it('extra entries alone keep the overall verdict at meets', () => {
    const diff = diffCpd(one({}), one({ activation: ['bgp'] }));
    assert.deepStrictEqual(diff.summary, { meets: 2, narrows: 0, misses: 0, extra: 1, overall: 'meets' });
  });

  it('nodes pair by id whatever their order; missing and extra nodes are reported', () => {
    const a = { id: 'a', link: 'l1' };
    const b = { id: 'b', link: 'l2', site: 's' };
    const c = { id: 'c', link: 'l3' };
    const diff = diffCpd([{ nodes: [a, b] }], [{ nodes: [c, { ...b, site: 't' }] }]);
    assert.equal(at(diff, 'cpd[0].nodes["b"].link').verdict, 'meets');
    assert.equal(at(diff, 'cpd[0].nodes["b"].site').verdict, 'misses');
    assert.equal(at(diff, 'cpd[0].nodes["a"]').verdict, 'misses');
    assert.equal(at(diff, 'cpd[0].nodes["c"]').verdict, 'extra');
  });

  it('perLink capacities pair by link; flows and notifications by position', () => {
    const conformance = { policing: 'police', outOfProfile: 'drop' } as const;
    const requested = one({
      capacity: { perLink: [{ link: 'x', inMbps: { min: 10 } }, { link: 'y', inMbps: 5 }] },
      conformance,
      flows: [{ dscp: 46 }],
      notifications: [{ channel: 'email' }],
    });
    const offered = one({
      capacity: { perLink: [{ link: 'y', inMbps: 5 }, { link: 'x', inMbps: 8 }] },
      conformance,
      flows: [{ dscp: 46 }, { dscp: 0 }],
      notifications: [],
    });
    const diff = diffCpd(requested, offered);
    const x = at(diff, 'cpd[0].capacity.perLink["x"].inMbps');
    assert.equal(x.verdict, 'misses');
    assert.equal(x.gap, -2);
    assert.equal(at(diff, 'cpd[0].capacity.perLink["y"].inMbps').verdict, 'meets');
    assert.equal(at(diff, 'cpd[0].flows[0].dscp').verdict, 'meets');
    assert.equal(at(diff, 'cpd[0].flows[1]').verdict, 'extra');
    assert.equal(at(diff, 'cpd[0].notifications[0]').verdict, 'misses');
  });

  it('lists of labels compare as sets; a different list says what is missing', () => {
    const scope = (families: ('ipv4' | 'ipv6')[], outbound: string[]): Cpp['scope'] => ({ reach: 'global', model: '1:N', families, outbound });
    const diff = diffCpd(one({ scope: scope(['ipv4', 'ipv6'], ['a', '192.0.2.0/24']) }), one({ scope: scope(['ipv6', 'ipv4'], ['a']) }));
    assert.equal(at(diff, 'cpd[0].scope.families').verdict, 'meets');
    const outbound = at(diff, 'cpd[0].scope.outbound');
    assert.equal(outbound.verdict, 'misses');
    assert.match(outbound.note, /192\.0\.2\.0\/24/);
  });

  it('fixed values: ports, mtu (with a gap), booleans, locations', () => {
    const diff = diffCpd(
      one({ conformance: { policing: 'police', outOfProfile: 'drop', mtu: 9000 }, flows: [{ dstPort: [5060, 5061] }], isolation: { required: true } }),
      one({ conformance: { policing: 'police', outOfProfile: 'drop', mtu: 1500 }, flows: [{ dstPort: [5060, 5061] }], isolation: { required: false } }),
    );
    assert.equal(at(diff, 'cpd[0].conformance.mtu').gap, -7500);
    assert.equal(at(diff, 'cpd[0].flows[0].dstPort').verdict, 'meets');
    assert.equal(at(diff, 'cpd[0].isolation.required').verdict, 'misses');
    const geo = diffCpd([{ nodes: [{ ...node, location: { lat: 1, lon: 2 } }] }], [{ nodes: [{ ...node, location: { lon: 2, lat: 1 } }] }]);
    assert.equal(at(geo, 'cpd[0].nodes["a"].location').verdict, 'meets');
  });

  it('a change of QoS kind misses the kind and the class, and shows the new fields as extra', () => {
    const diff = diffCpd(one({ qos: { kind: 'qualitative', class: 'high' } }), one({ qos: { kind: 'quantitative', delayMs: 20 } }));
    assert.equal(at(diff, 'cpd[0].qos.kind').verdict, 'misses');
    assert.equal(at(diff, 'cpd[0].qos.class').verdict, 'misses');
    assert.equal(at(diff, 'cpd[0].qos.delayMs').verdict, 'extra');
  });
});

describe('diffCpd: pairing of CPPs', () => {
  const voice: Cpp = { component: 'voice', nodes: [{ id: 'v', link: 'l' }] };
  const video: Cpp = { component: 'video', nodes: [{ id: 'w', link: 'l' }] };
  const plain1: Cpp = { nodes: [{ id: 'p', link: 'l' }] };
  const plain2: Cpp = { nodes: [{ id: 'q', link: 'l' }] };

  it('by component label, else in order among the unlabelled CPPs', () => {
    assert.deepStrictEqual(pairCpps([voice, plain1, video, plain2], [plain1, video, plain2, voice]), [
      { requested: 0, offered: 3, component: 'voice' },
      { requested: 1, offered: 0 },
      { requested: 2, offered: 1, component: 'video' },
      { requested: 3, offered: 2 },
    ]);
    const diff = diffCpd([voice, plain1, video, plain2], [plain1, video, plain2, voice]);
    assert.equal(diff.summary.overall, 'meets');
    const e = at(diff, 'cpd[0].nodes["v"].link');
    assert.equal(e.offeredPath, 'cpd[3].nodes["v"].link');
    assert.equal(at(diff, 'cpd[0].component').verdict, 'meets');
    assert.equal(at(diff, 'cpd[1].nodes["p"].id').offeredPath, 'cpd[0].nodes["p"].id');
  });

  it('a requested CPP with no counterpart misses; an offered one nobody asked for is extra', () => {
    const diff = diffCpd([voice, plain1], [plain1, video]);
    assert.deepStrictEqual(diff.pairs, [{ requested: 0, component: 'voice' }, { requested: 1, offered: 0 }, { offered: 1, component: 'video' }]);
    const missing = at(diff, 'cpd[0]');
    assert.equal(missing.verdict, 'misses');
    assert.deepStrictEqual(missing.requested, voice);
    assert.equal(missing.clause, 'RFC 7297 4 CPP');
    const extra = at(diff, 'cpd[1]');
    assert.equal(extra.verdict, 'extra');
    assert.deepStrictEqual(extra.offered, video);
    assert.equal(diff.summary.overall, 'misses');
  });

  it('empty CPDs: nothing to compare, overall meets; everything missed against an Empty CPD', () => {
    assert.deepStrictEqual(diffCpd([], []).summary, { meets: 0, narrows: 0, misses: 0, extra: 0, overall: 'meets' });
    assert.deepStrictEqual(diffCpd([plain1, plain2], []).summary, { meets: 0, narrows: 0, misses: 2, extra: 0, overall: 'misses' });
  });
});

/** The request made concrete at its preferences: pref, else a bound; the first listed choice. */
function concreteAtPreference(cpd: Cpd): Cpd {
  const copy = JSON.parse(JSON.stringify(cpd)) as Cpd;
  for (const path of looseValuePaths(copy)) {
    const steps = path.split(/\.|\[|\]\.?/).filter((s) => s !== '');
    const last = steps.pop();
    let parent: unknown = { cpd: copy };
    for (const step of steps) parent = (parent as Record<string, unknown>)[step];
    const holder = parent as Record<string, unknown>;
    assert.ok(last !== undefined);
    const loose = holder[last] as { min?: number; max?: number; pref?: number; oneOf?: string[] };
    holder[last] = loose.oneOf ? loose.oneOf[0] : (loose.pref ?? loose.min ?? loose.max);
  }
  return copy;
}

describe('diffCpd: properties', () => {
  it('diffCpd(x, x) is all meets', () => {
    fc.assert(
      fc.property(arbCpd(), (cpd) => {
        const diff = diffCpd(cpd, cpd);
        for (const e of diff.entries) assert.equal(e.verdict, 'meets', `${e.path}: ${e.note}`);
        assert.equal(diff.summary.overall, 'meets');
        assert.equal(diff.summary.meets, diff.entries.length);
        // Every CPP shows at least its nodes.
        assert.ok(diff.entries.length >= cpd.length * 2);
      }),
      { numRuns: 200 },
    );
  });

  it('an offer made at the preferences of the request meets it everywhere', () => {
    fc.assert(
      fc.property(arbCpd({ concrete: false }), (requested) => {
        const offered = concreteAtPreference(requested);
        const diff = diffCpd(requested, offered);
        for (const e of diff.entries) assert.equal(e.verdict, 'meets', `${e.path}: ${e.note}`);
        // The other way round, a loose value offered against a fixed one is never "narrows".
        assert.equal(diffCpd(offered, requested).summary.narrows, 0);
      }),
      { numRuns: 200 },
    );
  });

  it('verdict counts add up and every entry names its clause', () => {
    fc.assert(
      fc.property(arbCpd(), arbCpd(), (requested, offered) => {
        const diff = diffCpd(requested, offered);
        const { meets, narrows, misses, extra } = diff.summary;
        assert.equal(meets + narrows + misses + extra, diff.entries.length);
        for (const e of diff.entries) {
          assert.match(e.clause, /^RFC 7297 /);
          assert.ok(e.requested !== undefined || e.offered !== undefined);
          if (e.verdict === 'extra') assert.equal(e.requested, undefined);
          if (e.gap !== undefined) assert.ok(Number.isFinite(e.gap));
        }
        JSON.stringify(diff);
      }),
      { numRuns: 200 },
    );
  });
});
