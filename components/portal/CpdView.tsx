import type { Cpd } from '@/lib/cpnp';
import { CLAUSES } from '@/lib/cpnp/cpd/diff';

/** Renders any CPD value for people: ranges as "10–100 (prefer 50)", lists joined, maps nested. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return value.map((v) => formatValue(v)).join(', ');
    return value.map((v) => formatValue(v)).join('; ');
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('min' in o || 'max' in o || 'pref' in o) {
      const range = `${o.min ?? '…'}–${o.max ?? '…'}`;
      return o.pref !== undefined ? `${range} (prefer ${o.pref})` : range;
    }
    if ('oneOf' in o && Array.isArray(o.oneOf)) return `one of ${o.oneOf.join(', ')}`;
    return Object.entries(o)
      .map(([k, v]) => `${label(k)}: ${formatValue(v)}`)
      .join(', ');
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

function label(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

function clauseName(key: string): string {
  const clause = (CLAUSES as Record<string, string>)[key];
  return clause ? `${label(key)} (${clause.replace(/^RFC 7297 /, 'RFC 7297 §')})` : label(key);
}

/** A CPD as one description list per CPP, clause by clause. */
export function CpdView({ cpd, headingLevel = 3 }: { cpd: Cpd; headingLevel?: 3 | 4 }) {
  const H = headingLevel === 3 ? 'h3' : 'h4';
  if (cpd.length === 0) return <p className="text-sm text-slate-600">Empty CPD (no clauses).</p>;
  return (
    <div className="space-y-4">
      {cpd.map((cpp, i) => (
        <section key={i} className="rounded-md border border-slate-200 bg-white p-3" aria-label={`Component ${cpp.component ?? i + 1}`}>
          <H className="mb-2 text-sm font-semibold">Component {cpp.component ?? `#${i + 1}`}</H>
          <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[12rem_1fr]">
            {Object.entries(cpp)
              .filter(([k]) => k !== 'component')
              .map(([k, v]) => (
                <div key={k} className="contents">
                  <dt className="font-medium text-slate-700">{clauseName(k)}</dt>
                  <dd className="break-words text-slate-900">{formatValue(v)}</dd>
                </div>
              ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
