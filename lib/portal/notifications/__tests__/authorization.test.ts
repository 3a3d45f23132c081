/**
 * The bell's read and actions (lib/portal/actions/notifications.ts) for every kind of caller:
 * signed out gets nothing; each user reads and marks only their own notifications; someone
 * else's notification id answers "not found", exactly like a missing one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { notificationHandlers } from '../../actions/notifications';
import { approveOrder } from '../../approvals/service';
import { createOrder } from '../../orders/service';
import { createWorld, orderInput, type TestWorld } from '../../__tests__/helpers';

let w: TestWorld;
let adminNote = '';
before(async () => {
  w = await createWorld();
  const r = await createOrder(w.users.customerA, orderInput(w, { submit: true }));
  assert.ok(r.ok);
  assert.ok((await approveOrder(w.users.admin, r.value.orderId)).ok);
  adminNote = (await w.db.notification.findFirstOrThrow({ where: { userId: w.users.admin.id } })).id;
});
after(() => w.close());

describe('notification authorisation', () => {
  test('signed out: every handler answers "sign in first"', async () => {
    for (const result of [await notificationHandlers.list(null), await notificationHandlers.markRead(null, { id: adminNote }), await notificationHandlers.markAllRead(null)]) {
      assert.deepEqual(result, { ok: false, code: 'forbidden', message: 'Sign in first.' });
    }
  });

  test('each user lists only their own', async () => {
    const admin = await notificationHandlers.list(w.users.admin);
    const alice = await notificationHandlers.list(w.users.customerA);
    assert.ok(admin.ok && alice.ok);
    assert.deepEqual(admin.value.items.map((n) => n.kind), ['waiting-approval']);
    assert.deepEqual(alice.value.items.map((n) => n.kind), ['approved']);
    assert.equal(alice.value.unread, 1);
    for (const other of [w.users.customerA2, w.users.customerB, w.users.staff]) {
      const r = await notificationHandlers.list(other);
      assert.ok(r.ok);
      assert.equal(r.value.items.length, 0, other.email);
      assert.equal(r.value.unread, 0);
    }
  });

  test("marking someone else's notification is 'not found' and changes nothing; one's own works", async () => {
    for (const other of [w.users.customerA, w.users.customerB, w.users.staff]) {
      const r = await notificationHandlers.markRead(other, { id: adminNote });
      assert.ok(!r.ok && r.code === 'not-found', other.email);
    }
    assert.ok(!(await notificationHandlers.markRead(w.users.admin, { id: 'no-such-id' })).ok);
    assert.ok(!(await notificationHandlers.markRead(w.users.admin, { id: '' })).ok);
    assert.equal((await w.db.notification.findUniqueOrThrow({ where: { id: adminNote } })).readAt, null);
    // Mark all read as Alice leaves the admin's alone.
    const all = await notificationHandlers.markAllRead(w.users.customerA);
    assert.ok(all.ok && all.value.marked === 1);
    assert.equal((await w.db.notification.findUniqueOrThrow({ where: { id: adminNote } })).readAt, null);
    assert.ok((await notificationHandlers.markRead(w.users.admin, { id: adminNote })).ok);
    assert.ok((await notificationHandlers.markRead(w.users.admin, { id: adminNote })).ok, 'marking twice is fine');
    const admin = await notificationHandlers.list(w.users.admin);
    assert.ok(admin.ok && admin.value.unread === 0);
  });
});
