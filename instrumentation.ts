/**
 * Next.js start-up hook: starts the portal's embedded CPNP client (the engine host) once per
 * server process, in the Node.js runtime only (never in the Edge runtime, never in the browser).
 * PORTAL_ENGINE=0 leaves it off (e.g. a second web process that must not own the sockets).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs' || process.env.PORTAL_ENGINE === '0') return;
  const { startNegotiationHost } = await import('./lib/portal/negotiation/start');
  try {
    await startNegotiationHost();
  } catch (error) {
    console.error(`cpnp host: could not start: ${error instanceof Error ? error.stack : String(error)}`);
  }
  // Deadline sweep and the mail outbox sender (PORTAL_SMTP_URL), beside the host.
  const { startNotifications } = await import('./lib/portal/notifications/start');
  startNotifications();
}
