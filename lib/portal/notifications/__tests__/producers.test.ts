/**
 * Which events notify whom, exactly once: order submit (admins), approve / reject (requester),
 * an engine step (offer, more time, agreement, alarm), the deadline sweep; dedupe on retries;
 * nothing when the causing transaction rolls back; outbox rows only when mail is on. Real
 * portal database (temporary SQLite file with the real migrations).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { DateTime } from '../../../cpnp/date-time';
import type { ClientOrderRecord } from '../../../cpnp/engine/client-engine';
import type { EngineEvent } from '../../../cpnp/engine/output';
import { approveOrder, rejectOrder } from '../../approvals/service';
import { createOrder, updateDraft } from '../../orders/service';
import { createWorld, orderInput, type TestWorld } from '../../__tests__/helpers';
import { sweepDeadlines } from '../deadlines';
import { notifyFromStep } from '../from-step';
import { notifyUsers } from '../produce';

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());
afterEach(() => {
  delete process.env.PORTAL_SMTP_URL;
});

async function submitted(): Promise<string> {
  const r = await createOrder(w.users.customerA, orderInput(w, { submit: true }));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value.orderId;
}

async function kindsFor(userId: string, orderId: string): Promise<string[]> {
  const rows = await w.db.notification.findMany({ where: { userId, orderId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { kind: true } });
  return rows.map((r) => r.kind);
}

/** The parts of an engine record the producers read (the host test covers real records). */
function record(customerOrderId: string, extra: Partial<ClientOrderRecord> = {}): ClientOrderRecord {
  return { customerOrderId, fsm: { state: 'OfferProcessing', hasAgreement: false }, alarms: [], ...extra } as unknown as ClientOrderRecord;
}

function event(customerOrderId: string, e: Omit<EngineEvent, 'side' | 'at' | 'orderId'> & { at?: number }): EngineEvent {
  return { side: 'client', at: Date.now(), orderId: customerOrderId, ...e };
}

describe('approval notifications', () => {
  test('submit notifies every admin once, nobody else; a draft notifies nobody', async () => {
    const draft = await createOrder(w.users.customerA, orderInput(w, { submit: false }));
    assert.ok(draft.ok);
    assert.equal(await w.db.notification.count({ where: { orderId: draft.value.orderId } }), 0);
    const submittedDraft = await updateDraft(w.users.customerA, draft.value.orderId, orderInput(w, { submit: true }));
    assert.ok(submittedDraft.ok);
    assert.deepEqual(await kindsFor(w.users.admin.id, draft.value.orderId), ['waiting-approval']);

    const id = await submitted();
    const rows = await w.db.notification.findMany({ where: { orderId: id } });
    assert.deepEqual(
      rows.map((r) => [r.userId, r.kind]),
      [[w.users.admin.id, 'waiting-approval']],
    );
    assert.match(rows[0]?.title ?? '', /waiting for approval: Paris–Lyon VPN/);
    assert.match(rows[0]?.body ?? '', /alice \(Org A\) submitted/);
  });

  test('approve and reject notify the requester once; a late second decision adds nothing', async () => {
    const a = await submitted();
    assert.ok((await approveOrder(w.users.admin, a)).ok);
    assert.ok(!(await approveOrder(w.users.admin, a)).ok);
    assert.deepEqual(await kindsFor(w.users.customerA.id, a), ['approved']);
    assert.deepEqual(await kindsFor(w.users.customerA2.id, a), [], 'only the requester, not the whole organisation');

    const r = await submitted();
    assert.ok((await rejectOrder(w.users.admin, r, 'Budget not approved')).ok);
    assert.ok(!(await rejectOrder(w.users.admin, r, 'again')).ok);
    const rows = await w.db.notification.findMany({ where: { userId: w.users.customerA.id, orderId: r } });
    assert.deepEqual(rows.map((n) => n.kind), ['rejected']);
    assert.match(rows[0]?.body ?? '', /Reason: Budget not approved/);
  });
});

