import { MethodTable } from '@/components/MethodTable';
import { SiteFooter } from '@/components/SiteFooter';
import { SiteHeader } from '@/components/SiteHeader';
import { StatusCodeTable } from '@/components/StatusCodeTable';

const STEPS = [
  {
    title: 'Quote',
    text: 'Describe the connectivity you need as a Connectivity Provisioning Document (CPD) and send it to one or more Network Providers in a QUOTATION.',
  },
  {
    title: 'Negotiate',
    text: 'Providers answer with PROCESSING and OFFER messages; accept an offer, decline it, or cancel the order before an agreement is reached.',
  },
  {
    title: 'Operate',
    text: 'Activate, update or withdraw an agreed service. Every exchange runs over DTLS-secured UDP by default (RFC 8921 section 8.1).',
  },
] as const;

export default function HomePage() {
  return (
    <div className="flex min-h-screen flex-col">
      <SiteHeader />
      <main className="mx-auto w-full max-w-5xl flex-1 space-y-12 px-6 py-10">
        <section aria-labelledby="page-heading" className="space-y-4">
          <h1 id="page-heading" className="text-3xl font-bold tracking-tight sm:text-4xl">
            CPNP — Customer Order Management
          </h1>
          <p className="max-w-3xl text-lg text-slate-700">
            A Customer Order Management portal for the Connectivity Provisioning Negotiation Protocol (RFC
            8921): order connectivity services from Network Providers and
            negotiate their terms, one CPNP transaction at a time.
          </p>
          <ol className="grid gap-4 sm:grid-cols-3">
            {STEPS.map((step, index) => (
              <li key={step.title} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
                <p className="font-semibold">
                  <span className="mr-2 text-sky-700" aria-hidden="true">
                    {index + 1}.
                  </span>
                  {step.title}
                </p>
                <p className="mt-1 text-sm text-slate-600">{step.text}</p>
              </li>
            ))}
          </ol>
        </section>

        <section aria-labelledby="methods-heading" className="space-y-3">
          <h2 id="methods-heading" className="text-xl font-semibold">
            CPNP methods
          </h2>
          <p className="text-sm text-slate-600">
            The eleven operations of RFC 8921 section 9.2, rendered on the server from the project&apos;s protocol library.
          </p>
          <MethodTable />
        </section>

        <section aria-labelledby="status-heading" className="space-y-3">
          <h2 id="status-heading" className="text-xl font-semibold">
            FAIL status codes
          </h2>
          <p className="text-sm text-slate-600">
            The reasons a FAIL message can carry (RFC 8921 section 9.2.10).
          </p>
          <StatusCodeTable />
        </section>
      </main>
      <SiteFooter />
    </div>
  );
}
