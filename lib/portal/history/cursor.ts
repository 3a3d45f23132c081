/**
 * Keyset cursors of the history list: the sort column's instant and the order id of a row,
 * as one opaque URL-safe token. Keyset (not OFFSET) so page 2,000 costs what page 1 costs.
 */
export interface HistoryCursor {
  at: Date;
  id: string;
}

export function encodeCursor(c: HistoryCursor): string {
  return Buffer.from(`${c.at.getTime()}.${c.id}`, 'utf8').toString('base64url');
}

/** undefined for anything that is not a cursor this module made (hand-edited URLs). */
export function decodeCursor(token: string | undefined): HistoryCursor | undefined {
  if (!token) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(text);
  if (!m) return undefined;
  const at = new Date(Number(m[1]));
  return Number.isNaN(at.getTime()) ? undefined : { at, id: m[2]! };
}
