/**
 * Canonical JSON for checksums: the same data gives the same text whatever its key order or number
 * spelling, so a legacy document and its copy read back from PostgreSQL hash alike. And `jsonText`,
 * the exact text of a value for writing it to jsonb.
 */
import { canonicalNumberText, JsonNumber } from './json-number';

/**
 * True for a plain JSON-style object (not null, not an array, not a Date/Map/JsonNumber...). Uses the tag
 * rather than the prototype because Temporal's workflow sandbox has its own `Object.prototype`.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof JsonNumber) &&
    Object.prototype.toString.call(value) === '[object Object]'
  );
}

function writeJson(value: unknown, canonical: boolean): string {
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
      if (value instanceof JsonNumber) return canonical ? canonicalNumberText(value.text) : value.text;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + writeJson(value[i], canonical);
        return out + ']';
      }
      if (!isPlainObject(value)) {
        throw new TypeError(`canonicalJson: not a plain object (${Object.prototype.toString.call(value)})`);
      }
      const keys = canonical ? Object.keys(value).sort() : Object.keys(value);
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        out += (i === 0 ? '' : ',') + JSON.stringify(keys[i]) + ':' + writeJson(value[keys[i]], canonical);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} is not a JSON value`);
  }
}

/**
 * Serializes `value` with object keys sorted by UTF-16 code unit at every level, no whitespace,
 * -0 written as 0, doubles in JavaScript's shortest round-trip form and JsonNumbers by their exact
 * value in the same notation (canonicalNumberText), so a number hashes alike however it was spelled.
 * Throws a TypeError on anything that is not JSON: non-finite numbers, undefined, functions, bigints,
 * symbols and non-plain objects (a Date must be converted by the caller, not silently via toJSON).
 */
export function canonicalJson(value: unknown): string {
  return writeJson(value, true);
}

/** JSON text of `value` in its own key order, JsonNumbers as their source text: what jsonb then holds exactly. */
export function jsonText(value: unknown): string {
  return writeJson(value, false);
}
