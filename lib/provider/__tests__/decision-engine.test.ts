import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../../cpnp/clock';
import { arbCpd } from '../../cpnp/cpd/arbitrary';
import { isConcrete } from '../../cpnp/cpd/concrete';
import { diffCpd } from '../../cpnp/cpd/diff';
import type { Cpd, Cpp } from '../../cpnp/cpd/types';
import { readCpd } from '../../cpnp/cpd/validate';
import { asDateTime, millisToDateTime } from '../../cpnp/date-time';
import type { Decision, DecisionRequest } from '../../cpnp/engine/decider';
import type { InformationElements } from '../../cpnp/information-elements';
import { SchemaReader } from '../../cpnp/schema-reader';
import { CapacityLedger } from '../capacity-ledger';
import { createDecisionEngine, type DecisionEngine, type DecisionLogEntry } from '../decision-engine';
import type { Policy } from '../policy';
import { cppOn, examplePolicy, smallPolicy, vector } from './fixtures';

const START = Date.parse('2026-01-01T00:00:00Z');
const reader = new SchemaReader('json');

function setup(policy: Policy = smallPolicy(), ledger?: CapacityLedger): { engine: DecisionEngine; clock: SimulatedClock; logs: DecisionLogEntry[] } {
  const clock = new SimulatedClock(START);
  const logs: DecisionLogEntry[] = [];
  const engine = createDecisionEngine(policy, { clock, log: (e) => logs.push(e), ...(ledger ? { ledger } : {}) });
  return { engine, clock, logs };
}

let counter = 0;
function request(cpd: Cpd, extra: Partial<DecisionRequest> = {}): DecisionRequest {
  counter += 1;
  return { orderId: `P-${counter}`, customerOrderId: `C-${counter}`, cycle: 'quotation', cpd, ...extra };
}

const options = (o: NonNullable<InformationElements['options']>): { ies: InformationElements } => ({ ies: { options: o } });

/** An offer must be valid, concrete and never outside what was asked (no "misses"). */
function offered(decision: Decision, asked: Cpd): Cpd {
  assert.equal(decision.kind, 'offer', `expected an offer, got ${JSON.stringify(decision)}`);
  assert.ok(decision.kind === 'offer');
  const cpd = readCpd(JSON.parse(JSON.stringify(decision.cpd)) as unknown, 'cpd', reader);
  assert.ok(isConcrete(cpd), 'the offer is concrete');
  const misses = diffCpd(asked, cpd).entries.filter((e) => e.verdict === 'misses');
  assert.deepEqual(misses, [], 'the offer stays within the request');
  return cpd;
}

function failed(decision: Decision, code: number): void {
  assert.deepEqual(decision, { kind: 'fail', statusCode: code });
}

