/**
 * CSV of the history export (RFC 4180: comma, CRLF, fields quoted when needed), safe to open in
 * a spreadsheet: a field that starts with = + - @ tab or CR would be read as a formula (OWASP
 * "CSV injection"), so it gets a leading apostrophe, which spreadsheets show as text.
 * The column set is documented in docs/portal.md ("History export") and must stay stable.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One field, neutralised and quoted as needed. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  // Numbers we write ourselves (counts, ids) are safe; any text that a spreadsheet would
  // evaluate is prefixed, including negative-looking text such as "-1+2".
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(fields: readonly (string | number | boolean | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** The export's columns, in order. Adding a column appends it; never reorder or rename. */
export const HISTORY_CSV_COLUMNS = [
  'order_id',
  'title',
  'organisation',
  'author',
  'state',
  'state_reason',
  'created_at',
  'updated_at',
  'submitted_at',
  'providers',
  'customer_order_ids',
  'provider_order_ids',
  'client_states',
] as const;
