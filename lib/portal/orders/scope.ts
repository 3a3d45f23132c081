/**
 * Organisation scoping: every order query goes through `orderWhere`, so a customer can only
 * ever read or act on its organisation's orders. Admins and staff (the operator) see all.
 */
import type { SessionUser } from '../auth/session';
import type { Prisma } from '../db/client';

export function orderWhere(user: SessionUser, extra: Prisma.OrderWhereInput = {}): Prisma.OrderWhereInput {
  if (user.role === 'customer') return { ...extra, organisationId: user.organisationId };
  return extra;
}

/** Customers place and steer orders; admins approve; staff only read. */
export function canPlaceOrders(user: SessionUser): boolean {
  return user.role === 'customer';
}
