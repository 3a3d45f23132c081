/**
 * Who is signed in. `getUser()` for pages that work signed out; `requireUser()` redirects to
 * the sign-in page otherwise. Role and organisation come from the user row (better-auth
 * additional fields), never from the request.
 */
import 'server-only';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { isOneOf, ROLES, type Role } from '../db/types';
import { portalAuth } from './auth';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  organisationId: string;
}

/** The session's user, or null. Memoised per request. */
export const getUser = cache(async (): Promise<SessionUser | null> => {
  const session = await portalAuth().api.getSession({ headers: await headers() });
  if (!session) return null;
  return toSessionUser(session.user);
});

export function toSessionUser(user: { id: string; email: string; name: string; role?: unknown; organisationId?: unknown }): SessionUser | null {
  // A row with an unknown role or no organisation is not a usable account: treat as signed out.
  if (!isOneOf(ROLES, user.role) || typeof user.organisationId !== 'string' || user.organisationId === '') return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role, organisationId: user.organisationId };
}

/** The signed-in user; redirects to /sign-in (and back to `returnTo` afterwards) otherwise. */
export async function requireUser(returnTo?: string): Promise<SessionUser> {
  const user = await getUser();
  if (!user) redirect(returnTo ? `/sign-in?next=${encodeURIComponent(returnTo)}` : '/sign-in');
  return user;
}
