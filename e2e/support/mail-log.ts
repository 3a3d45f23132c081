/** Where the e2e SMTP listener (smtp-global-setup.ts) records the mails it received. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ReceivedMail } from '../../lib/portal/notifications/__tests__/smtp-listener';

export const E2E_SMTP_PORT = Number(process.env.E2E_SMTP_PORT ?? 2525);
export const MAIL_LOG = resolve('test-results/e2e-mail/mails.jsonl');

export function receivedMails(): ReceivedMail[] {
  if (!existsSync(MAIL_LOG)) return [];
  return readFileSync(MAIL_LOG, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ReceivedMail);
}
