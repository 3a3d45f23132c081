/** A service result as an HTTP JSON response (route handlers of app/api/portal). */
import 'server-only';
import type { ServiceResult } from '../result';
import { httpStatus } from './queries';

export function respond<T>(result: ServiceResult<T>, signedIn: boolean): Response {
  const headers = { 'cache-control': 'no-store' };
  if (!signedIn) return Response.json({ ok: false, code: 'forbidden', message: 'Sign in first.' }, { status: 401, headers });
  return Response.json(result, { status: result.ok ? 200 : httpStatus(result.code), headers });
}