describe('engine step notifications', () => {
  async function negotiationOf(orderId: string) {
    return w.db.negotiation.findFirstOrThrow({ where: { orderId } });
  }

  test('offer, more time, agreement and alarm: to the requester (alarms also to admins), each once', async () => {
    const orderId = await submitted();
    const n = await negotiationOf(orderId);
    const coid = n.customerOrderId;
    const offerRec = record(coid, { offer: { nonce: 'aa11', validityOfferTime: '2026-12-05T10:00:00Z' } as ClientOrderRecord['offer'] });
    const step = async (rec: ClientOrderRecord, events: EngineEvent[]) => w.db.$transaction((tx) => notifyFromStep(tx, [rec], events, new Date()));

    assert.equal(await step(offerRec, [event(coid, { kind: 'offer', cause: 'offerReceived' })]), 1);
    // The same step retried (a failed commit, a restart replaying it): nothing new.
    assert.equal(await step(offerRec, [event(coid, { kind: 'offer', cause: 'offerReceived', at: Date.now() + 5 })]), 0);
    // A new offer (another nonce, e.g. after an UPDATE) is news again.
    const second = record(coid, { offer: { nonce: 'bb22', validityOfferTime: '2026-12-05T11:00:00Z' } as ClientOrderRecord['offer'] });
    assert.equal(await step(second, [event(coid, { kind: 'offer', cause: 'offerReceived' })]), 1);

    const moreTime = event(coid, { kind: 'notice', cause: 'decideMoreTime', data: { expectedOfferTime: '2026-12-05T12:00:00Z' as DateTime } });
    assert.equal(await step(record(coid), [moreTime, moreTime]), 1);

    const agreed = record(coid, {
      fsm: { state: 'Completed', hasAgreement: true } as ClientOrderRecord['fsm'],
      agreement: { txid: 'feedfeedfeedfeedfeedfeedfeedfeed', providerOrderId: 'P-42' } as ClientOrderRecord['agreement'],
    });
    assert.equal(await step(agreed, [event(coid, { kind: 'transition', from: 'AcceptSent', to: 'Completed', cause: 'ackReceived' })]), 1);
    // A transition to Completed without an agreement (e.g. a refused update) concludes nothing.
    assert.equal(await step(record(coid, { fsm: { state: 'Completed', hasAgreement: false } as ClientOrderRecord['fsm'] }), [event(coid, { kind: 'transition', to: 'Completed', cause: 'x' })]), 0);

    const alarmed = record(coid, { alarms: [{ kind: 'acceptUnanswered', raisedAt: 1_700_000_000_000, open: true }] as ClientOrderRecord['alarms'] });
    const alarm = event(coid, { kind: 'alarm', cause: 'acceptUnanswered', data: { alarm: 'acceptUnanswered' } });
    assert.equal(await step(alarmed, [alarm]), 2, 'the requester and the admin');
    assert.equal(await step(alarmed, [{ ...alarm, at: alarm.at + 1000 }]), 0, 'a retried step keys on the record, not the clock');

    // Events that notify nobody.
    assert.equal(await step(record(coid), [event(coid, { kind: 'sent', cause: 'x', method: 'ACCEPT' }), event(coid, { kind: 'transition', to: 'AcceptSent', cause: 'accept' })]), 0);

    assert.deepEqual(await kindsFor(w.users.customerA.id, orderId), ['offer', 'offer', 'more-time', 'agreed', 'alarm']);
    assert.deepEqual(await kindsFor(w.users.admin.id, orderId), ['waiting-approval', 'alarm']);
    const offer = await w.db.notification.findFirstOrThrow({ where: { orderId, kind: 'offer' } });
    assert.match(offer.body, /Example Networks made an offer for "Paris–Lyon VPN", valid until 2026-12-05 10:00:00 UTC/);
  });

  test('a transaction that rolls back notifies nobody', async () => {
    const orderId = await submitted();
    const n = await negotiationOf(orderId);
    await assert.rejects(
      w.db.$transaction(async (tx) => {
        await notifyFromStep(tx, [record(n.customerOrderId, { offer: { nonce: 'cc33', validityOfferTime: 'x' } as ClientOrderRecord['offer'] })], [event(n.customerOrderId, { kind: 'offer', cause: 'offerReceived' })], new Date());
        throw new Error('commit failed');
      }),
      /commit failed/,
    );
    assert.deepEqual(await kindsFor(w.users.customerA.id, orderId), []);
  });
});

