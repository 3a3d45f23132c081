import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOrder, getOrderDetail, getOrderInput, listOrders, listProviders, PAGE_SIZE, updateDraft } from '../orders/service';
import { createWorld, orderInput, type TestWorld } from './helpers';

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());

describe('createOrder', () => {
  test('submit stores a Created order with one negotiation per provider and a history entry', async () => {
    const r = await createOrder(w.users.customerA, orderInput(w, { providerIds: [w.providers.example, w.providers.carrier], selectionRule: 'cheapest' }));
    assert.ok(r.ok, JSON.stringify(r));
    const order = await w.db.order.findUniqueOrThrow({ where: { id: r.value.orderId }, include: { negotiations: true, stateChanges: true } });
    assert.equal(order.state, 'Created');
    assert.equal(order.organisationId, w.users.customerA.organisationId);
    assert.equal(order.negotiations.length, 2);
    assert.ok(order.negotiations.every((n) => /^C-[0-9a-f]{16}$/.test(n.customerOrderId) && n.clientState === 'Created'));
    assert.deepEqual(order.stateChanges.map((c) => [c.from, c.to, c.actor]), [[null, 'Created', `user:${w.users.customerA.id}`]]);
    assert.ok(order.submittedAt);
  });

  test('draft skips the CPD validator; submit runs it and puts the error on the CPD path', async () => {
    const bad = orderInput(w, { cpd: [{ nodes: [{ id: 'x', link: 'l' }], capacity: { inMbps: { min: 200, max: 50 } }, conformance: { policing: 'shape', outOfProfile: 'drop' } }] as never });
    const draft = await createOrder(w.users.customerA, { ...bad, submit: false });
    assert.ok(draft.ok);
    assert.equal((await w.db.order.findUniqueOrThrow({ where: { id: draft.value.orderId } })).state, 'Draft');
    const submitted = await createOrder(w.users.customerA, bad);
    assert.equal(submitted.ok, false);
    assert.ok(!submitted.ok && submitted.code === 'invalid');
    assert.ok(!submitted.ok && Object.keys(submitted.fieldErrors ?? {}).some((k) => k.startsWith('cpd[0].capacity.inMbps')), JSON.stringify(submitted));
  });

  test('form-level errors land on their fields', async () => {
    const r = await createOrder(w.users.customerA, orderInput(w, { title: ' ', providerIds: [], expectedResponseSeconds: 1 }));
    assert.ok(!r.ok);
    assert.equal(r.code, 'invalid');
    assert.deepEqual(Object.keys(r.fieldErrors ?? {}).sort(), ['expectedResponseSeconds', 'providerIds', 'title']);
  });

  test('options are read by lib/cpnp: testUntil without purpose test is refused', async () => {
    const r = await createOrder(w.users.customerA, orderInput(w, { options: { testUntil: '2030-01-01T00:00:00Z' as never } }));
    assert.ok(!r.ok);
    assert.ok(r.fieldErrors?.['options.testUntil'], JSON.stringify(r));
  });

  test('unknown provider and a selection rule with one provider are refused', async () => {
    const r1 = await createOrder(w.users.customerA, orderInput(w, { providerIds: ['nope'] }));
    assert.ok(!r1.ok && r1.fieldErrors?.providerIds);
    const r2 = await createOrder(w.users.customerA, orderInput(w, { selectionRule: 'first' }));
    assert.ok(!r2.ok && r2.fieldErrors?.selectionRule);
  });

  test('admins and staff cannot place orders', async () => {
    for (const u of [w.users.admin, w.users.staff]) {
      const r = await createOrder(u, orderInput(w));
      assert.ok(!r.ok && r.code === 'forbidden');
    }
  });

  test('cloning another organisation\'s order is refused as not found', async () => {
    const theirs = await createOrder(w.users.customerB, orderInput(w));
    assert.ok(theirs.ok);
    const r = await createOrder(w.users.customerA, orderInput(w, { clonedFrom: theirs.value.orderId }));
    assert.ok(!r.ok && r.fieldErrors?.clonedFrom);
  });
});