describe('decision engine: FAIL codes', () => {
  it('4: a customer not allowed, by identity', () => {
    const { engine } = setup();
    const req = request([cppOn('pe1:a', 10)], { identity: 'banned' });
    failed(engine.decide(req), 4);
    const record = engine.explain(req.orderId)?.decisions.at(-1);
    assert.equal(record?.statusCode, 4);
    assert.match(record?.reasons.join() ?? '', /customer "banned" \(profile banned\) is not allowed/);
    assert.equal(engine.explain(req.orderId)?.status, 'ended');
  });

  it('4: an unknown or anonymous customer when the default customer is not allowed', () => {
    const { engine } = setup(smallPolicy({ defaultCustomer: { allowed: false } }));
    failed(engine.decide(request([cppOn('pe1:a', 10)])), 4);
    failed(engine.decide(request([cppOn('pe1:a', 10)], { identity: 'stranger' })), 4);
    offered(engine.decide(request([cppOn('pe1:a', 10)], { identity: 'acme' })), [cppOn('pe1:a', 10)]);
  });

  it('4: a purpose the provider does not offer, or prohibited for the customer', () => {
    const noTests = setup(smallPolicy({ purposes: ['production'], maxTestDuration: undefined })).engine;
    failed(noTests.decide(request([cppOn('pe1:a', 10)], options({ purpose: 'test' }))), 4);
    offered(noTests.decide(request([cppOn('pe1:a', 10)], options({ purpose: 'production' }))), [cppOn('pe1:a', 10)]);
    const { engine } = setup();
    // "lab" may not order production services; no purpose means production.
    failed(engine.decide(request([cppOn('pe1:a', 10)], { identity: 'lab' })), 4);
    offered(engine.decide(request([cppOn('pe1:a', 10)], { identity: 'lab', ...options({ purpose: 'test' }) })), [cppOn('pe1:a', 10)]);
  });

  it('4: a test period longer than allowed, or already over', () => {
    const { engine } = setup();
    const day = 86_400_000;
    const until = (ms: number) => options({ purpose: 'test', testUntil: millisToDateTime(START + ms) });
    failed(engine.decide(request([cppOn('pe1:a', 1)], until(31 * day))), 4);
    failed(engine.decide(request([cppOn('pe1:a', 1)], until(-1000))), 4);
    offered(engine.decide(request([cppOn('pe1:a', 1)], until(30 * day))), [cppOn('pe1:a', 1)]);
  });

  it('4: a customer holding maxOrders orders; ended orders do not count', () => {
    const { engine } = setup();
    const a = request([cppOn('pe1:a', 1)], { identity: 'acme' });
    const b = request([cppOn('pe1:a', 1)], { identity: 'acme' });
    offered(engine.decide(a), a.cpd);
    offered(engine.decide(b), b.cpd);
    const c = request([cppOn('pe1:a', 1)], { identity: 'acme' });
    failed(engine.decide(c), 4);
    assert.match(engine.explain(c.orderId)?.decisions[0]?.reasons[0] ?? '', /already holds 2 orders \(at most 2\)/);
    // Other customers are not affected; once an order ends, acme may order again.
    offered(engine.decide(request([cppOn('pe1:a', 1)])), [cppOn('pe1:a', 1)]);
    engine.releaseResources?.(a.orderId, 'negotiation');
    offered(engine.decide(request([cppOn('pe1:a', 1)], { identity: 'acme' })), [cppOn('pe1:a', 1)]);
  });

  it('8: an activation type the provider does not support (absent = immediate, always fine)', () => {
    const { engine } = setup();
    failed(engine.decide(request([cppOn('pe1:a', 1)], options({ activationType: 'permanent' }))), 8);
    assert.ok(engine.explain(`P-${counter}`)?.decisions[0]?.reasons[0]?.includes('"permanent" is not supported'));
    offered(engine.decide(request([cppOn('pe1:a', 1)], options({ activationType: 'scheduled' }))), [cppOn('pe1:a', 1)]);
    offered(engine.decide(request([cppOn('pe1:a', 1)])), [cppOn('pe1:a', 1)]);
    // The customer check comes first.
    failed(engine.decide(request([cppOn('pe1:a', 1)], { identity: 'banned', ...options({ activationType: 'permanent' }) })), 4);
  });

  it('6: a link in no pool (no default pool), every such link named', () => {
    const { engine } = setup();
    const req = request([{ nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'mars:1' }, { id: 'c', link: 'venus:2' }] }]);
    failed(engine.decide(req), 6);
    const reasons = engine.explain(req.orderId)?.decisions[0]?.reasons ?? [];
    assert.equal(reasons.length, 2);
    assert.match(reasons.join('\n'), /"mars:1"[\s\S]*"venus:2"/);
    // With a default pool the same request gets an offer.
    const withDefault = setup(smallPolicy({ defaultPool: 'edge' })).engine;
    offered(withDefault.decide(request(req.cpd)), req.cpd);
  });

  it('6: a routing region where the provider has no presence', () => {
    const { engine } = setup();
    failed(engine.decide(request([cppOn('pe1:a', 1, { routing: { regions: ['west', 'east'] } })])), 6);
    assert.match(engine.explain(`P-${counter}`)?.decisions[0]?.reasons[0] ?? '', /no network presence in "east"/);
    offered(engine.decide(request([cppOn('pe1:a', 1, { routing: { regions: ['west'] } })])), [cppOn('pe1:a', 1, { routing: { regions: ['west'] } })]);
    // A partner's region counts only when the order goes to that partner.
    failed(engine.decide(request([cppOn('pe1:a', 1, { routing: { regions: ['north'] } })])), 6);
    const cascaded = engine.decide(request([{ nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pb:1' }], routing: { regions: ['north'] } }]));
    assert.deepEqual(cascaded, { kind: 'pending', processingSubcode: 2 });
  });

  it('6: a partner link when options.scope is "local" (no recursion, RFC 8921 8.8)', () => {
    const { engine } = setup();
    const cpd: Cpd = [{ nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pb:1' }] }];
    failed(engine.decide(request(cpd, options({ scope: 'local' }))), 6);
    assert.deepEqual(engine.decide(request(cpd, options({ scope: 'any' }))), { kind: 'pending', processingSubcode: 2 });
  });

  it('5: a fixed capacity that does not fit', () => {
    const { engine } = setup();
    const req = request([cppOn('pe1:a', 120)]);
    failed(engine.decide(req), 5);
    const reasons = engine.explain(req.orderId)?.decisions[0]?.reasons.join('\n') ?? '';
    assert.match(reasons, /cpd\[0\]\.capacity\.inMbps: 120 Mbit\/s asked/);
    assert.match(reasons, /pool "core" \(in\) lacks 20 Mbit\/s/);
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 100, outMbps: 100 }, 'nothing held');
  });

  it('5: QoS bounds no class achieves, a missing qualitative level, availability above every level', () => {
    const { engine } = setup();
    failed(engine.decide(request([cppOn('pe1:a', 1, { qos: { kind: 'quantitative', delayMs: { max: 5 } } })])), 5);
    failed(engine.decide(request([cppOn('pe1:a', 1, { qos: { kind: 'quantitative', delayMs: 30, lossPct: 0.001 } })])), 5);
    failed(engine.decide(request([cppOn('pe1:a', 1, { qos: { kind: 'qualitative', class: 'low' } })])), 5);
    failed(engine.decide(request([cppOn('pe1:a', 1, { availability: { percent: 99.999 } })])), 5);
    failed(engine.decide(request([cppOn('pe1:a', 1, { availability: { percent: { min: 99.995 } } })])), 5);
    const reasons = engine.explain(`P-${counter}`)?.decisions[0]?.reasons[0] ?? '';
    assert.match(reasons, /availability\.percent: .*at most 99\.99 offered/);
  });
});

describe('decision engine: offers and counterproposals', () => {
  it('"100 asked, 80 available": min 80 gets 80, min 90 gets FAIL 5', () => {
    const { engine } = setup();
    offered(engine.decide(request([cppOn('pe1:a', 20)])), [cppOn('pe1:a', 20)]);
    const ask80 = [cppOn('pe1:a', { min: 80, pref: 100 })];
    const ask90 = [cppOn('pe1:a', { min: 90, pref: 100 })];
    const probe = setup();
    probe.engine.decide(request([cppOn('pe1:a', 20)]));
    failed(probe.engine.decide(request(ask90)), 5);
    const req = request(ask80);
    const cpd = offered(engine.decide(req), ask80);
    assert.deepEqual(cpd[0]?.capacity, { inMbps: 80, outMbps: 80 });
    const record = engine.explain(req.orderId)?.decisions[0];
    assert.match(record?.notes.join('\n') ?? '', /capacity\.inMbps: 100 Mbit\/s aimed at, 80 available/);
    assert.deepEqual(record?.pools, [{ pool: 'core', capacity: { inMbps: 100, outMbps: 100 }, availableBefore: { inMbps: 80, outMbps: 80 }, needed: { inMbps: 80, outMbps: 80 } }]);
    assert.deepEqual(diffCpd(ask80, cpd).summary.overall, 'narrows');
  });

  it('offers exactly what is asked when it fits, loose values at their preference', () => {
    const { engine } = setup();
    const asked: Cpd = [
      {
        nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pe2:b' }],
        scope: { reach: { oneOf: ['restricted', 'global'] }, model: '1:1' },
        qos: { kind: 'quantitative', delayMs: { max: 30, pref: 20 }, jitterMs: { min: 3, max: 5 }, lossPct: 0.1, statistic: 'p95' },
        availability: { percent: { min: 99.9, pref: 99.95 } },
        capacity: { inMbps: { min: 10, pref: 40 }, outMbps: { max: 25 } },
        conformance: { policing: { oneOf: ['shape', 'police'] }, outOfProfile: 'drop', mtu: 1500 },
        flows: [{ dscp: 46 }],
      },
    ];
    const req = request(asked);
    const cpd = offered(engine.decide(req), asked);
    assert.deepEqual(cpd[0]?.scope, { reach: 'restricted', model: '1:1' });
    // Gold (10 ms, 2 ms, 0.01 %) meets every bound: the preference 20 is offered, jitter is
    // raised to the requested minimum, the fixed loss stays as asked.
    assert.deepEqual(cpd[0]?.qos, { kind: 'quantitative', delayMs: 20, jitterMs: 3, lossPct: 0.1, statistic: 'p95' });
    assert.deepEqual(cpd[0]?.availability, { percent: 99.95 });
    assert.deepEqual(cpd[0]?.capacity, { inMbps: 40, outMbps: 25 });
    assert.deepEqual(cpd[0]?.conformance, { policing: 'shape', outOfProfile: 'drop', mtu: 1500 });
    assert.deepEqual(cpd[0]?.flows, [{ dscp: 46 }]);
    assert.equal(diffCpd(asked, cpd).summary.overall, 'meets');
    const record = engine.explain(req.orderId)?.decisions[0];
    assert.equal(record?.cpps[0]?.qosClass, 'gold');
    assert.equal(record?.cpps[0]?.availabilityLevel, 99.99);
    // Two attachments, pools core and edge, one each.
    assert.deepEqual(record?.pools.map((p) => [p.pool, p.needed]), [
      ['core', { inMbps: 40, outMbps: 25 }],
      ['edge', { inMbps: 40, outMbps: 25 }],
    ]);
    // Price: (10 + 2 * (40 + 40)) * (1 + (20 + 50) / 100) = 170 * 1.7 = 289.
    assert.deepEqual(record?.price, {
      currency: 'EUR',
      monthly: 289,
      lines: [{ cpp: 0, billableMbps: 80, base: 170, availabilityLevel: 99.99, availabilityPremiumPct: 20, qosClass: 'gold', qosPremiumPct: 50, monthly: 289 }],
    });
  });

  it('picks the best class meeting every bound, preferring one that meets the preferences', () => {
    // "fast" is first (best) but jittery; "steady" is slower with little jitter.
    const { engine } = setup(
      smallPolicy({
        qosClasses: [
          { name: 'fast', delayMs: 5, jitterMs: 5, lossPct: 0.1, qualitative: 'high' },
          { name: 'steady', delayMs: 10, jitterMs: 1, lossPct: 0.01, qualitative: 'medium' },
          { name: 'basic', delayMs: 50, jitterMs: 10, lossPct: 1, qualitative: 'low' },
        ],
        pricing: { currency: 'EUR', perMbpsMonth: 1 },
      }),
    );
    const qos = (q: Cpp['qos']): Cpp => cppOn('pe1:a', 1, { qos: q });
    const classOf = (cpp: Cpp): string | undefined => {
      const req = request([cpp]);
      offered(engine.decide(req), [cpp]);
      return engine.explain(req.orderId)?.decisions[0]?.cpps[0]?.qosClass;
    };
    assert.equal(classOf(qos({ kind: 'quantitative', jitterMs: { max: 6 } })), 'fast');
    assert.equal(classOf(qos({ kind: 'quantitative', jitterMs: { max: 6, pref: 2 } })), 'steady');
    assert.equal(classOf(qos({ kind: 'quantitative', jitterMs: { max: 6, pref: 0.5 } })), 'fast', 'no class meets the preference: the best within bounds');
    assert.equal(classOf(qos({ kind: 'quantitative', delayMs: { max: 60 }, jitterMs: 3 })), 'steady');
    assert.equal(classOf(qos({ kind: 'quantitative', delayMs: 70, lossPct: { max: 2 } })), 'fast');
    assert.equal(classOf(qos({ kind: 'qualitative', class: { oneOf: ['low', 'medium'] } })), 'steady');
    assert.equal(classOf(qos({ kind: 'qualitative', class: { oneOf: ['medium', 'high'] } })), 'fast');
    assert.equal(classOf(qos({ kind: 'qualitative', class: 'low' })), 'basic');
    const req = request([qos({ kind: 'quantitative', delayMs: { min: 15, max: 30 }, jitterMs: { max: 6, pref: 2 } })]);
    const cpd = offered(engine.decide(req), req.cpd);
    assert.deepEqual(cpd[0]?.qos, { kind: 'quantitative', delayMs: 15, jitterMs: 2 }, 'a figure below the minimum is raised to it; a met preference is offered');
  });

  it('availability: the preference when achievable, else the best level in the bounds, else the maximum', () => {
    const { engine } = setup();
    const percentFor = (percent: Cpp['availability']): unknown => {
      const cpp = cppOn('pe1:a', 1, { availability: percent });
      return offered(engine.decide(request([cpp])), [cpp])[0]?.availability?.percent;
    };
    assert.equal(percentFor({ percent: 99.9 }), 99.9);
    assert.equal(percentFor({ percent: { min: 99, pref: 99.5 } }), 99.5);
    assert.equal(percentFor({ percent: { min: 99.9, pref: 99.999 } }), 99.99);
    assert.equal(percentFor({ percent: { min: 99 } }), 99.99);
    assert.equal(percentFor({ percent: { min: 99.9, max: 99.95 } }), 99.9);
    assert.equal(percentFor({ percent: { max: 99.5 } }), 99.5);
  });

  it('shares capacity over several values: minimums first, then each value raised in order', () => {
    const { engine } = setup();
    const asked: Cpd = [cppOn('pe1:a', { min: 30, pref: 90 }), cppOn('pe1:b', { min: 50, pref: 60 })];
    const cpd = offered(engine.decide(request(asked)), asked);
    // 30 + 50 reserved first; the first value then takes what the second's minimum leaves.
    assert.deepEqual(cpd.map((c) => c.capacity?.inMbps), [50, 50]);
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 0, outMbps: 0 });
  });

  it('per-link capacities and several nodes in one pool count per attachment', () => {
    const { engine } = setup();
    const asked: Cpd = [
      {
        nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pe1:b' }, { id: 'c', link: 'pe2:c' }],
        capacity: { inMbps: { min: 10, pref: 60 }, outMbps: 5, perLink: [{ link: 'pe1:b', inMbps: 30 }, { link: 'pe1:z', outMbps: 7 }] },
        conformance: { policing: 'police', outOfProfile: 'drop' },
      },
    ];
    const req = request(asked);
    const cpd = offered(engine.decide(req), asked);
    // core in: pe1:a and pe1:z (a per-link entry without inMbps, no node: an attachment too)
    // use the CPP value, pe1:b its own 30: 2 * value + 30 <= 100 → 35 instead of 60.
    // core out: pe1:a and pe1:b use the CPP's 5, pe1:z its own 7.
    assert.equal(cpd[0]?.capacity?.inMbps, 35);
    const pools = engine.explain(req.orderId)?.decisions[0]?.pools;
    assert.deepEqual(pools?.find((p) => p.pool === 'core')?.needed, { inMbps: 100, outMbps: 17 });
    assert.deepEqual(pools?.find((p) => p.pool === 'edge')?.needed, { inMbps: 35, outMbps: 5 });
    assert.deepEqual(engine.explain(req.orderId)?.decisions[0]?.cpps[0]?.capacity.map((c) => [c.path, c.offered, c.uses]), [
      ['cpd[0].capacity.inMbps', 35, { core: 2, edge: 1 }],
      ['cpd[0].capacity.outMbps', 5, { core: 2, edge: 1 }],
      ['cpd[0].capacity.perLink[0].inMbps', 30, { core: 1 }],
      ['cpd[0].capacity.perLink[1].outMbps', 7, { core: 1 }],
    ]);
  });

  it('fills in the provider IE and the validity of the policy', () => {
    const { engine } = setup();
    const decision = engine.decide(request([cppOn('pe1:a', 1)]));
    assert.ok(decision.kind === 'offer');
    assert.deepEqual(decision.ies, { provider: { name: 'Test Provider', asn: 64496 } });
    assert.equal(decision.validityOfferTime, asDateTime('2026-01-01T00:15:00Z'));
  });

  it('gives the test vector "quotation-loose-with-ies" a concrete offer with the example policy', () => {
    const v = vector('quotation-loose-with-ies');
    const clock = new SimulatedClock(Date.parse('2026-11-22T10:00:00Z'));
    const engine = createDecisionEngine(examplePolicy(), { clock });
    const asked = v.json.cpd ?? [];
    const req = request(asked, { ies: v.json.ies as InformationElements });
    const cpd = offered(engine.decide(req), asked);
    assert.deepEqual(cpd[0]?.capacity, { inMbps: 100, outMbps: 100 });
    assert.deepEqual(cpd[0]?.availability, { percent: 99.99 });
    assert.equal(engine.explain(req.orderId)?.decisions[0]?.cpps[0]?.qosClass, 'premium');
    assert.ok((engine.explain(req.orderId)?.decisions[0]?.price?.monthly ?? 0) > 0);
  });
});

