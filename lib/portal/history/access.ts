/** Who may read the operator's views (history, export, dashboard): admins and staff, never customers. */
import type { SessionUser } from '../auth/session';
import { fail, type ServiceError } from '../result';

export function canReadHistory(user: SessionUser): boolean {
  return user.role === 'admin' || user.role === 'staff';
}

export const HISTORY_FORBIDDEN: ServiceError = fail('forbidden', 'Only staff and administrators see the order history.');
