/** Page footer: where the protocol comes from. */
export function SiteFooter() {
  return (
    <footer className="border-t border-slate-200 bg-white">
      <div className="mx-auto max-w-5xl px-6 py-4 text-sm text-slate-500">
        Implements{' '}
        <a
          className="underline decoration-slate-300 underline-offset-2 hover:text-slate-700"
          href="https://www.rfc-editor.org/rfc/rfc8921"
        >
          RFC 8921
        </a>
        , Connectivity Provisioning Negotiation Protocol (CPNP). Apache-2.0.
      </div>
    </footer>
  );
}
