// better-auth's endpoints (sign-in, sign-out, session) under /api/auth. The instance is made on
// the first request, not at import, because `next build` imports route modules.
import { toNextJsHandler } from 'better-auth/next-js';
import { portalAuth } from '@/lib/portal/auth/auth';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return toNextJsHandler(portalAuth()).GET(request);
}

export function POST(request: Request) {
  return toNextJsHandler(portalAuth()).POST(request);
}
