/**
 * Starts the notification background work beside the engine host (instrumentation.ts), once
 * per process (kept on globalThis like the host): the deadline sweep, and when PORTAL_SMTP_URL is
 * set, the mail sender, woken after every committed change that may have queued a mail.
 */
import { createTransport } from 'nodemailer';
import { portalDb, type PortalDbClient } from '../db/client';
import { onOrderChanged } from '../negotiation/signal';
import { deadlineThresholdMs, sweepDeadlines } from './deadlines';
import { mailSettingsFromEnv, redactSmtpUrl } from './mail-config';
import { MailSender } from './mail-sender';
import { mailQueued, onMailQueued } from './signal';

const key = Symbol.for('cpnp.portal.notifications');

/** nodemailer's SMTP transport from the URL, with timeouts short enough that a hung server only delays (and retries) a mail. */
export function transportOptions(url: string) {
  return { url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };
}
type Running = { stop(): Promise<void> };
type Holder = { [key]?: Running };

export function startNotifications(options: { db?: PortalDbClient; env?: NodeJS.ProcessEnv } = {}): Running {
  const holder = globalThis as Holder;
  const existing = holder[key];
  if (existing) return existing;
  const db = options.db ?? portalDb();
  const env = options.env ?? process.env;
  const threshold = deadlineThresholdMs(env);
  const sweepMs = Math.max(1000, Number(env.PORTAL_DEADLINE_SWEEP_MS ?? 30_000) || 30_000);
  let sweeping = false;
  const sweep = (): void => {
    if (sweeping) return;
    sweeping = true;
    sweepDeadlines(db, new Date(), threshold)
      .then((created) => {
        if (created > 0) mailQueued();
      })
      .catch((error) => console.warn(`portal notifications: deadline sweep: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        sweeping = false;
      });
  };
  const sweepTimer = setInterval(sweep, sweepMs);
  sweepTimer.unref?.();
  sweep();

  const mail = mailSettingsFromEnv(env);
  let sender: MailSender | undefined;
  const offs: (() => void)[] = [];
  if (mail) {
    sender = new MailSender({ db, transport: createTransport(transportOptions(mail.smtpUrl)), from: mail.from });
    const s = sender;
    void s.start().catch((error) => console.warn(`portal mail: could not start: ${error instanceof Error ? error.message : String(error)}`));
    offs.push(onMailQueued(() => s.wake()), onOrderChanged(() => s.wake()));
    console.log(`portal mail: sending through ${redactSmtpUrl(mail.smtpUrl)}`);
  }
  const running: Running = {
    async stop() {
      clearInterval(sweepTimer);
      for (const off of offs) off();
      await sender?.stop();
      holder[key] = undefined;
    },
  };
  holder[key] = running;
  process.once('SIGTERM', () => void running.stop());
  return running;
}
