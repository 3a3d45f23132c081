/**
 * CPNP date-time values (wire-format.md section 4): RFC 3339 date-time text in UTC with a
 * trailing "Z", seconds precision or finer. Offsets other than Z, a space instead of "T", or
 * missing seconds are Message Validation Errors.
 */
declare const dateTimeBrand: unique symbol;
export type DateTime = string & { readonly [dateTimeBrand]: true };

const RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isDateTime(text: string): text is DateTime {
  const m = RE.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  return (
    month >= 1 && month <= 12 &&
    day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 &&
    second <= 60 // RFC 3339 section 5.6 allows a leap second
  );
}

/** Milliseconds since the epoch (sub-millisecond digits are truncated). */
export function dateTimeToMillis(value: DateTime): number {
  const m = RE.exec(value);
  if (!m) throw new RangeError(`not a CPNP date-time: ${value}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/** The canonical text for a moment: whole seconds unless milliseconds are needed. */
export function millisToDateTime(millis: number): DateTime {
  const iso = new Date(millis).toISOString();
  return (iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso) as DateTime;
}

export function asDateTime(text: string): DateTime {
  if (!isDateTime(text)) throw new RangeError(`not a CPNP date-time: ${text}`);
  return text;
}
