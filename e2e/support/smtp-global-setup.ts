/**
 * Playwright globalSetup: a real SMTP server (smtp-server, the same listener the unit tests use)
 * on 127.0.0.1:E2E_SMTP_PORT for the whole run; playwright.config.ts points the portal's
 * PORTAL_SMTP_URL at it. Every mail it receives is appended as one JSON line to MAIL_LOG, which
 * the specs read (they run in other processes). The returned function is the teardown.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { startSmtpListener } from '../../lib/portal/notifications/__tests__/smtp-listener';
import { E2E_SMTP_PORT, MAIL_LOG } from './mail-log';

export default async function globalSetup(): Promise<() => Promise<void>> {
  mkdirSync(dirname(MAIL_LOG), { recursive: true });
  const listener = await startSmtpListener(E2E_SMTP_PORT, (mail) => appendFileSync(MAIL_LOG, `${JSON.stringify({ ...mail, receivedAt: new Date().toISOString() })}\n`));
  return () => listener.close();
}
