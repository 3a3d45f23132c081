/**
 * The outbox sender against a real SMTP server (smtp-server on loopback) and nodemailer's real
 * SMTP transport: what arrives (recipient, subject, the order link), nothing sent twice across
 * a restart, retries with backoff while the server is down or refuses, give-up after the
 * attempts, a send interrupted by a crash not repeated, no credentials in lastError.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createTransport } from 'nodemailer';
import { createOrder } from '../../orders/service';
import { createWorld, orderInput, type TestWorld } from '../../__tests__/helpers';
import { MailSender, safeError } from '../mail-sender';
import { transportOptions } from '../start';
import { startSmtpListener, type SmtpListener } from './smtp-listener';

let w: TestWorld;
let smtp: SmtpListener;
before(async () => {
  w = await createWorld();
  smtp = await startSmtpListener();
});
after(async () => {
  await smtp.close();
  await w.close();
});
beforeEach(async () => {
  smtp.mails.length = 0;
  smtp.refuse = false;
  await w.db.mailOutbox.deleteMany({});
});

const quiet = { info: () => undefined, warn: () => undefined };

/** Submits an order with mail on: one outbox row for the admin. */
async function queueOne(): Promise<string> {
  process.env.PORTAL_SMTP_URL = `smtp://127.0.0.1:${smtp.port}`;
  process.env.PORTAL_URL = 'http://portal.test:3000';
  try {
    const r = await createOrder(w.users.customerA, orderInput(w, { submit: true }));
    assert.ok(r.ok);
    return r.value.orderId;
  } finally {
    delete process.env.PORTAL_SMTP_URL;
    delete process.env.PORTAL_URL;
  }
}

function sender(port: number, clock: { now: number }, extra: Partial<ConstructorParameters<typeof MailSender>[0]> = {}): MailSender {
  return new MailSender({
    db: w.db,
    transport: createTransport(transportOptions(`smtp://127.0.0.1:${port}`)),
    from: 'CPNP portal <portal@test.example>',
    now: () => clock.now,
    logger: quiet,
    pollMs: 60_000,
    ...extra,
  });
}

describe('mail sender with a real SMTP server', () => {
  test('delivers the queued mail: recipient, subject, text with the order link; a restart sends nothing again', async () => {
    const orderId = await queueOne();
    const clock = { now: Date.now() };
    const s = sender(smtp.port, clock);
    await s.start();
    await s.settled();
    await s.stop();
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0];
    assert.deepEqual(mail?.to, [w.users.admin.email]);
    assert.equal(mail?.from, 'portal@test.example');
    assert.equal(mail?.subject, '[CPNP portal] Order waiting for approval: Paris–Lyon VPN');
    assert.ok(mail?.text.includes(`http://portal.test:3000/orders/${orderId}`), mail?.text);
    const row = await w.db.mailOutbox.findFirstOrThrow({});
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 1);
    assert.match(mail?.messageId ?? '', new RegExp(`outbox-${row.id}@cpnp-portal`));

    // A restarted sender finds nothing to send.
    const again = sender(smtp.port, clock);
    await again.start();
    await again.settled();
    await again.stop();
    assert.equal(smtp.mails.length, 1);
  });

  test('SMTP down: kept pending with backoff and the error; sent once the server is back', async () => {
    await queueOne();
    const down = await startSmtpListener();
    const deadPort = down.port;
    await down.close(); // nothing listens there now
    const clock = { now: Date.now() };
    const s = sender(deadPort, clock, { backoffMs: (n) => n * 60_000 });
    await s.start();
    await s.settled();
    let row = await w.db.mailOutbox.findFirstOrThrow({});
    assert.equal(row.status, 'pending');
    assert.equal(row.attempts, 1);
    assert.match(row.lastError ?? '', /ECONNREFUSED/);
    assert.equal(row.nextAttemptAt.getTime(), clock.now + 60_000);
    // Not due yet: a drain does not touch it.
    await s.settled();
    assert.equal((await w.db.mailOutbox.findFirstOrThrow({})).attempts, 1);
    await s.stop();

    // The server is back (same row, a sender pointing at it), after the backoff.
    clock.now += 60_000;
    const back = sender(smtp.port, clock);
    await back.start();
    await back.settled();
    await back.stop();
    row = await w.db.mailOutbox.findFirstOrThrow({});
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
    assert.equal(smtp.mails.length, 1);
  });

  test('a refusing server: retried until maxAttempts, then failed; nothing delivered', async () => {
    await queueOne();
    smtp.refuse = true;
    const clock = { now: Date.now() };
    const s = sender(smtp.port, clock, { maxAttempts: 3, backoffMs: () => 1000 });
    await s.start();
    for (let i = 0; i < 4; i++) {
      await s.settled();
      clock.now += 1000;
    }
    await s.stop();
    const row = await w.db.mailOutbox.findFirstOrThrow({});
    assert.equal(row.status, 'failed');
    assert.equal(row.attempts, 3);
    assert.match(row.lastError ?? '', /451/);
    assert.equal(smtp.mails.length, 0);
  });

  test('a send interrupted by a crash (row left in sending) is not sent again at start', async () => {
    await queueOne();
    await w.db.mailOutbox.updateMany({ data: { status: 'sending', attempts: 1 } });
    const s = sender(smtp.port, { now: Date.now() });
    await s.start();
    await s.settled();
    await s.stop();
    const row = await w.db.mailOutbox.findFirstOrThrow({});
    assert.equal(row.status, 'failed');
    assert.match(row.lastError ?? '', /outcome unknown/);
    assert.equal(smtp.mails.length, 0);
  });

  test('two senders draining at once send each mail once', async () => {
    await queueOne();
    await queueOne();
    const clock = { now: Date.now() };
    const a = sender(smtp.port, clock);
    const b = sender(smtp.port, clock);
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.settled(), b.settled()]);
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(smtp.mails.length, 2);
    assert.equal(await w.db.mailOutbox.count({ where: { status: 'sent' } }), 2);
  });

  test('error text never carries URL credentials', () => {
    assert.equal(safeError(new Error('connect to smtp://user:s3cret@mail.example:25 failed')), 'connect to <url>@mail.example:25 failed');
  });
});
