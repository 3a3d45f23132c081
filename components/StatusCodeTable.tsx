import { STATUS_CODE_DESCRIPTIONS, type StatusCodeValue } from '@/lib/cpnp/status-code';
import { ReferenceTable } from './ReferenceTable';

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
    <ReferenceTable labelledBy="status-heading" columns={['Status', 'Meaning']}>
      {ROWS.map(({ code, label, detail }) => (
        <tr key={code}>
          <td className="px-4 py-2 font-mono tabular-nums">{code}</td>
          <th scope="row" className="px-4 py-2 font-medium">{label}</th>
          <td className="px-4 py-2 text-slate-600">{detail || '—'}</td>
        </tr>
      ))}
    </ReferenceTable>
  );
}
