/**
 * Drains the MailOutbox through an SMTP transport (nodemailer). Rows are claimed one at a time
 * with a guarded update (pending -> sending), so two senders never send the same row.
 *  - Sent: status 'sent'; never looked at again, so a restart sends nothing twice.
 *  - SMTP refused or unreachable: back to 'pending' with exponential backoff (attempts,
 *    lastError); after `maxAttempts` 'failed'. A mail is not lost while the SMTP server is down.
 *  - Interrupted in the middle of a send (the process died between the SMTP server's answer and
 *    the database update): whether it went out is unknown. At start those rows become 'failed'
 *    with that reason instead of being resent: never a duplicate (the in-app notification is
 *    there either way). A clean stop waits for the send in progress.
 * Log lines name the outbox row and the error, never the SMTP URL or its credentials.
 * Framework-free.
 */
import type { PortalDbClient } from '../db/client';

export interface MailTransport {
  sendMail(mail: { from: string; to: string; subject: string; text: string; messageId: string }): Promise<unknown>;
}

export interface MailSenderLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface MailSenderOptions {
  db: PortalDbClient;
  transport: MailTransport;
  from: string;
  now?: () => number;
  logger?: MailSenderLogger;
  /** Backstop poll of the outbox (wake() is the fast path). Default 5 s. */
  pollMs?: number;
  /** Attempts before a mail is given up ('failed'). Default 8. */
  maxAttempts?: number;
  /** Delay before retry `attempt` (1-based). Default 5 s, doubling, at most 1 h. */
  backoffMs?: (attempt: number) => number;
}

export const defaultBackoffMs = (attempt: number): number => Math.min(5000 * 2 ** (attempt - 1), 3_600_000);

const INTERRUPTED = 'interrupted while sending: outcome unknown, not resent to avoid a duplicate';

/** The error's own text, without anything that looks like a URL with credentials. */
export function safeError(error: unknown): string {
  const text = error instanceof Error ? `${(error as { code?: string }).code ? `${(error as { code?: string }).code}: ` : ''}${error.message}` : String(error);
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s@/]*@/gi, '<url>@').slice(0, 500);
}

export class MailSender {
  private readonly opts: Required<Omit<MailSenderOptions, 'logger'>> & { logger: MailSenderLogger };
  private timer: ReturnType<typeof setInterval> | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(options: MailSenderOptions) {
    this.opts = {
      now: Date.now,
      pollMs: 5000,
      maxAttempts: 8,
      backoffMs: defaultBackoffMs,
      logger: { info: (m) => console.log(`portal mail: ${m}`), warn: (m) => console.warn(`portal mail: ${m}`) },
      ...options,
    };
  }

  /** Settles rows a crash left in 'sending', then drains now and every pollMs. */
  async start(): Promise<void> {
    const stale = await this.opts.db.mailOutbox.updateMany({ where: { status: 'sending' }, data: { status: 'failed', lastError: INTERRUPTED } });
    if (stale.count > 0) this.opts.logger.warn(`${stale.count} mail(s) were interrupted while sending; not resent`);
    this.timer = setInterval(() => this.wake(), this.opts.pollMs);
    this.timer.unref?.();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining?.catch(() => undefined);
  }

  /** Drains the outbox now (coalesced: one drain at a time). */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((error) => this.opts.logger.warn(`outbox: ${safeError(error)}`))
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves once a drain that started after this call has finished (tests). */
  async settled(): Promise<void> {
    this.wake();
    while (this.draining) await this.draining;
  }

  /** Sends every due row once (a row that fails waits for its backoff, not for this loop). */
  async drain(): Promise<void> {
    const { db } = this.opts;
    const seen = new Set<string>();
    for (;;) {
      if (this.stopped) return;
      const due = await db.mailOutbox.findMany({
        where: { status: 'pending', nextAttemptAt: { lte: new Date(this.opts.now()) }, id: { notIn: [...seen] } },
        orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
        take: 20,
        select: { id: true },
      });
      if (due.length === 0) return;
      for (const { id } of due) {
        seen.add(id);
        if (this.stopped) return;
        await this.sendOne(id);
      }
    }
  }

  private async sendOne(id: string): Promise<void> {
    const { db, transport, logger } = this.opts;
    const claimed = await db.mailOutbox.updateMany({ where: { id, status: 'pending' }, data: { status: 'sending', attempts: { increment: 1 } } });
    if (claimed.count !== 1) return;
    const row = await db.mailOutbox.findUniqueOrThrow({ where: { id } });
    try {
      // A stable Message-ID: should a mail ever be delivered twice, clients can tell.
      await transport.sendMail({ from: this.opts.from, to: row.to, subject: row.subject, text: row.text, messageId: `<outbox-${row.id}@cpnp-portal>` });
      await db.mailOutbox.update({ where: { id }, data: { status: 'sent', sentAt: new Date(this.opts.now()), lastError: null } });
    } catch (error) {
      const message = safeError(error);
      const giveUp = row.attempts >= this.opts.maxAttempts;
      await db.mailOutbox.update({
        where: { id },
        data: giveUp
          ? { status: 'failed', lastError: message }
          : { status: 'pending', lastError: message, nextAttemptAt: new Date(this.opts.now() + this.opts.backoffMs(row.attempts)) },
      });
      logger.warn(`mail ${id} attempt ${row.attempts} failed${giveUp ? ', given up' : ', will retry'}: ${message}`);
    }
  }
}
