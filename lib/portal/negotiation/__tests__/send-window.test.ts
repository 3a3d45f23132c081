import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { admissible, type AdmissionCandidate } from '../intent-admission';
import { SendWindow, awaitsAnswer } from '../send-window';

test('SendWindow: at most `size` orders in flight per provider; an answer frees a slot', () => {
  const w = new SendWindow(2);
  assert.equal(w.admits([{ provider: 'A', orderId: 'o1' }]), true);
  w.track('A', 'o1', true);
  w.track('A', 'o2', true);
  assert.equal(w.admits([{ provider: 'A', orderId: 'o3' }]), false, 'A is full');
  assert.equal(w.admits([{ provider: 'A', orderId: 'o1' }]), true, 'an order already in flight takes no new slot');
  assert.equal(w.admits([{ provider: 'B', orderId: 'o3' }]), true, 'B is independent');
  assert.equal(w.track('A', 'o1', false), true, 'answered: a slot is freed');
  assert.equal(w.track('A', 'o1', false), false, 'twice: nothing more');
  assert.equal(w.admits([{ provider: 'A', orderId: 'o3' }]), true);
  assert.equal(w.allFull(['A']), false);
  w.track('A', 'o3', true);
  assert.equal(w.allFull(['A']), true);
  assert.equal(new SendWindow(1).admits([{ provider: 'A', orderId: 'x' }, { provider: 'A', orderId: 'y' }]), true, 'an idle provider always admits');
});

test('SendWindow: the in-flight count always equals the orders last tracked in flight (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('A', 'B'), fc.integer({ min: 0, max: 9 }), fc.boolean()), { maxLength: 200 }), (ops) => {
      const w = new SendWindow(4);
      const model = new Map<string, string>();
      for (const [provider, n, inFlight] of ops) {
        const id = `o${n}`;
        w.track(provider, id, inFlight);
        if (inFlight) model.set(id, provider);
        else model.delete(id);
      }
      for (const p of ['A', 'B']) assert.equal(w.inFlight(p), [...model.values()].filter((v) => v === p).length);
    }),
  );
});

test('awaitsAnswer: a request is in flight while its retransmission timer runs', () => {
  assert.equal(awaitsAnswer({ timers: [{ kind: 'retransmit', dueAt: 1, attempt: 0, seq: 1 }] }), true);
  assert.equal(awaitsAnswer({ timers: [{ kind: 'expectedOffer', dueAt: 1, attempt: 0 }] }), false);
});

test('admissible: holds an intent whose provider is full, and every later intent of the same order', () => {
  const w = new SendWindow(1);
  w.track('A', 'busy', true);
  const c = (id: string, orderId: string, providerId: string, customerOrderId: string): AdmissionCandidate => ({
    id, orderId, negotiationId: null, kind: 'approve', payload: {}, actorId: 'u', createdAt: new Date(0), targets: [{ providerId, customerOrderId }],
  });
  const held = new Set<string>();
  const key = (id: string) => (id === 'none' ? undefined : id);
  assert.equal(admissible(c('i1', 'order1', 'A', 'n1'), w, key, held), false);
  assert.equal(admissible(c('i2', 'order1', 'B', 'n2'), w, key, held), false, 'FIFO per order: held behind i1');
  assert.equal(admissible(c('i3', 'order2', 'B', 'n3'), w, key, held), true);
  assert.equal(admissible(c('i4', 'order3', 'none', 'n4'), w, key, held), true, 'no route: admitted, the host refuses it');
});
