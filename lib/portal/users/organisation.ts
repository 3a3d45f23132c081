import 'server-only';
import { portalDb } from '../db/client';

/** The organisation's display name (the user's own; used in the navigation). */
export async function organisationName(organisationId: string): Promise<string> {
  const org = await portalDb().organisation.findUnique({ where: { id: organisationId }, select: { name: true } });
  return org?.name ?? 'no organisation';
}
