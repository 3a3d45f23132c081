/**
 * What services return: a value, or an expected error the UI can show. Services never throw for
 * these; anything thrown is a bug or an outage and reaches error.tsx.
 */
/** `unavailable`: another server the portal relies on did not answer (a provider's admin endpoint). */
export type ServiceErrorCode = 'not-found' | 'forbidden' | 'invalid' | 'wrong-state' | 'conflict' | 'unavailable';

export type ServiceResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ServiceErrorCode; message: string; fieldErrors?: Record<string, string[]> };

export type ServiceError = Extract<ServiceResult<never>, { ok: false }>;

export function ok<T>(value: T): ServiceResult<T> {
  return { ok: true, value };
}

export function fail(code: ServiceErrorCode, message: string, fieldErrors?: Record<string, string[]>): ServiceError {
  return fieldErrors ? { ok: false, code, message, fieldErrors } : { ok: false, code, message };
}

/**
 * The answer for an order the user may not see. Deliberately the same as for an order that
 * does not exist, so that ids of other organisations' orders cannot be probed.
 */
export const ORDER_NOT_FOUND: ServiceError = { ok: false, code: 'not-found', message: 'No such order.' };
