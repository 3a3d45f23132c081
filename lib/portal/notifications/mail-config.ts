/**
 * E-mail settings from the environment. Mail is off unless PORTAL_SMTP_URL is set
 * (e.g. smtp://127.0.0.1:25, smtps://user:pass@mail.example:465); notifications are then only
 * in-app. Links in mails point at the portal's public URL (the same rule as better-auth's base
 * URL: BETTER_AUTH_URL, PORTAL_URL, else http://localhost:PORT). Framework-free.
 */
export interface MailSettings {
  /** nodemailer connection URL; it may hold credentials, so it is never logged. */
  smtpUrl: string;
  from: string;
  baseUrl: string;
}

export function mailSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MailSettings | undefined {
  const smtpUrl = env.PORTAL_SMTP_URL?.trim();
  if (!smtpUrl) return undefined;
  return { smtpUrl, from: env.PORTAL_MAIL_FROM?.trim() || 'CPNP portal <cpnp-portal@localhost>', baseUrl: portalBaseUrl(env) };
}

export function portalBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.BETTER_AUTH_URL ?? env.PORTAL_URL ?? `http://localhost:${env.PORT ?? '3000'}`).replace(/\/+$/, '');
}

/** The SMTP URL without its password, for log lines. */
export function redactSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable PORTAL_SMTP_URL)';
  }
}