describe('decision engine: regressions', () => {
  // Found by the property below (seed -857938092): the CPP's own outMbps was shadowed by a
  // per-link value on the only link, so no attachment used it and it stayed loose in the offer.
  it('fixes a loose CPP capacity that every link overrides with its own per-link value (offer stays concrete)', () => {
    const asked = JSON.parse(
      '[{"nodes":[{"id":"h2/y","link":"","location":"e-/::","site":"v0x:/t6"}],"capacity":{"outMbps":{"min":0},"perLink":[{"link":"","outMbps":0}]},"conformance":{"policing":{"oneOf":["police","shape"]},"outOfProfile":"drop"}}]',
    ) as Cpd;
    const { engine } = setup(generousPolicy());
    const req = request(asked);
    const cpd = offered(engine.decide(req), asked);
    assert.deepEqual(cpd[0]?.capacity, { outMbps: 0, perLink: [{ link: '', outMbps: 0 }] });
    const choices = engine.explain(req.orderId)?.decisions.at(-1)?.cpps[0]?.capacity ?? [];
    assert.ok(choices.some((c) => c.path === 'cpd[0].capacity.outMbps' && c.offered === 0 && Object.keys(c.uses).length === 0));
  });

  it('fixes such a shadowed loose value at its lower bound, whatever the preference', () => {
    const asked: Cpd = [{ ...cppOn('pe1:a', 10), capacity: { inMbps: { min: 5, pref: 50, max: 90 }, perLink: [{ link: 'pe1:a', inMbps: 10 }] } }];
    const { engine } = setup();
    const cpd = offered(engine.decide(request(asked)), asked);
    assert.equal(cpd[0]?.capacity?.inMbps, 5);
    assert.equal(cpd[0]?.capacity?.perLink?.[0]?.inMbps, 10);
  });
});

