import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CapacityLedger, toKbps, type Bandwidth } from '../capacity-ledger';

const bw = (inMbps: number, outMbps = inMbps): Bandwidth => ({ inMbps, outMbps });

describe('capacity ledger', () => {
  it('holds, commits and releases', () => {
    const ledger = new CapacityLedger({ core: bw(100) });
    assert.deepEqual(ledger.reserve('A', 'core', bw(60, 10), 'held'), { ok: true });
    assert.deepEqual(ledger.available('core'), bw(40, 90));
    assert.ok(ledger.isNegotiating('A'));
    ledger.commit('A');
    assert.ok(!ledger.isNegotiating('A'));
    assert.deepEqual(ledger.usage('core'), { capacity: bw(100), held: bw(0), committed: bw(60, 10), available: bw(40, 90) });
    ledger.release('A', 'negotiation'); // nothing open: the agreement stays
    assert.deepEqual(ledger.available('core'), bw(40, 90));
    ledger.release('A', 'all');
    assert.deepEqual(ledger.available('core'), bw(100));
    assert.deepEqual(ledger.orders(), []);
  });

  it('refuses to overbook and changes nothing then', () => {
    const ledger = new CapacityLedger({ core: bw(100), edge: bw(10) });
    ledger.reserve('A', 'core', bw(70), 'held');
    const refused = ledger.reserve('B', 'core', bw(40, 10), 'held');
    assert.deepEqual(refused, { ok: false, pool: 'core', direction: 'in', requestedMbps: 40, availableMbps: 30 });
    assert.equal(ledger.order('B'), undefined);
    // reserveAll is atomic: core fits, edge does not, so neither is taken.
    const atomic = ledger.reserveAll('B', { core: bw(30), edge: bw(5, 11) }, 'held');
    assert.equal(atomic.ok, false);
    assert.deepEqual(ledger.available('core'), bw(30));
    assert.deepEqual(ledger.available('edge'), bw(10));
    assert.deepEqual(ledger.reserveAll('B', { core: bw(30), edge: bw(5, 10) }, 'held'), { ok: true });
    assert.deepEqual(ledger.available('core'), bw(0));
  });

  it('an UPDATE holds only the delta over the committed amount', () => {
    const ledger = new CapacityLedger({ core: bw(100) });
    ledger.reserve('A', 'core', bw(60), 'held');
    ledger.commit('A');
    // The update asks 90 in all: 30 more. Others see 10 left.
    assert.deepEqual(ledger.availableFor('A', 'core'), bw(100));
    assert.ok(ledger.reserve('A', 'core', bw(90), 'held').ok);
    assert.deepEqual(ledger.available('core'), bw(10));
    assert.deepEqual(ledger.order('A')?.held, { core: bw(30) });
    // Declined: back to the agreement.
    ledger.release('A', 'negotiation');
    assert.deepEqual(ledger.available('core'), bw(40));
    // A shrinking update frees nothing until agreed, then frees the difference.
    ledger.reserve('A', 'core', bw(20), 'held');
    assert.deepEqual(ledger.available('core'), bw(40));
    assert.deepEqual(ledger.order('A')?.held, {});
    ledger.commit('A');
    assert.deepEqual(ledger.available('core'), bw(80));
    // An update that no longer uses a pool gives it back on commit.
    ledger.reserveAll('A', {}, 'held');
    assert.ok(ledger.isNegotiating('A'));
    ledger.commit('A');
    assert.deepEqual(ledger.available('core'), bw(100));
    assert.equal(ledger.order('A'), undefined);
  });

  it('an update larger than the free room plus the agreement is refused', () => {
    const ledger = new CapacityLedger({ core: bw(100) });
    ledger.reserve('A', 'core', bw(60), 'held');
    ledger.commit('A');
    ledger.reserve('B', 'core', bw(30), 'held');
    assert.equal(ledger.reserve('A', 'core', bw(71), 'held').ok, false);
    assert.ok(ledger.reserve('A', 'core', bw(70), 'held').ok);
  });

  it('committed reservations rebuild agreements', () => {
    const ledger = new CapacityLedger({ core: bw(100) });
    assert.ok(ledger.reserve('A', 'core', bw(50), 'committed').ok);
    assert.equal(ledger.reserve('B', 'core', bw(51), 'committed').ok, false);
    assert.deepEqual(ledger.order('A'), { committed: { core: bw(50) }, held: {} });
  });

  it('counts in whole kbit/s, rounding demands up, so sums are exact', () => {
    assert.equal(toKbps(0.1), 100);
    assert.equal(toKbps(80), 80_000);
    assert.equal(toKbps(0.0001), 1);
    assert.throws(() => toKbps(-1), RangeError);
    const ledger = new CapacityLedger({ core: bw(0.3) });
    for (const id of ['A', 'B', 'C']) assert.ok(ledger.reserve(id, 'core', bw(0.1), 'held').ok, id);
    assert.equal(ledger.reserve('D', 'core', bw(0.001), 'held').ok, false);
  });

  it('round-trips through JSON and refuses malformed or overbooked snapshots', () => {
    const ledger = new CapacityLedger({ core: bw(100), edge: bw(10) });
    ledger.reserve('A', 'core', bw(60), 'held');
    ledger.commit('A');
    ledger.reserve('A', 'core', bw(80), 'held');
    ledger.reserve('B', 'edge', bw(5), 'held');
    const json = JSON.parse(JSON.stringify(ledger)) as unknown;
    const copy = CapacityLedger.fromJSON(json);
    assert.deepEqual(copy.toJSON(), ledger.toJSON());
    assert.deepEqual(copy.available('core'), bw(20));
    assert.throws(() => CapacityLedger.fromJSON({ version: 2 }));
    const over = ledger.toJSON();
    over.orders['C'] = { committed: { core: { in: 50_000, out: 0 } } };
    assert.throws(() => CapacityLedger.fromJSON(over), /overbooks pool "core"/);
    const unknown = ledger.toJSON();
    unknown.orders['C'] = { committed: { nowhere: { in: 1, out: 0 } } };
    assert.throws(() => CapacityLedger.fromJSON(unknown), /unknown capacity pool/);
  });

  it('unknown pools are programming errors', () => {
    const ledger = new CapacityLedger({ core: bw(1) });
    assert.throws(() => ledger.reserve('A', 'nope', bw(1), 'held'), /unknown capacity pool "nope"/);
    assert.throws(() => ledger.available('nope'), RangeError);
  });

  it('withCapacities keeps bookings; a shrunk pool refuses growth but allows shrinking', () => {
    const ledger = new CapacityLedger({ core: bw(100) });
    ledger.reserve('A', 'core', bw(80), 'held');
    const smaller = ledger.withCapacities({ core: bw(50) });
    assert.deepEqual(smaller.available('core'), bw(-30));
    assert.equal(smaller.reserve('A', 'core', bw(90), 'held').ok, false);
    assert.ok(smaller.reserve('A', 'core', bw(60), 'held').ok);
    assert.equal(smaller.reserve('B', 'core', bw(1), 'held').ok, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any interleaving of many orders' operations never overbooks a pool, and releasing
// everything gives every pool back in full.

const POOLS = { a: bw(100, 50), b: bw(10, 10), c: bw(1000, 1) };
const poolIds = Object.keys(POOLS) as (keyof typeof POOLS)[];

type Op =
  | { op: 'reserve'; order: number; pool: keyof typeof POOLS; amount: Bandwidth; kind: 'held' | 'committed' }
  | { op: 'reserveAll'; order: number; amounts: Partial<Record<keyof typeof POOLS, Bandwidth>>; kind: 'held' | 'committed' }
  | { op: 'release'; order: number; scope: 'negotiation' | 'all' }
  | { op: 'commit'; order: number };

const arbAmount = fc.record({
  inMbps: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.double({ min: 0, max: 120, noNaN: true, noDefaultInfinity: true })),
  outMbps: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 60, noNaN: true, noDefaultInfinity: true })),
});
const arbOrder = fc.integer({ min: 0, max: 7 });
const arbKind = fc.constantFrom('held' as const, 'held' as const, 'committed' as const);
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('reserve' as const), order: arbOrder, pool: fc.constantFrom(...poolIds), amount: arbAmount, kind: arbKind }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('reserveAll' as const),
      order: arbOrder,
      amounts: fc.record({ a: arbAmount, b: arbAmount, c: arbAmount }, { requiredKeys: [] }),
      kind: arbKind,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), order: arbOrder, scope: fc.constantFrom('negotiation' as const, 'all' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('commit' as const), order: arbOrder }) },
);

