/**
 * The portal's better-auth instance in the Next.js server (config.ts explains the settings).
 * `nextCookies()` is the last plugin, so cookies set by server-side auth calls reach the browser.
 */
import 'server-only';
import { nextCookies } from 'better-auth/next-js';
import { portalDb } from '../db/client';
import { authSettingsFromEnv, createPortalAuth, type PortalAuth } from './config';

const globalKey = Symbol.for('cpnp.portal.auth');
type Holder = { [globalKey]?: PortalAuth };

/** The process-wide instance, created on first use (not at import: `next build` imports routes). */
export function portalAuth(): PortalAuth {
  const holder = globalThis as Holder;
  holder[globalKey] ??= createPortalAuth(portalDb(), authSettingsFromEnv(), [nextCookies()]);
  return holder[globalKey];
}
