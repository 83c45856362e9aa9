/**
 * JSON numbers that a double cannot carry. jsonb holds numbers as `numeric`, so a legacy `summary` or
 * event `detail` may hold 12345678901234567890123, 9007199254740993 or 1.50, which JSON.parse would turn
 * into other values. Parsed losslessly (db/jsonb-text.ts), such a number stays a JsonNumber with its
 * text, which is written back as is and checksummed by its exact decimal value. Pure.
 */
export class JsonNumber {
  constructor(readonly text: string) {}

  /** For displays and logs only: writes go through jsonText, which keeps `text`. */
  toJSON(): number {
    return Number(this.text);
  }
}

/** The number parser of a lossless parse: a double when it spells the number exactly as `text` does, else a JsonNumber. */
export function jsonNumberOf(text: string): number | JsonNumber {
  const n = Number(text);
  return String(n) === text ? n : new JsonNumber(text);
}

const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The number written as JavaScript writes a double (ECMAScript Number::toString: plain digits up to
 * 1e21, exponent form outside [1e-7, 1e21)), but from the exact decimal value of `text`, with every digit
 * kept. So it equals String(Number(text)) whenever the double is exact, and 1.50 and 1.5 agree.
 */
export function canonicalNumberText(text: string): string {
  const m = DECIMAL.exec(text);
  if (m === null || (m[2] === '' && !m[3])) throw new TypeError(`canonicalNumberText: ${JSON.stringify(text)} is not a JSON number`);
  const whole = m[2] + (m[3] ?? '');
  const lead = whole.length - whole.replace(/^0+/, '').length;
  const digits = whole.slice(lead).replace(/0+$/, '');
  if (digits === '') return '0';
  // value = 0.digits x 10^n
  const n = m[2].length - lead + Number(m[4] ?? 0);
  const k = digits.length;
  let out: string;
  if (k <= n && n <= 21) out = digits + '0'.repeat(n - k);
  else if (0 < n && n <= 21) out = `${digits.slice(0, n)}.${digits.slice(n)}`;
  else if (-6 < n && n <= 0) out = `0.${'0'.repeat(-n)}${digits}`;
  else {
    const e = n - 1;
    out = `${digits[0]}${k > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  return m[1] + out;
}
