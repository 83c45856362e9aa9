/**
 * What PostgreSQL refuses to store, checked before a batch is written: one such value would fail the
 * whole batch's COPY. Pure (no Buffer, no TextEncoder), so workflow code may import it.
 */

/**
 * Budget for the text columns of one primary-key entry, in UTF-8 bytes. A btree index row may hold
 * about 2,700 bytes (a third of an 8 kB page, less tuple headers); 2,600 leaves room for those headers,
 * the integer columns and the varlena length words, without relying on index compression.
 */
export const KEY_TEXT_BYTES_LIMIT = 2600;

/** UTF-8 length of `s` as PostgreSQL receives it (a lone surrogate is sent as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** PostgreSQL text and jsonb cannot hold U+0000. */
export const hasNul = (s: string): boolean => s.includes('\u0000');

/**
 * The text of a JSON number (or a numeric string) as a float8, or why it cannot be one:
 * `overflow` beyond ±1.8e308, `underflow` for a non-zero value that would round to 0 (PostgreSQL
 * refuses both; JavaScript would silently give Infinity or 0). Denormals are accepted, as PostgreSQL does.
 */
export function float8FromText(text: string): number | 'overflow' | 'underflow' {
  const n = Number(text);
  if (n === Infinity || n === -Infinity) return 'overflow';
  if (n === 0 && /[1-9]/.test(text.split(/[eE]/)[0])) return 'underflow';
  return n;
}
