import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { arbCpd } from '../../cpnp/cpd/arbitrary';
import type { Cpd, Cpp } from '../../cpnp/cpd/types';
import { readCpd } from '../../cpnp/cpd/validate';
import { SchemaReader } from '../../cpnp/schema-reader';
import { mergeOffers, planPartners, type PartnerPlan, type PlanResult } from '../partner-plan';
import { smallPolicy } from './fixtures';

const reader = new SchemaReader('json');
const valid = (cpd: Cpd): Cpd => readCpd(JSON.parse(JSON.stringify(cpd)) as unknown, 'cpd', reader);

function ok(result: PlanResult): PartnerPlan {
  assert.ok(result.ok, `refused: ${result.ok ? '' : result.reasons.join('; ')}`);
  return result;
}

/** A CPP spanning a local node (pe1), a partner node (pb) and a second local node (pe2). */
const spanning: Cpp = {
  component: 'vpn',
  nodes: [
    { id: 'a', link: 'pe1:x' },
    { id: 'b', link: 'pb:y' },
    { id: 'c', link: 'pe2:z' },
  ],
  scope: { reach: 'restricted', model: '1:N', outbound: ['b', '192.0.2.0/24'], inbound: ['a', 'c'] },
  qos: { kind: 'quantitative', delayMs: { max: 40, pref: 20 }, jitterMs: 8, lossPct: { min: 0.01, max: 0.2 }, between: ['a', 'b'] },
  availability: { percent: { min: 99.9, pref: 99.99 } },
  capacity: { inMbps: { min: 50, pref: 100 }, outMbps: 80, perLink: [{ link: 'pb:y', inMbps: 10 }, { link: 'pe1:x', outMbps: 20 }] },
  conformance: { policing: 'police', outOfProfile: 'drop' },
  routing: { via: ['r1'] },
};

describe('planPartners', () => {
  const policy = smallPolicy();

  it('keeps a request without partner links local and unchanged', () => {
    const cpd: Cpd = [{ nodes: [{ id: 'a', link: 'pe1:x' }] }, { nodes: [{ id: 'b', link: 'elsewhere' }] }];
    const withDefault = smallPolicy({ defaultPool: 'edge' });
    const plan = ok(planPartners(withDefault, { cpd }));
    assert.deepEqual(plan.local, cpd);
    assert.deepEqual(plan.partners, []);
    assert.deepEqual(plan.pieces, [[{ index: 0 }], [{ index: 1 }]]);
  });

  it('sends a CPP whose nodes are all on a partner to that partner whole', () => {
    const partnerCpp: Cpp = { nodes: [{ id: 'p', link: 'pb:1' }, { id: 'q', link: 'pb:2' }], availability: { percent: 99.9 } };
    const cpd: Cpd = [{ nodes: [{ id: 'a', link: 'pe1:x' }] }, partnerCpp];
    const plan = ok(planPartners(policy, { cpd }));
    assert.deepEqual(plan.local, [cpd[0]]);
    assert.deepEqual(plan.partners, [{ partnerId: 'pb', cpd: [partnerCpp] }]);
    assert.deepEqual(plan.pieces, [[{ index: 0 }], [{ partnerId: 'pb', index: 0 }]]);
  });

  it('cuts a CPP spanning local and partner links, sharing additive budgets', () => {
    const plan = ok(planPartners(policy, { cpd: [spanning] }));
    assert.deepEqual(plan.pieces, [[{ index: 0 }, { partnerId: 'pb', index: 0 }]]);
    const [local] = plan.local;
    const [remote] = plan.partners[0]?.cpd ?? [];
    assert.ok(local && remote);
    assert.deepEqual(local.nodes.map((n) => n.id), ['a', 'c']);
    assert.deepEqual(remote.nodes.map((n) => n.id), ['b']);
    // Node ids of the other piece leave scope lists; prefixes stay.
    assert.deepEqual(local.scope?.outbound, ['192.0.2.0/24']);
    assert.deepEqual(local.scope?.inbound, ['a', 'c']);
    assert.deepEqual(remote.scope?.outbound, ['b', '192.0.2.0/24']);
    assert.deepEqual(remote.scope?.inbound, []);
    // Two segments: half of every delay / jitter / loss figure; between dropped (it spans both).
    assert.deepEqual(local.qos, { kind: 'quantitative', delayMs: { max: 20, pref: 10 }, jitterMs: 4, lossPct: { min: 0.005, max: 0.1 } });
    // Availability: the square root, so that the product of both gives the request back.
    const percent = local.availability?.percent;
    assert.ok(typeof percent === 'object' && percent.min !== undefined && percent.pref !== undefined);
    assert.ok(Math.abs((percent.min / 100) ** 2 * 100 - 99.9) < 1e-9);
    assert.ok(Math.abs((percent.pref / 100) ** 2 * 100 - 99.99) < 1e-9);
    // Capacity is asked in full on both sides; per-link values go to their link's owner.
    assert.deepEqual(local.capacity, { inMbps: { min: 50, pref: 100 }, outMbps: 80, perLink: [{ link: 'pe1:x', outMbps: 20 }] });
    assert.deepEqual(remote.capacity, { inMbps: { min: 50, pref: 100 }, outMbps: 80, perLink: [{ link: 'pb:y', inMbps: 10 }] });
    // Everything else is copied; every piece is a valid CPD.
    assert.equal(remote.component, 'vpn');
    assert.deepEqual(remote.routing, { via: ['r1'] });
    valid(plan.local);
    valid(plan.partners[0]?.cpd ?? []);
  });

  it('never splits when options.scope is "local": partner links fail with 6', () => {
    const result = planPartners(policy, { cpd: [spanning], ies: { options: { scope: 'local' } } });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.statusCode, 6);
    assert.match(result.reasons.join('\n'), /link "pb:y" belongs to partner "pb", and options.scope "local" forbids child orders/);
    assert.match(result.reasons.join('\n'), /per-link capacity: link "pb:y"/);
    // The same request with scope "any" is split.
    assert.ok(planPartners(policy, { cpd: [spanning], ies: { options: { scope: 'any' } } }).ok);
  });

  it('fails with 6 for a link that no rule and no default pool covers', () => {
    const result = planPartners(policy, { cpd: [{ nodes: [{ id: 'a', link: 'mars:1' }] }] });
    assert.ok(!result.ok);
    assert.equal(result.statusCode, 6);
    assert.match(result.reasons[0] ?? '', /link "mars:1" is in no pool/);
  });
});

