import type { ReactNode } from 'react';
import { PortalNav } from '@/components/portal/PortalNav';
import { QueryProvider } from '@/components/portal/QueryProvider';
import { requireUser } from '@/lib/portal/auth/session';
import { organisationName } from '@/lib/portal/users/organisation';

// Every page below needs the session: never prerendered.
export const dynamic = 'force-dynamic';

export default async function PortalLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  return (
    <QueryProvider>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <PortalNav user={user} organisation={await organisationName(user.organisationId)} />
      <main id="main" className="mx-auto w-full max-w-6xl px-6 py-8">
        {children}
      </main>
    </QueryProvider>
  );
}
