/**
 * Canonical JSON for checksums: the same data gives the same text whatever its key order or number
 * spelling, so a legacy document and its copy read back from PostgreSQL hash alike.
 */

/**
 * True for a plain JSON-style object (not null, not an array, not a Date/Map/...). Uses the tag rather
 * than the prototype because Temporal's workflow sandbox has its own `Object.prototype`.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Object]';
}

/**
 * Serializes `value` with object keys sorted by UTF-16 code unit at every level, no whitespace,
 * -0 written as 0 and other numbers in JavaScript's shortest round-trip form.
 * Throws a TypeError on anything that is not JSON: non-finite numbers, undefined, functions, bigints,
 * symbols and non-plain objects (a Date must be converted by the caller, not silently via toJSON).
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return value === 0 ? '0' : String(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return out + ']';
      }
      if (!isPlainObject(value)) {
        throw new TypeError(`canonicalJson: not a plain object (${Object.prototype.toString.call(value)})`);
      }
      const keys = Object.keys(value).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        out += (i === 0 ? '' : ',') + JSON.stringify(keys[i]) + ':' + canonicalJson(value[keys[i]]);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} is not a JSON value`);
  }
}
