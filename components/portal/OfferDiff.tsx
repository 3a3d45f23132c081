import type { Cpd } from '@/lib/cpnp';
import { diffCpd } from '@/lib/cpnp/cpd/diff';
import { humanPath, TONE_CLASSES, VERDICT_LABELS } from '@/lib/portal/labels';
import { formatValue } from './CpdView';

/** Clause-by-clause comparison of an offer with the request, verdicts in words. */
export function OfferDiff({ requested, offered, caption }: { requested: Cpd; offered: Cpd; caption: string }) {
  const diff = diffCpd(requested, offered);
  const s = diff.summary;
  return (
    <div className="space-y-2">
      <p className="text-sm">
        Overall: <strong>{VERDICT_LABELS[s.overall].label.toLowerCase()}</strong> the request — {s.meets} meet, {s.narrows} narrow, {s.misses} miss,{' '}
        {s.extra} extra.
      </p>
      <div className="overflow-x-auto">
        <table className="w-full text-left text-xs sm:text-sm">
          <caption className="sr-only">{caption}</caption>
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-600">
            <tr>
              <th scope="col" className="py-1 pr-1.5 sm:pr-2">Clause</th>
              <th scope="col" className="py-1 pr-1.5 sm:pr-2">Requested</th>
              <th scope="col" className="py-1 pr-1.5 sm:pr-2">Offered</th>
              <th scope="col" className="py-1">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {diff.entries.map((e, i) => {
              const v = VERDICT_LABELS[e.verdict];
              return (
                <tr key={i} className="border-b border-slate-100 align-top">
                  <th scope="row" className="py-1 pr-1.5 font-medium [overflow-wrap:anywhere] sm:pr-2">{humanPath(e.path, requested.length > 1 || offered.length > 1) || e.clause}</th>
                  <td className="py-1 pr-1.5 [overflow-wrap:anywhere] sm:pr-2">{formatValue(e.requested)}</td>
                  <td className="py-1 pr-1.5 [overflow-wrap:anywhere] sm:pr-2">{formatValue(e.offered)}</td>
                  <td className="py-1">
                    <span className={`inline-flex items-center gap-1 whitespace-nowrap rounded px-1 py-0.5 text-xs font-medium ring-1 ring-inset sm:px-1.5 ${TONE_CLASSES[v.tone]}`}>
                      <span aria-hidden="true">{v.icon}</span>
                      {v.label}
                    </span>
                    {e.verdict !== 'meets' && <span className="block text-xs text-slate-600">{e.note}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