function apply(ledger: CapacityLedger, op: Op): void {
  const id = `O${op.order}`;
  switch (op.op) {
    case 'reserve':
      ledger.reserve(id, op.pool, op.amount, op.kind);
      return;
    case 'reserveAll':
      ledger.reserveAll(id, op.amounts as Record<string, Bandwidth>, op.kind);
      return;
    case 'release':
      ledger.release(id, op.scope);
      return;
    case 'commit':
      ledger.commit(id);
  }
}

describe('capacity ledger properties', () => {
  it('never overbooks under any interleaving, and releasing everything empties it', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 80 }), fc.boolean(), (ops, roundTrip) => {
        let ledger = new CapacityLedger(POOLS);
        ops.forEach((op, step) => {
          apply(ledger, op);
          if (roundTrip && step % 10 === 9) ledger = CapacityLedger.fromJSON(JSON.parse(JSON.stringify(ledger)) as unknown);
          for (const pool of poolIds) {
            const free = ledger.availableKbps(pool);
            assert.ok(free.in >= 0 && free.out >= 0, `pool ${pool} overbooked after ${JSON.stringify(op)}`);
            const usage = ledger.usage(pool);
            assert.ok(usage.held.inMbps >= 0 && usage.committed.inMbps >= 0);
          }
        });
        for (const id of ledger.orders()) ledger.release(id, 'all');
        for (const pool of poolIds) assert.deepEqual(ledger.available(pool), POOLS[pool]);
        assert.deepEqual(ledger.orders(), []);
      }),
      { numRuns: 300 },
    );
  });

  it('a refused reservation leaves the ledger unchanged; a granted one is visible', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 40 }), arbOp, (ops, last) => {
        const ledger = new CapacityLedger(POOLS);
        for (const op of ops) apply(ledger, op);
        if (last.op !== 'reserve' && last.op !== 'reserveAll') return;
        const before = JSON.stringify(ledger);
        const id = `O${last.order}`;
        const result = last.op === 'reserve' ? ledger.reserve(id, last.pool, last.amount, last.kind) : ledger.reserveAll(id, last.amounts as Record<string, Bandwidth>, last.kind);
        if (!result.ok) assert.equal(JSON.stringify(ledger), before);
        else if (last.op === 'reserve') {
          const holdings = ledger.order(id);
          const where = last.kind === 'held' ? holdings?.target : holdings?.committed;
          if (toKbps(last.amount.inMbps) + toKbps(last.amount.outMbps) > 0 || last.kind === 'held') assert.ok(where?.[last.pool], 'the reservation is recorded');
        }
      }),
      { numRuns: 200 },
    );
  });
});