describe('decision engine: reservations through the hooks', () => {
  it('holds on decision, keeps the hold on reserveResources, releases on DECLINE / CANCEL / expiry', () => {
    const { engine, logs } = setup();
    const req = request([cppOn('pe1:a', 60)]);
    const decision = engine.decide(req);
    assert.ok(decision.kind === 'offer');
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 40, outMbps: 40 });
    engine.reserveResources?.(req.orderId, decision.cpd);
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 40, outMbps: 40 }, 'reserve is idempotent');
    engine.releaseResources?.(req.orderId, 'negotiation');
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 100, outMbps: 100 });
    assert.equal(engine.explain(req.orderId)?.status, 'ended');
    assert.deepEqual(logs.filter((l) => l.orderId === req.orderId).map((l) => l.event), ['decision', 'reserve', 'release']);
  });

  it('commits on agreement and frees only on WITHDRAW', () => {
    const { engine } = setup();
    const req = request([cppOn('pe1:a', 60)]);
    const decision = engine.decide(req);
    assert.ok(decision.kind === 'offer');
    engine.reserveResources?.(req.orderId, decision.cpd);
    assert.deepEqual(engine.confirmAccept?.({ orderId: req.orderId, cycle: 'quotation', cpd: decision.cpd }), { kind: 'confirm' });
    engine.commitResources?.(req.orderId, decision.cpd);
    assert.deepEqual(engine.ledger.usage('core').committed, { inMbps: 60, outMbps: 60 });
    assert.equal(engine.explain(req.orderId)?.status, 'agreed');
    engine.releaseResources?.(req.orderId, 'negotiation');
    assert.deepEqual(engine.ledger.usage('core').committed, { inMbps: 60, outMbps: 60 }, 'an agreement survives the end of a later cycle');
    engine.applyActivation?.(req.orderId, null);
    engine.releaseResources?.(req.orderId, 'all');
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 100, outMbps: 100 });
    assert.deepEqual(engine.explain(req.orderId)?.events.map((e) => e.event), ['decision', 'reserve', 'accept', 'commit', 'release', 'activation', 'release']);
  });

  it('an offer left behind expires from the ledger after its validity', () => {
    const { engine, clock } = setup();
    const first = request([cppOn('pe1:a', 70)]);
    offered(engine.decide(first), first.cpd);
    clock.advance(15 * 60_000);
    failed(engine.decide(request([cppOn('pe1:a', 70)])), 5);
    clock.advance(1);
    offered(engine.decide(request([cppOn('pe1:a', 70)])), [cppOn('pe1:a', 70)]);
    assert.equal(engine.explain(first.orderId)?.status, 'ended');
    assert.ok(engine.explain(first.orderId)?.events.some((e) => e.event === 'expire'));
  });

  it('an accepted offer does not expire while its agreement is concluded', () => {
    const { engine, clock } = setup();
    const req = request([cppOn('pe1:a', 70)]);
    const decision = engine.decide(req);
    assert.ok(decision.kind === 'offer');
    engine.confirmAccept?.({ orderId: req.orderId, cycle: 'quotation', cpd: decision.cpd });
    clock.advance(60 * 60_000);
    assert.deepEqual(engine.expireHolds(), []);
    engine.commitResources?.(req.orderId, decision.cpd);
    assert.deepEqual(engine.ledger.usage('core').committed, { inMbps: 70, outMbps: 70 });
  });

  it('confirmAccept takes a lost hold again, or refuses with 5 when it cannot', () => {
    const { engine } = setup();
    const cpd: Cpd = [{ ...cppOn('pe1:a', 70) }];
    assert.deepEqual(engine.confirmAccept?.({ orderId: 'lost-1', cycle: 'quotation', cpd }), { kind: 'confirm' });
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 30, outMbps: 30 });
    assert.deepEqual(engine.confirmAccept?.({ orderId: 'lost-2', cycle: 'quotation', cpd }), { kind: 'refuse', statusCode: 5 });
  });

  it('two orders racing for the last capacity: the second gets the remainder or FAIL 5, never more', () => {
    const { engine } = setup();
    offered(engine.decide(request([cppOn('pe1:x', 50)])), [cppOn('pe1:x', 50)]);
    // 50 left. Both decisions happen before either offer reaches reserveResources.
    const a = request([cppOn('pe1:a', { min: 10, pref: 30 })]);
    const b = request([cppOn('pe1:b', { min: 10, pref: 30 })]);
    const c = request([cppOn('pe1:c', { min: 10, pref: 30 })]);
    assert.deepEqual(offered(engine.decide(a), a.cpd)[0]?.capacity, { inMbps: 30, outMbps: 30 });
    assert.deepEqual(offered(engine.decide(b), b.cpd)[0]?.capacity, { inMbps: 20, outMbps: 20 });
    failed(engine.decide(c), 5);
    failed(engine.decide(request([cppOn('pe1:d', { max: 30 })])), 5);
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 0, outMbps: 0 });
    // The hooks arriving afterwards change nothing.
    for (const r of [a, b]) {
      const last = engine.explain(r.orderId)?.decisions.at(-1)?.offered;
      assert.ok(last);
      engine.reserveResources?.(r.orderId, last);
    }
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 0, outMbps: 0 });
  });

  it('property: racing orders never overbook the pool', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ min: fc.integer({ min: 0, max: 60 }), extra: fc.integer({ min: 0, max: 60 }), action: fc.constantFrom('keep', 'decline', 'agree') }), { maxLength: 12 }),
        (orders) => {
          const { engine } = setup();
          for (const o of orders) {
            const req = request([cppOn('pe1:a', { min: o.min, pref: o.min + o.extra })]);
            const decision = engine.decide(req);
            const free = engine.ledger.availableKbps('core');
            assert.ok(free.in >= 0 && free.out >= 0);
            if (decision.kind !== 'offer') {
              assert.deepEqual(decision, { kind: 'fail', statusCode: 5 });
              continue;
            }
            engine.reserveResources?.(req.orderId, decision.cpd);
            if (o.action === 'decline') engine.releaseResources?.(req.orderId, 'negotiation');
            if (o.action === 'agree') engine.commitResources?.(req.orderId, decision.cpd);
          }
          const usage = engine.ledger.usage('core');
          assert.ok(usage.held.inMbps + usage.committed.inMbps <= 100);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('UPDATE: decided against the agreement, holding only the delta', () => {
    const { engine } = setup();
    const quotation = request([cppOn('pe1:a', 60)]);
    const agreed = engine.decide(quotation);
    assert.ok(agreed.kind === 'offer');
    engine.reserveResources?.(quotation.orderId, agreed.cpd);
    engine.commitResources?.(quotation.orderId, agreed.cpd);
    // 40 free: the update may grow to 100 because its own 60 count.
    const asked = [cppOn('pe1:a', { min: 60, pref: 100 })];
    const update: DecisionRequest = { ...quotation, cycle: 'update', cpd: asked, agreement: agreed.cpd };
    const updated = engine.decide(update);
    assert.deepEqual(offered(updated, asked)[0]?.capacity, { inMbps: 100, outMbps: 100 });
    const record = engine.explain(quotation.orderId)?.decisions.at(-1);
    assert.deepEqual(record?.pools[0]?.committedBefore, { inMbps: 60, outMbps: 60 });
    assert.deepEqual(engine.ledger.order(quotation.orderId)?.held, { core: { inMbps: 40, outMbps: 40 } });
    failed(engine.decide(request([cppOn('pe1:b', { min: 1 })])), 5);
    // Declined: the agreement stays, the delta comes back.
    engine.releaseResources?.(quotation.orderId, 'negotiation');
    assert.equal(engine.explain(quotation.orderId)?.status, 'agreed');
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 40, outMbps: 40 });
    // A failed UPDATE keeps the agreement as well.
    failed(engine.decide({ ...update, cpd: [cppOn('pe1:a', 101)] }), 5);
    assert.deepEqual(engine.ledger.usage('core').committed, { inMbps: 60, outMbps: 60 });
    assert.equal(engine.explain(quotation.orderId)?.status, 'agreed');
    // Agreed update: the agreement becomes 100. maxOrders does not count the order itself.
    const again = engine.decide(update);
    assert.ok(again.kind === 'offer');
    engine.reserveResources?.(quotation.orderId, again.cpd);
    engine.commitResources?.(quotation.orderId, again.cpd);
    assert.deepEqual(engine.ledger.usage('core').committed, { inMbps: 100, outMbps: 100 });
  });
});

