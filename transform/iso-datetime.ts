/**
 * Strict ISO-8601 date-time parsing. `Date.parse` alone is not enough: it accepts non-ISO text
 * ("January 1, 2026"), rolls over impossible dates in some engines, and reads a time without offset
 * as the worker's local time, which would make checksums depend on the machine's time zone.
 */

// date, 'T'/'t'/' ', hh:mm[:ss[.fraction]], then Z or ±hh[[:]mm] or nothing (read as UTC).
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * Returns the instant as `Date.prototype.toISOString()` (UTC, milliseconds) followed by the microsecond
 * digits when they are not 000 (timestamptz keeps microseconds; digits past them are truncated), or null
 * when `text` is not a valid ISO-8601 date-time. A missing offset means UTC. Millisecond-only instants
 * keep the exact text toISOString gives, so their checksums do not change.
 * Instants outside years 0001-9999 UTC are refused: PostgreSQL and toISOString disagree on them.
 */
export function parseIsoDateTime(text: string): string | null {
  const m = ISO_DATE_TIME.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offsetHours = m[10] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return null;

  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, millis);
  const offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const instant = new Date(date.getTime() - offset * 60_000);
  const utcYear = instant.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return null;
  // Offsets are whole minutes, so the digits below the millisecond are the same in UTC.
  const micros = m[7] === undefined ? '' : m[7].slice(3, 6).padEnd(3, '0');
  const iso = instant.toISOString();
  return micros === '' || micros === '000' ? iso : `${iso.slice(0, -1)}${micros}Z`;
}
