/**
 * Creating accounts outside the sign-up endpoint (which is off by default): the CLI
 * (`cpnp portal user add`) and the demo seed. Writes the same rows better-auth's email sign-up
 * writes: a User, and a "credential" Account holding the scrypt hash made by better-auth's
 * own hasher, so better-auth verifies the password at sign-in. Framework-free.
 */
import { randomUUID } from 'node:crypto';
import { hashPassword } from 'better-auth/crypto';
import { z } from 'zod';
import type { PortalDbClient } from '../db/client';
import { ROLES, type Role } from '../db/types';

export const newUserSchema = z.object({
  email: z.email().max(254).transform((s) => s.toLowerCase()),
  password: z.string().min(10, 'at least 10 characters').max(128),
  name: z.string().trim().min(1).max(120),
  role: z.enum(ROLES),
  /** Organisation name; created when missing. */
  organisation: z.string().trim().min(1).max(120),
});
export type NewUser = z.input<typeof newUserSchema>;

export type AddUserResult =
  | { ok: true; userId: string; organisationId: string; created: boolean }
  | { ok: false; message: string };

/** The organisation's id, creating it when it does not exist. */
export async function ensureOrganisation(db: PortalDbClient, name: string): Promise<string> {
  const org = await db.organisation.upsert({ where: { name }, update: {}, create: { name }, select: { id: true } });
  return org.id;
}

/**
 * Adds a user. `ifExists: 'keep'` (the seed) leaves an existing account untouched;
 * `'fail'` (the CLI) refuses a duplicate email.
 */
export async function addUser(db: PortalDbClient, input: NewUser, ifExists: 'keep' | 'fail' = 'fail'): Promise<AddUserResult> {
  const parsed = newUserSchema.safeParse(input);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const v = parsed.data;
  const existing = await db.user.findUnique({ where: { email: v.email }, select: { id: true, organisationId: true } });
  if (existing) {
    if (ifExists === 'keep') return { ok: true, userId: existing.id, organisationId: existing.organisationId, created: false };
    return { ok: false, message: `a user with email ${v.email} exists already` };
  }
  const organisationId = await ensureOrganisation(db, v.organisation);
  const hash = await hashPassword(v.password);
  const userId = randomUUID();
  await db.$transaction([
    db.user.create({ data: { id: userId, email: v.email, name: v.name, role: v.role satisfies Role, organisationId, emailVerified: true } }),
    db.account.create({ data: { id: randomUUID(), accountId: userId, providerId: 'credential', userId, password: hash } }),
  ]);
  return { ok: true, userId, organisationId, created: true };
}