describe('decision engine: modes, delays, partners, records', () => {
  it('admin mode per method (8.2, 12.2): admin until approved, policy checks first', () => {
    const { engine } = setup(smallPolicy({ decisionModes: { QUOTATION: 'admin', WITHDRAW: 'admin' } }));
    const req = request([cppOn('pe1:a', 10)]);
    assert.deepEqual(engine.decide(req), { kind: 'admin' });
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 100, outMbps: 100 }, 'nothing held while waiting');
    offered(engine.decide({ ...req, approved: true }), req.cpd);
    failed(engine.decide(request([cppOn('pe1:a', 10)], { identity: 'banned' })), 4);
    // UPDATE stays automated here.
    offered(engine.decide({ ...req, cycle: 'update', agreement: req.cpd }), req.cpd);
    assert.deepEqual(engine.reviewRequest?.({ orderId: req.orderId, txid: '00'.repeat(16) as never, method: 'WITHDRAW' }), { kind: 'pending' });
    assert.deepEqual(engine.reviewRequest?.({ orderId: req.orderId, txid: '00'.repeat(16) as never, method: 'ACTIVATE', activationSchedule: null }), { kind: 'proceed' });
  });

  it('decision delay: PROCESSING with EXPECTED_OFFER_TIME, then the offer on resolvePending', () => {
    const { engine, clock } = setup(smallPolicy({ decisionDelay: { offerAfter: '30s' } }));
    const req = request([cppOn('pe1:a', 10)]);
    assert.deepEqual(engine.decide(req), { kind: 'pending', expectedOfferTime: asDateTime('2026-01-01T00:00:30Z') });
    assert.deepEqual(engine.pendingDecisions(), [{ orderId: req.orderId, dueAt: asDateTime('2026-01-01T00:00:30Z') }]);
    clock.advance(30_000);
    const decision = engine.resolvePending(req.orderId);
    assert.ok(decision);
    offered(decision, req.cpd);
    assert.deepEqual(engine.pendingDecisions(), []);
    assert.equal(engine.resolvePending(req.orderId), undefined);
    assert.equal(decision.kind === 'offer' ? decision.validityOfferTime : undefined, asDateTime('2026-01-01T00:15:30Z'));
    // Refusals are not delayed.
    failed(engine.decide(request([cppOn('mars:1', 10)])), 6);
  });

  it('decision delay: a client granting less time than asked (ACK with an earlier time, 9.2.6) makes the decision due then', () => {
    const { engine } = setup(smallPolicy({ decisionDelay: { offerAfter: '10m' } }));
    const req = request([cppOn('pe1:a', 10)]);
    engine.decide(req);
    engine.moreTimeAnswered?.(req.orderId, true, asDateTime('2026-01-01T00:15:00Z'));
    assert.deepEqual(engine.pendingDecisions(), [{ orderId: req.orderId, dueAt: asDateTime('2026-01-01T00:10:00Z') }], 'a later grant changes nothing');
    engine.moreTimeAnswered?.(req.orderId, true, asDateTime('2026-01-01T00:02:00Z'));
    assert.deepEqual(engine.pendingDecisions(), [{ orderId: req.orderId, dueAt: asDateTime('2026-01-01T00:02:00Z') }]);
    assert.match(engine.explain(req.orderId)?.events.map((e) => e.detail).join() ?? '', /granted until 2026-01-01T00:02:00Z/);
  });

  it('partners (8.8): pending while the child orders run, then the merged offer', () => {
    const { engine } = setup();
    const asked: Cpd = [
      {
        nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pb:1' }],
        qos: { kind: 'quantitative', delayMs: { max: 40 } },
        capacity: { inMbps: { min: 20, pref: 50 }, outMbps: 50 },
        conformance: { policing: 'police', outOfProfile: 'drop' },
      },
    ];
    const req = request(asked);
    // PROCESSING_SUBCODE 2 (Request external resources): the client is told why it waits (8.8, 9.2.2).
    assert.deepEqual(engine.decide(req), { kind: 'pending', processingSubcode: 2 });
    // Asked again between child orders (resumeParent), it keeps waiting with the same plan.
    assert.deepEqual(engine.decide(req), { kind: 'pending' });
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 100, outMbps: 100 }, 'nothing held while partners are asked');
    const plan = engine.partnerPlan(req.orderId);
    assert.ok(plan);
    assert.deepEqual(plan.partners.map((p) => p.partnerId), ['pb']);
    const childAsk = plan.partners[0]?.cpd[0];
    assert.deepEqual(childAsk?.qos, { kind: 'quantitative', delayMs: { max: 20 } });
    const partnerOffer: Cpd = [{ ...structuredClone(childAsk as Cpp), qos: { kind: 'quantitative', delayMs: 12 }, capacity: { inMbps: 30, outMbps: 50 } }];
    const decision = engine.completePartners(req.orderId, [{ partnerId: 'pb', cpd: partnerOffer }]);
    const cpd = offered(decision, asked);
    assert.deepEqual(cpd[0]?.nodes.map((n) => n.id), ['a', 'b']);
    assert.deepEqual(cpd[0]?.qos, { kind: 'quantitative', delayMs: 22 }); // 10 (gold) + 12
    assert.deepEqual(cpd[0]?.capacity, { inMbps: 30, outMbps: 50 });
    // The local hold follows the merged (smaller) capacity.
    assert.deepEqual(engine.ledger.available('core'), { inMbps: 70, outMbps: 50 });
    assert.equal(engine.partnerPlan(req.orderId), undefined);
    assert.throws(() => engine.completePartners(req.orderId, []), /not waiting for partners/);
  });

  it('partners: a failed child order fails the parent; a bad partner offer fails with 6', () => {
    const { engine } = setup();
    const asked: Cpd = [{ nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pb:1' }] }];
    const first = request(asked);
    engine.decide(first);
    failed(engine.abandonPartners(first.orderId, 5, 'partner pb: FAIL 5'), 5);
    assert.deepEqual(engine.explain(first.orderId)?.decisions.at(-1)?.reasons, ['partner pb: FAIL 5']);
    const second = request(asked);
    engine.decide(second);
    failed(engine.completePartners(second.orderId, [{ partnerId: 'pb', cpd: [] }]), 6);
    // A local part that cannot be served fails at once, before any child order.
    failed(engine.decide(request([{ ...cppOn('pe1:a', 500), nodes: [{ id: 'a', link: 'pe1:a' }, { id: 'b', link: 'pb:1' }] }])), 5);
  });

  it('snapshot and restore keep orders, records and the ledger', () => {
    const { engine, clock } = setup();
    const req = request([cppOn('pe1:a', 60)]);
    offered(engine.decide(req), req.cpd);
    const snapshot = JSON.parse(JSON.stringify(engine.snapshot())) as ReturnType<DecisionEngine['snapshot']>;
    const restored = createDecisionEngine(smallPolicy(), { clock, snapshot });
    assert.deepEqual(restored.explain(req.orderId), engine.explain(req.orderId));
    assert.deepEqual(restored.ledger.available('core'), { inMbps: 40, outMbps: 40 });
    failed(restored.decide(request([cppOn('pe1:b', 41)])), 5);
  });

  it('refuses a ledger that lacks a pool of the policy', () => {
    assert.throws(() => setup(smallPolicy(), new CapacityLedger({ core: { inMbps: 1, outMbps: 1 } })), /no pool "edge"/);
  });
});

