import { STATUS_CODE_DESCRIPTIONS, type StatusCodeValue } from '@/lib/cpnp/status-code';

interface StatusRow {
  code: StatusCodeValue;
  label: string;
  detail: string;
}

/** Splits "Label: detail" (the library's description form) into its two parts. */
function toRow(code: StatusCodeValue, description: string): StatusRow {
  const colon = description.indexOf(': ');
  return colon < 0
    ? { code, label: description, detail: '' }
    : { code, label: description.slice(0, colon), detail: description.slice(colon + 2) };
}

const ROWS: readonly StatusRow[] = (Object.entries(STATUS_CODE_DESCRIPTIONS) as [string, string][])
  .map(([code, description]) => toRow(Number(code) as StatusCodeValue, description))
  .sort((a, b) => a.code - b.code);

/** The FAIL status codes (RFC 8921 section 9.2.10, Table 4), rendered from the protocol library. */
export function StatusCodeTable() {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
      <table className="w-full text-left text-sm" aria-labelledby="status-heading">
        <thead className="bg-slate-100 text-slate-700">
          <tr>
            <th scope="col" className="w-20 px-4 py-2 font-semibold">Code</th>
            <th scope="col" className="px-4 py-2 font-semibold">Status</th>
            <th scope="col" className="px-4 py-2 font-semibold">Meaning</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {ROWS.map(({ code, label, detail }) => (
            <tr key={code}>
              <td className="px-4 py-2 font-mono tabular-nums">{code}</td>
              <th scope="row" className="px-4 py-2 font-medium">{label}</th>
              <td className="px-4 py-2 text-slate-600">{detail || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
