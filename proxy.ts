// Optimistic check before rendering a portal page (Next.js 16 "proxy", formerly middleware):
// no session cookie at all means "sign in first", and the sign-in page sends the user back.
// Only the cookie's presence is checked here; the layout (requireUser) validates the session.
import { getSessionCookie } from 'better-auth/cookies';
import { NextResponse, type NextRequest } from 'next/server';

export function proxy(request: NextRequest) {
  if (getSessionCookie(request)) return NextResponse.next();
  const url = new URL('/sign-in', request.url);
  url.searchParams.set('next', `${request.nextUrl.pathname}${request.nextUrl.search}`);
  return NextResponse.redirect(url);
}

export const config = { matcher: ['/orders/:path*', '/approvals/:path*', '/history/:path*', '/dashboard/:path*', '/provider-queue/:path*'] };