describe('mail outbox rows', () => {
  test('queued with the notification only when PORTAL_SMTP_URL is set; the body links the order', async () => {
    const off = await submitted();
    assert.equal(await w.db.mailOutbox.count({ where: { notification: { orderId: off } } }), 0);
    process.env.PORTAL_SMTP_URL = 'smtp://127.0.0.1:1';
    process.env.PORTAL_URL = 'https://portal.example';
    try {
      const on = await submitted();
      const mails = await w.db.mailOutbox.findMany({ where: { notification: { orderId: on } } });
      assert.equal(mails.length, 1);
      assert.equal(mails[0]?.to, w.users.admin.email);
      assert.equal(mails[0]?.status, 'pending');
      assert.match(mails[0]?.subject ?? '', /^\[CPNP portal\] Order waiting for approval: /);
      assert.ok(mails[0]?.text.includes(`https://portal.example/orders/${on}`));
      // Dedupe also holds for the outbox: no second row for the same cause.
      await w.db.$transaction((tx) => notifyUsers(tx, [w.users.admin.id], { kind: 'waiting-approval', orderId: on, title: 't', body: 'b', dedupeKey: `waiting-approval:${on}` }, new Date()));
      assert.equal(await w.db.mailOutbox.count({ where: { notification: { orderId: on } } }), 1);
    } finally {
      delete process.env.PORTAL_URL;
    }
  });
});

describe('deadline sweep', () => {
  test('notifies once per deadline inside the threshold, not outside it, not for ended negotiations', async () => {
    const now = new Date('2030-01-01T12:00:00Z');
    const soon = await submitted();
    const later = await submitted();
    const waiting = await submitted();
    const ended = await submitted();
    const stale = await submitted();
    const set = (orderId: string, data: object) => w.db.negotiation.updateMany({ where: { orderId }, data });
    const orderState = (orderId: string, state: string) => w.db.order.update({ where: { id: orderId }, data: { state } });
    await set(soon, { clientState: 'OfferReceived', offerValidUntil: new Date(now.getTime() + 5 * 60_000) });
    await orderState(soon, 'OfferReceived');
    await set(later, { clientState: 'OfferReceived', offerValidUntil: new Date(now.getTime() + 60 * 60_000) });
    await orderState(later, 'OfferReceived');
    await set(waiting, { clientState: 'PQOSent', expectedResponseAt: new Date(now.getTime() + 2 * 60_000) });
    await orderState(waiting, 'Negotiating');
    await set(ended, { clientState: 'Cancelled', offerValidUntil: new Date(now.getTime() + 60_000) });
    await orderState(ended, 'Cancelled');
    // An order that ended while a negotiation row still reads "offer received": no deadline.
    await set(stale, { clientState: 'OfferReceived', offerValidUntil: new Date(now.getTime() + 60_000) });
    await orderState(stale, 'Cancelled');

    assert.equal(await sweepDeadlines(w.db, now, 10 * 60_000), 2);
    assert.equal(await sweepDeadlines(w.db, new Date(now.getTime() + 30_000), 10 * 60_000), 0, 'a second sweep adds nothing');
    const rows = await w.db.notification.findMany({ where: { kind: 'deadline' }, orderBy: { title: 'asc' } });
    assert.deepEqual(
      rows.map((r) => [r.orderId, r.userId, r.title.split(':')[0]]),
      [
        [soon, w.users.customerA.id, 'Offer ends soon'],
        [waiting, w.users.customerA.id, 'Response time ends soon'],
      ],
    );
    assert.match(rows[0]?.body ?? '', /valid until 2030-01-01 12:05:00 UTC \(in about 5 minutes\)/);
    // A new deadline for the same negotiation (more time granted) is notified again.
    await set(waiting, { expectedResponseAt: new Date(now.getTime() + 8 * 60_000) });
    assert.equal(await sweepDeadlines(w.db, now, 10 * 60_000), 1);
  });
});