describe('mergeOffers', () => {
  const policy = smallPolicy();

  it('folds partner offers back in request order and merges cut CPPs', () => {
    const whole: Cpp = { nodes: [{ id: 'p', link: 'pb:1' }] };
    const plan = ok(planPartners(policy, { cpd: [whole, spanning, { nodes: [{ id: 'l', link: 'pe1:9' }] }] }));
    assert.deepEqual(plan.pieces, [[{ partnerId: 'pb', index: 0 }], [{ index: 0 }, { partnerId: 'pb', index: 1 }], [{ index: 1 }]]);
    const localOffer: Cpd = [
      {
        ...structuredClone(plan.local[0] as Cpp),
        qos: { kind: 'quantitative', delayMs: 10, jitterMs: 2, lossPct: 0.01 },
        availability: { percent: 99.99 },
        capacity: { inMbps: 100, outMbps: 80, perLink: [{ link: 'pe1:x', outMbps: 20 }] },
      },
      { nodes: [{ id: 'l', link: 'pe1:9' }] },
    ];
    const partnerOffer: Cpd = [
      { nodes: [{ id: 'p', link: 'pb:1' }], availability: { percent: 99.5 } },
      {
        ...structuredClone(plan.partners[0]?.cpd[1] as Cpp),
        qos: { kind: 'quantitative', delayMs: 8, jitterMs: 1.5, lossPct: 0.02 },
        availability: { percent: 99.995 },
        capacity: { inMbps: 60, outMbps: 80, perLink: [{ link: 'pb:y', inMbps: 10 }] },
      },
    ];
    const merged = mergeOffers(plan, localOffer, [{ partnerId: 'pb', cpd: partnerOffer }]);
    assert.equal(merged.length, 3);
    assert.deepEqual(merged[0], partnerOffer[0]);
    assert.deepEqual(merged[2], localOffer[1]);
    const cut = merged[1];
    assert.ok(cut);
    assert.deepEqual(cut.nodes.map((n) => n.id), ['a', 'b', 'c']);
    assert.equal(cut.component, 'vpn');
    assert.deepEqual(cut.scope?.outbound, ['b', '192.0.2.0/24']);
    assert.deepEqual(cut.scope?.inbound, ['a', 'c']);
    assert.deepEqual(cut.qos, { kind: 'quantitative', delayMs: 18, jitterMs: 3.5, lossPct: 0.03, between: ['a', 'b'] });
    // 0.9999 * 0.99995 = 0.9998500050, as a percentage rounded to 6 decimals.
    const availability = cut.availability?.percent;
    assert.ok(typeof availability === 'number' && Math.abs(availability - 99.98500050) <= 1e-6 && Number(availability.toFixed(6)) === availability);
    assert.deepEqual(cut.capacity, { inMbps: 60, outMbps: 80, perLink: [{ link: 'pb:y', inMbps: 10 }, { link: 'pe1:x', outMbps: 20 }] });
    valid(merged);
  });

  it('takes the weakest qualitative class of the pieces', () => {
    const cpp: Cpp = { nodes: [{ id: 'a', link: 'pe1:1' }, { id: 'b', link: 'pb:1' }], qos: { kind: 'qualitative', class: { oneOf: ['high', 'medium'] } } };
    const plan = ok(planPartners(policy, { cpd: [cpp] }));
    const local: Cpd = [{ ...structuredClone(plan.local[0] as Cpp), qos: { kind: 'qualitative', class: 'high' } }];
    const remote: Cpd = [{ ...structuredClone(plan.partners[0]?.cpd[0] as Cpp), qos: { kind: 'qualitative', class: 'medium' } }];
    assert.deepEqual(mergeOffers(plan, local, [{ partnerId: 'pb', cpd: remote }])[0]?.qos, { kind: 'qualitative', class: 'medium' });
  });

  it('throws when an offer is missing or short', () => {
    const plan = ok(planPartners(policy, { cpd: [spanning] }));
    assert.throws(() => mergeOffers(plan, plan.local, []), /no offer from partner "pb"/);
    assert.throws(() => mergeOffers(plan, plan.local, [{ partnerId: 'pb', cpd: [] }]), /has no CPP 0/);
    assert.throws(() => mergeOffers(plan, [], plan.partners), /the local offer has no CPP 0/);
  });

  it('property: pieces are valid, cover every node once, and merge back to the request nodes', () => {
    const links = ['pe1:a', 'pe2:b', 'pb:c', 'pb:d', 'pe1:e'];
    const arbRequest = arbCpd({ maxCpps: 3, maxNodes: 4 }).chain((cpd) =>
      fc.array(fc.constantFrom(...links), { minLength: 16, maxLength: 16 }).map((picks) => {
        let k = 0;
        for (const cpp of cpd) for (const node of cpp.nodes) node.link = picks[k++ % picks.length] ?? 'pe1:a';
        for (const cpp of cpd) for (const entry of cpp.capacity?.perLink ?? []) entry.link = picks[k++ % picks.length] ?? 'pe1:a';
        return cpd;
      }),
    );
    fc.assert(
      fc.property(arbRequest, (cpd) => {
        const plan = ok(planPartners(policy, { cpd }));
        valid(plan.local);
        for (const p of plan.partners) valid(p.cpd);
        cpd.forEach((cpp, i) => {
          const segments = plan.pieces[i] ?? [];
          const pieceNodes = segments.flatMap((s) => (s.partnerId === undefined ? plan.local[s.index] : plan.partners.find((p) => p.partnerId === s.partnerId)?.cpd[s.index])?.nodes ?? []);
          assert.deepEqual(pieceNodes.map((n) => n.id).sort(), cpp.nodes.map((n) => n.id).sort());
        });
        const merged = mergeOffers(plan, plan.local, plan.partners);
        assert.equal(merged.length, cpd.length);
        merged.forEach((cpp, i) => assert.deepEqual(cpp.nodes, cpd[i]?.nodes));
        valid(merged);
      }),
      { numRuns: 150 },
    );
  });
});