// ---------------------------------------------------------------------------------------------

/** A policy that says yes to almost anything: every link local, huge pools, every level. */
function generousPolicy(): Policy {
  return smallPolicy({
    links: [],
    defaultPool: 'edge',
    pools: { core: { inMbps: 1, outMbps: 1 }, edge: { inMbps: 1e9, outMbps: 1e9 } },
    qosClasses: [{ name: 'perfect', delayMs: 0, jitterMs: 0, lossPct: 0, qualitative: 'high' }, { name: 'ok', delayMs: 0, jitterMs: 0, lossPct: 0, qualitative: 'medium' }, { name: 'meh', delayMs: 0, jitterMs: 0, lossPct: 0, qualitative: 'low' }],
    availabilityLevels: [100],
    activationTypes: ['permanent', 'scheduled'],
    maxTestDuration: undefined,
    pricing: { currency: 'EUR', perMbpsMonth: 1 },
    partners: {},
    customers: {},
  });
}

describe('decision engine: property', () => {
  const arbIes: fc.Arbitrary<InformationElements | undefined> = fc.option(
    fc.record(
      {
        options: fc.record(
          {
            purpose: fc.constantFrom('test' as const, 'production' as const),
            activationType: fc.constantFrom('permanent' as const, 'scheduled' as const),
            scope: fc.constantFrom('local' as const, 'any' as const),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );

  for (const [name, make] of [
    ['the example policy', examplePolicy],
    ['a generous policy', generousPolicy],
  ] as const) {
    it(`with ${name}: FAIL 4/5/6/8, or a valid concrete offer with no misses`, () => {
      let offers = 0;
      const policy = make();
      fc.assert(
        fc.property(arbCpd({ maxCpps: 3 }), arbIes, fc.option(fc.constantFrom('acme', 'lab-team', 'suspended-co', 'x'), { nil: undefined }), (cpd, ies, identity) => {
          const { engine } = setup(policy);
          const req = request(cpd, { ...(ies ? { ies } : {}), ...(identity ? { identity } : {}) });
          const decision = engine.decide(req);
          if (decision.kind === 'fail') {
            assert.ok([4, 5, 6, 8].includes(decision.statusCode), `status ${decision.statusCode}`);
            assert.ok((engine.explain(req.orderId)?.decisions.at(-1)?.reasons.length ?? 0) > 0, 'a FAIL has reasons');
            assert.equal(engine.ledger.orders().length, 0, 'a FAIL holds nothing');
            return;
          }
          if (decision.kind === 'pending') {
            assert.ok((engine.partnerPlan(req.orderId)?.partners.length ?? 0) > 0, 'pending only for partners');
            return;
          }
          offered(decision, cpd);
          offers += 1;
          for (const pool of engine.ledger.pools()) {
            const free = engine.ledger.availableKbps(pool);
            assert.ok(free.in >= 0 && free.out >= 0);
          }
        }),
        { numRuns: 250 },
      );
      assert.ok(offers > 10, `only ${offers} offers were made`);
    });
  }
});
