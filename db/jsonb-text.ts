/**
 * jsonb is selected as text (`col::text`) and parsed here rather than by `pg`'s JSON.parse, which would
 * silently change numbers a double cannot hold (jsonb keeps them as exact `numeric`).
 */
import { parse } from 'lossless-json';
import { jsonNumberOf } from '../transform/json-number';

/** A JSON string (skipped) or a number token; scanned in order, so digits inside strings are never numbers. */
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * True when every number in the JSON `text` is spelled as JavaScript writes its double (what jsonNumberOf
 * keeps as a plain number), so JSON.parse gives exactly what the lossless parse would.
 */
export function numbersAreExactDoubles(text: string): boolean {
  STRING_OR_NUMBER.lastIndex = 0;
  for (let m = STRING_OR_NUMBER.exec(text); m !== null; m = STRING_OR_NUMBER.exec(text)) {
    const token = m[0];
    if (token.charCodeAt(0) !== 34 /* " */ && String(Number(token)) !== token) return false;
  }
  return true;
}

/**
 * A JSON value whose numbers are doubles where exact and JsonNumbers elsewhere (transform/json-number.ts).
 * The lossless parser is several times slower than JSON.parse, which gives the same value when no number
 * needs a JsonNumber (checked by a scan) and the keys are unique, as they always are in jsonb text.
 */
export function parseJsonbText(text: string): unknown {
  return numbersAreExactDoubles(text) ? JSON.parse(text) : parse(text, null, jsonNumberOf);
}

/**
 * The legacy payload columns, for a query over plan_artifacts aliased `alias`: the whole document as
 * text, and its `summary` and `events` (the parts stored as jsonb) again on their own.
 */
export function legacyPayloadSql(alias: string): string {
  return `${alias}.payload::text AS payload, jsonb_build_array(${alias}.payload->'summary', ${alias}.payload->'events')::text AS payload_exact`;
}

export interface LegacyPayloadColumns {
  payload: string;
  payload_exact: string;
}

/**
 * jsonb writes numbers out in full, never with an exponent, so a non-zero number too small for a double
 * (which JSON.parse would make 0) shows as "0." and hundreds of zeros; a double's smallest normal is 2.2e-308.
 */
const MAYBE_UNDERFLOW = `.${'0'.repeat(300)}`;

/**
 * The payload selected through `legacyPayloadSql`, parsed losslessly where it matters at a small cost:
 * the lossless parser is about 4x slower than JSON.parse, so the bulk (series, KPIs) goes through
 * JSON.parse, whose only loss there is one float8 shares (rounding to a double), except for overflow,
 * which it shows as Infinity, and underflow, which MAYBE_UNDERFLOW detects; `summary` and `events`,
 * stored as jsonb, come from their own lossless parse.
 */
export function parseLegacyPayload(r: LegacyPayloadColumns): unknown {
  if (r.payload.includes(MAYBE_UNDERFLOW)) return parseJsonbText(r.payload);
  const payload: unknown = JSON.parse(r.payload);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  const [summary, events] = parseJsonbText(r.payload_exact) as [unknown, unknown];
  const doc = payload as Record<string, unknown>;
  if ('summary' in doc) doc.summary = summary;
  if ('events' in doc) doc.events = events;
  return doc;
}
