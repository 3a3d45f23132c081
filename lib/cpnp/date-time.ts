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
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Whether `text` is a CPNP date-time: the form of RE, read with character codes (no match
 * array: this runs for every date-time of every message encoded or decoded, issue 8).
 */
export function isDateTime(text: string): text is DateTime {
  const length = text.length;
  // "YYYY-MM-DDTHH:MM:SSZ" (20), or with "." and 1..9 fraction digits before the Z (22..30).
  if (length !== 20 && (length < 22 || length > 30)) return false;
  if (text.charCodeAt(length - 1) !== 0x5a) return false; // Z
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54) return false; // - - T
  if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return false; // : :
  if (length > 20) {
    if (text.charCodeAt(19) !== 0x2e) return false; // .
    if (digits(text, 20, length - 21) < 0) return false;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  return (
    year >= 0 && hour >= 0 && minute >= 0 && second >= 0 &&
    month >= 1 && month <= 12 &&
    day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 &&
    second <= 60 // RFC 3339 section 5.6 allows a leap second
  );
}

/** The decimal value of `count` ASCII digits at `from`, or -1 if one is not a digit 0-9. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
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
