/**
 * better-auth configuration for the portal (https://better-auth.com/docs), shared by the Next.js
 * server (auth.ts) and tests, which build an instance on a temporary database.
 *
 * - Email + password; the hash is better-auth's scrypt (memory-hard).
 * - Public sign-up is off unless PORTAL_ALLOW_SIGNUP=1; accounts come from the CLI
 *   (`cpnp portal user add`) or the demo seed. With sign-up on, a new user becomes a customer of
 *   the organisation PORTAL_SIGNUP_ORGANISATION (an id), set by a database hook, never by input.
 * - `role` and `organisationId` are additional fields with `input: false`: nobody can give
 *   themselves a role or an organisation through the API.
 * - CSRF/Origin checks are on explicitly: better-auth turns them off by itself when
 *   NODE_ENV=test or TEST is set.
 * - Cookies: HttpOnly and SameSite=Lax (better-auth's defaults), Secure when the base URL is
 *   https. Sign-in creates a new session token (rotation); sign-out deletes it.
 * - Sign-in rate limiting is on in every environment, counters in the database so they survive
 *   restarts.
 */
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import type { PortalDbClient } from '../db/client';
import { consumeSignInAttempt } from './account-limit';

export interface PortalAuthSettings {
  /** The portal's public URL; its origin is trusted and its scheme decides Secure cookies. */
  baseURL: string;
  /** Further trusted origins (e.g. the same server reached as 127.0.0.1 and localhost). */
  trustedOrigins: string[];
  /** Signs session cookies; at least 32 characters. */
  secret: string;
  allowSignUp: boolean;
  /** The organisation that signed-up users join (required when allowSignUp). */
  signUpOrganisationId?: string;
  /** Sign-in attempts allowed per client address within `signInWindowSeconds`. */
  signInMax: number;
  signInWindowSeconds: number;
  /** Sign-in attempts allowed per account (email) within `accountWindowSeconds`. */
  accountMax: number;
  accountWindowSeconds: number;
}

/** Settings from the environment (scripts/start.mjs sets BETTER_AUTH_SECRET and PORT). */
export function authSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PortalAuthSettings {
  const port = env.PORT ?? '3000';
  const baseURL = env.BETTER_AUTH_URL ?? env.PORTAL_URL ?? `http://localhost:${port}`;
  const extra = (env.PORTAL_TRUSTED_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    baseURL,
    trustedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`, ...extra],
    // next build evaluates modules without a secret; a real server always gets one from
    // scripts/start.mjs or the environment, and better-auth refuses the default in production.
    secret: env.BETTER_AUTH_SECRET ?? '',
    allowSignUp: env.PORTAL_ALLOW_SIGNUP === '1' && Boolean(env.PORTAL_SIGNUP_ORGANISATION),
    signUpOrganisationId: env.PORTAL_SIGNUP_ORGANISATION,
    signInMax: Number(env.PORTAL_SIGNIN_MAX ?? 10),
    signInWindowSeconds: Number(env.PORTAL_SIGNIN_WINDOW ?? 60),
    accountMax: Number(env.PORTAL_ACCOUNT_SIGNIN_MAX ?? 10),
    accountWindowSeconds: Number(env.PORTAL_ACCOUNT_SIGNIN_WINDOW ?? 300),
  };
}

export function authOptions(db: PortalDbClient, settings: PortalAuthSettings) {
  return {
    appName: 'CPNP portal',
    baseURL: settings.baseURL,
    trustedOrigins: settings.trustedOrigins,
    ...(settings.secret ? { secret: settings.secret } : {}),
    database: prismaAdapter(db, { provider: 'sqlite', transaction: true }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: !settings.allowSignUp,
      minPasswordLength: 10,
      // Sign-in is the point where the session is created: the token is always a new one.
      autoSignIn: false,
    },
    user: {
      additionalFields: {
        role: { type: 'string', required: false, defaultValue: 'customer', input: false },
        // Not required at input (it is input: false); the sign-up hook and the CLI always set it.
        organisationId: { type: 'string', required: false, input: false },
      },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== '/sign-in/email') return;
        const email: unknown = (ctx.body as { email?: unknown } | undefined)?.email;
        if (typeof email !== 'string') return;
        const allowed = await consumeSignInAttempt(db, email, { max: settings.accountMax, windowSeconds: settings.accountWindowSeconds });
        if (!allowed) throw new APIError('TOO_MANY_REQUESTS', { message: 'Too many sign-in attempts for this account. Try again later.' });
      }),
    },
    databaseHooks: {
      user: {
        create: {
          // Accounts made by the CLI and the seed write the database directly; this runs only
          // for public sign-up, which is off unless configured.
          before: async (user) => ({ data: { ...user, role: 'customer', organisationId: settings.signUpOrganisationId ?? '' } }),
        },
      },
    },
    session: {
      expiresIn: 60 * 60 * 8,
      updateAge: 60 * 60,
    },
    rateLimit: {
      enabled: true,
      storage: 'database',
      window: 60,
      max: 100,
      customRules: {
        '/sign-in/email': { window: settings.signInWindowSeconds, max: settings.signInMax },
      },
    },
    advanced: {
      // Explicit: better-auth turns both off under NODE_ENV=test / TEST.
      disableOriginCheck: false,
      disableCSRFCheck: false,
      useSecureCookies: settings.baseURL.startsWith('https://'),
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax' },
      // `next start` forwards the client address in x-forwarded-for; the rate limit keys on it.
      ipAddress: { ipAddressHeaders: ['x-forwarded-for'] },
    },
    telemetry: { enabled: false },
  } satisfies BetterAuthOptions;
}

export function createPortalAuth(db: PortalDbClient, settings: PortalAuthSettings, plugins: BetterAuthOptions['plugins'] = []) {
  return betterAuth({ ...authOptions(db, settings), plugins });
}

export type PortalAuth = ReturnType<typeof createPortalAuth>;