describe('updateDraft and getOrderInput', () => {
  test('a draft round-trips, can be edited and then submitted, but not edited again', async () => {
    const input = orderInput(w, { submit: false, title: 'Draft one' });
    const created = await createOrder(w.users.customerA, input);
    assert.ok(created.ok);
    const id = created.value.orderId;
    const back = await getOrderInput(w.users.customerA, id);
    assert.ok(back.ok);
    assert.deepEqual(back.value, { ...input, submit: false });
    // Another member of the organisation may edit it too.
    const edited = await updateDraft(w.users.customerA2, id, { ...input, title: 'Draft two', providerIds: [w.providers.carrier] });
    assert.ok(edited.ok);
    const again = await getOrderInput(w.users.customerA, id);
    assert.ok(again.ok && again.value.title === 'Draft two' && again.value.providerIds[0] === w.providers.carrier);
    const submitted = await updateDraft(w.users.customerA, id, { ...input, submit: true });
    assert.ok(submitted.ok);
    const late = await updateDraft(w.users.customerA, id, input);
    assert.ok(!late.ok && late.code === 'wrong-state');
  });

  test('another organisation gets not-found, the same as a missing id', async () => {
    const created = await createOrder(w.users.customerA, orderInput(w, { submit: false }));
    assert.ok(created.ok);
    const foreign = await updateDraft(w.users.customerB, created.value.orderId, orderInput(w));
    const missing = await updateDraft(w.users.customerB, 'missing', orderInput(w));
    assert.deepEqual(foreign, missing);
    assert.ok(!foreign.ok && foreign.code === 'not-found');
    assert.deepEqual(await getOrderInput(w.users.customerB, created.value.orderId), await getOrderInput(w.users.customerB, 'missing'));
  });
});

describe('listOrders, getOrderDetail, listProviders', () => {
  test('customers see their organisation only; admins and staff see all; pages are server-side', async () => {
    for (let i = 0; i < PAGE_SIZE + 3; i++) await createOrder(w.users.customerB, orderInput(w, { title: `B ${i}` }));
    const a = await listOrders(w.users.customerA);
    assert.ok(a.items.length > 0 && a.items.every((o) => o.organisation === 'Org A'));
    const b1 = await listOrders(w.users.customerB);
    const b2 = await listOrders(w.users.customerB, { page: 2 });
    assert.equal(b1.items.length, PAGE_SIZE);
    assert.equal(b1.pageCount, 2);
    assert.ok(b2.items.length >= 3 && b2.items.every((o) => o.organisation === 'Org B'));
    assert.equal(new Set([...b1.items, ...b2.items].map((o) => o.id)).size, b1.total);
    const all = await listOrders(w.users.staff);
    assert.equal(all.total, a.total + b1.total);
    assert.equal((await listOrders(w.users.admin)).total, all.total);
    // Out-of-range pages clamp instead of failing.
    assert.equal((await listOrders(w.users.customerB, { page: 999 })).page, 2);
  });

  test('detail carries negotiations, history with actor names, and is not-found across organisations', async () => {
    const created = await createOrder(w.users.customerA, orderInput(w));
    assert.ok(created.ok);
    const d = await getOrderDetail(w.users.customerA, created.value.orderId);
    assert.ok(d.ok);
    assert.equal(d.value.negotiations[0]?.provider.name, 'Example Networks');
    assert.equal(d.value.timeline[0]?.actor, 'alice');
    assert.equal((await getOrderDetail(w.users.staff, created.value.orderId)).ok, true);
    const foreign = await getOrderDetail(w.users.customerB, created.value.orderId);
    assert.deepEqual(foreign, await getOrderDetail(w.users.customerB, 'nope'));
  });

  test('providers are listed by name', async () => {
    const p = await listProviders(w.users.customerA);
    assert.deepEqual(p.map((x) => x.name), ['Carrier B', 'Example Networks']);
  });
});
