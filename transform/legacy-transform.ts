/**
 * Legacy `plan_artifacts.payload` -> normalized plan version (SPEC §3). Pure: workflow code may import it.
 *
 * Decisions where §3 is silent:
 * - `series` missing (or null) is `series_not_array`: §3 lists only kpis/events/summary/run_id as
 *   optional, so a document without the plan's rows is malformed, not empty (`"series": []` is empty).
 * - `summary` present but not an object, or holding a non-JSON value, is `summary_invalid`: the payload
 *   itself is an object, so `payload_not_object` would point the operator at the wrong thing.
 * - `kpis`, `events`, `summary`, an event's `detail`, a KPI's `unit` and an event's `actor` treat an
 *   explicit null like a missing field, as §3 already does for `run_id`: many serializers write absent as null.
 * - `name`, `status`, `run_id` that are not strings become null rather than rejecting the version.
 * - An event `at` without a UTC offset is read as UTC, never as the worker's local time (iso-datetime.ts).
 * - Values PostgreSQL would refuse (an oversized primary key, U+0000 in text, a number outside float8)
 *   are rejected here with their own codes, so they never reach (and fail) a batch's COPY.
 */
import { isPlainObject } from './canonical-json';
import { versionChecksum } from './checksum';
import { parseIsoDateTime } from './iso-datetime';
import { JsonNumber } from './json-number';
import { compareKpis, compareSeries } from './ordering';
import { float8FromText, hasNul, KEY_TEXT_BYTES_LIMIT, utf8Length } from './postgres-limits';
import type {
  Hasher,
  JsonObject,
  LegacyArtifact,
  NormalizedEvent,
  NormalizedKpi,
  NormalizedSeries,
  NormalizedVersion,
  RejectReason,
  TransformResult,
} from './types';

/** Thrown inside the transform, turned into a reject result at its boundary. */
class Rejection extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
    readonly detail: JsonObject,
  ) {
    super(message);
  }
}

function reject(reason: RejectReason, message: string, detail: JsonObject): never {
  throw new Rejection(reason, message, detail);
}

/** `hash` computes the checksum (activities pass node:crypto's, db/native-hash.ts). */
export function transformArtifact(artifact: LegacyArtifact, hash: Hasher): TransformResult {
  try {
    const version = normalize(artifact);
    return { ok: true, version, checksum: versionChecksum(version, hash) };
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, reason: e.reason, message: e.message, detail: e.detail };
    throw e;
  }
}

function normalize(artifact: LegacyArtifact): NormalizedVersion {
  const p = artifact.payload;
  if (!isPlainObject(p)) {
    reject('payload_not_object', `payload is ${describe(p)}, not a JSON object`, { got: describe(p) });
  }
  return {
    planId: artifact.planId,
    version: artifact.version,
    name: storableText(p.name, 'name'),
    status: storableText(p.status, 'status'),
    runId: storableText(p.run_id, 'run_id'),
    summary: normalizeSummary(p.summary),
    series: normalizeSeries(artifact.planId, p.series),
    kpis: normalizeKpis(artifact.planId, p.kpis),
    events: normalizeEvents(p.events),
  };
}

// The checks below run for every series row: callers test first and build labels and details only
// for a value that fails.

/** The value itself is never echoed: it is what cannot be stored. */
function rejectNul(label: string, detail: JsonObject): never {
  return reject('text_has_nul', `${label} contains U+0000 (NUL), which PostgreSQL text and jsonb cannot hold`, detail);
}

/** A string that PostgreSQL text can hold; non-strings are null (see the module comment). */
function storableText(v: unknown, field: string): string | null {
  if (typeof v !== 'string') return null;
  if (hasNul(v)) rejectNul(field, { field });
  return v;
}

/** False when `chars` UTF-16 code units cannot exceed the key budget (at most 3 UTF-8 bytes each). */
const mayExceedKeyBudget = (chars: number): boolean => chars * 3 > KEY_TEXT_BYTES_LIMIT;

/**
 * Rejects a key whose text columns exceed the btree budget of its table's primary key: PostgreSQL
 * would refuse the index row ("index row requires N bytes") and with it the whole batch.
 */
function checkKeySize(table: string, label: string, fields: Record<string, string>, detail: JsonObject): void {
  const sizes = Object.entries(fields).map(([field, v]) => [field, utf8Length(v)] as const);
  const bytes = sizes.reduce((sum, [, n]) => sum + n, 0);
  if (bytes <= KEY_TEXT_BYTES_LIMIT) return;
  const largest = [...sizes].sort((a, b) => b[1] - a[1]);
  reject(
    'key_too_long',
    `${label} has a ${table} primary key of ${bytes} bytes of text, over the ${KEY_TEXT_BYTES_LIMIT}-byte budget of its index ` +
      `(${largest.map(([field, n]) => `${field} ${n} bytes`).join(', ')})`,
    { ...detail, table, bytes, limit: KEY_TEXT_BYTES_LIMIT, fieldBytes: Object.fromEntries(sizes), field: largest[0][0] },
  );
}

/** Strict JSON number syntax: no spaces, no hex, no leading '+', no Infinity/NaN, no bare '.5'. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Float8 = number | 'not_finite' | 'overflow' | 'underflow';

/**
 * A float8 from a JSON number or a string in JSON-number syntax (-0 becomes 0), or why there is none.
 * A JSON number that JSON.parse turned into ±Infinity overflowed, like the string "1e400".
 */
function float8(raw: unknown): Float8 {
  const n =
    typeof raw === 'number'
      ? Number.isNaN(raw) ? 'not_finite' : Number.isFinite(raw) ? raw : 'overflow'
      : raw instanceof JsonNumber ? float8FromText(raw.text)
      : typeof raw === 'string' && JSON_NUMBER.test(raw) ? float8FromText(raw) : 'not_finite';
  return n === 0 ? 0 : n;
}

/** Rejects `raw`, the value at `label`, for which float8() gave `n`. */
function rejectNumber(n: Exclude<Float8, number>, raw: unknown, label: string, detail: JsonObject): never {
  const got = describe(raw);
  if (n === 'not_finite') reject('value_not_finite', `${label} is not a finite number (got ${got})`, { ...detail, field: 'value', got });
  return reject(
    'number_out_of_range',
    `${label} (${got}) ${n === 'overflow' ? 'is too large' : 'is too small (non-zero, but would round to 0)'} for double precision`,
    { ...detail, field: 'value', got, range: n },
  );
}

/** Short, safe description of an offending value for messages and reject details. */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof JsonNumber) return v.text.length > 40 ? `${v.text.slice(0, 40)}…` : v.text;
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return `a ${typeof v}`;
  }
}

interface JsonDefect {
  /** Path suffix (".a[2]"), '' for the value itself. */
  path: string;
  /** `not_json`: a non-finite number, undefined, a non-plain object...; `nul`: a string or key holding U+0000. */
  kind: 'not_json' | 'nul';
}

/** A key as it appears in a path; one holding U+0000 is JSON-quoted so the path itself stays storable. */
const pathKey = (key: string): string => (hasNul(key) ? `[${JSON.stringify(key)}]` : `.${key}`);

/** The first value under `v` that JSON or PostgreSQL jsonb cannot hold, or null if there is none. */
function jsonDefect(v: unknown): JsonDefect | null {
  switch (typeof v) {
    case 'string':
      return hasNul(v) ? { path: '', kind: 'nul' } : null;
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(v) ? null : { path: '', kind: 'not_json' };
    case 'object': {
      if (v === null || v instanceof JsonNumber) return null;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const sub = jsonDefect(v[i]);
          if (sub !== null) return { ...sub, path: `[${i}]${sub.path}` };
        }
        return null;
      }
      if (!isPlainObject(v)) return { path: '', kind: 'not_json' };
      for (const key of Object.keys(v)) {
        if (hasNul(key)) return { path: pathKey(key), kind: 'nul' };
        const sub = jsonDefect(v[key]);
        if (sub !== null) return { ...sub, path: `${pathKey(key)}${sub.path}` };
      }
      return null;
    }
    default:
      return { path: '', kind: 'not_json' };
  }
}

/** Rejects `value` (at `label`) if it holds a defect: `notJson` is the reason for a non-JSON value. */
function checkJson(value: unknown, label: string, notJson: RejectReason, detail: (path: string) => JsonObject): void {
  const defect = jsonDefect(value);
  if (defect === null) return;
  const at = `${label}${defect.path}`;
  if (defect.kind === 'nul') rejectNul(at, detail(defect.path));
  reject(notJson, `${at} is not a JSON value`, detail(defect.path));
}

/**
 * Sorts a copy of `items` (distinct objects); the first pair that compares equal is reported with both
 * original indexes. Sorting the items themselves rather than their indexes keeps the comparator direct;
 * the indexes are looked up only for a duplicate.
 */
function sortUnique<T extends object>(items: T[], compare: (a: T, b: T) => number, onDuplicate: (first: number, dup: number) => never): T[] {
  // Array.prototype.sort is stable, so among equal keys the earlier document index comes first.
  const sorted = items.slice().sort(compare);
  for (let k = 1; k < sorted.length; k++) {
    if (compare(sorted[k - 1], sorted[k]) === 0) onDuplicate(items.indexOf(sorted[k - 1]), items.indexOf(sorted[k]));
  }
  return sorted;
}

function normalizeSummary(raw: unknown): JsonObject {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) reject('summary_invalid', `summary is ${describe(raw)}, not an object`, { field: 'summary', got: describe(raw) });
  checkJson(raw, 'summary', 'summary_invalid', (path) => ({ path: `summary${path}` }));
  return raw as JsonObject;
}

/** The value of key field `field` of series[index], which must be a storable string (checked in key order). */
function seriesKeyField(v: unknown, index: number, field: 'item' | 'location' | 'period' | 'metric'): string {
  if (typeof v !== 'string') {
    const got = describe(v);
    reject('series_missing_field', `series[${index}].${field} is missing or not a string (got ${got})`, { index, field, got });
  }
  if (hasNul(v)) rejectNul(`series[${index}].${field}`, { index, field });
  return v;
}

function normalizeSeries(planId: string, raw: unknown): NormalizedSeries[] {
  if (!Array.isArray(raw)) {
    reject('series_not_array', `series is ${describe(raw)}, not an array`, { field: 'series', got: describe(raw) });
  }
  const series = raw.map((entry: unknown, index): NormalizedSeries => {
    if (!isPlainObject(entry)) {
      reject('series_missing_field', `series[${index}] is ${describe(entry)}, not an object`, { index, got: describe(entry) });
    }
    const item = seriesKeyField(entry.item, index, 'item');
    const location = seriesKeyField(entry.location, index, 'location');
    const period = seriesKeyField(entry.period, index, 'period');
    const metric = seriesKeyField(entry.metric, index, 'metric');
    const value = float8(entry.value);
    if (typeof value !== 'number') rejectNumber(value, entry.value, `series[${index}].value`, { index });
    if (mayExceedKeyBudget(planId.length + item.length + location.length + period.length + metric.length)) {
      checkKeySize('plan_series', `series[${index}]`, { plan_id: planId, item, location, period, metric }, { index });
    }
    return { item, location, period, metric, value };
  });
  return sortUnique(series, compareSeries, (first, dup) => {
    const { item, location, period, metric } = series[dup];
    reject(
      'duplicate_series_key',
      `series[${dup}] repeats the key of series[${first}] (item ${describe(item)}, location ${describe(location)}, ` +
        `period ${describe(period)}, metric ${describe(metric)})`,
      { index: dup, firstIndex: first, item, location, period, metric },
    );
  });
}

function normalizeKpis(planId: string, raw: unknown): NormalizedKpi[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) {
    const kpis = raw.map((entry: unknown, index): NormalizedKpi => {
      if (!isPlainObject(entry)) {
        reject('kpis_invalid', `kpis[${index}] is ${describe(entry)}, not an object`, { index, got: describe(entry) });
      }
      const { name, unit } = entry;
      if (typeof name !== 'string' || name === '') {
        const got = describe(name);
        reject('kpis_invalid', `kpis[${index}].name is not a non-empty string (got ${got})`, { index, field: 'name', got });
      }
      if (unit !== undefined && unit !== null && typeof unit !== 'string') {
        const got = describe(unit);
        reject('kpis_invalid', `kpis[${index}].unit is neither a string nor null (got ${got})`, { index, field: 'unit', got });
      }
      if (hasNul(name)) rejectNul(`kpis[${index}].name`, { index, field: 'name' });
      if (typeof unit === 'string' && hasNul(unit)) rejectNul(`kpis[${index}].unit`, { index, field: 'unit' });
      const value = float8(entry.value);
      if (typeof value !== 'number') rejectNumber(value, entry.value, `kpis[${index}].value (${name})`, { index, name });
      if (mayExceedKeyBudget(planId.length + name.length)) checkKeySize('plan_kpis', `kpis[${index}]`, { plan_id: planId, name }, { index });
      return { name, value, unit: unit ?? null };
    });
    return sortUnique(kpis, compareKpis, (first, dup) =>
      reject('duplicate_kpi', `kpis[${dup}] repeats the name ${describe(kpis[dup].name)} of kpis[${first}]`, {
        index: dup,
        firstIndex: first,
        name: kpis[dup].name,
      }),
    );
  }
  if (isPlainObject(raw)) {
    // Older map form { name: value }; object keys are unique, so no duplicate check is needed.
    return Object.keys(raw)
      .map((name): NormalizedKpi => {
        if (name === '') reject('kpis_invalid', 'kpis has an empty KPI name', { field: 'name', got: '""' });
        if (hasNul(name)) rejectNul('a KPI name in the kpis map', { field: 'name' });
        const value = float8(raw[name]);
        if (typeof value !== 'number') rejectNumber(value, raw[name], `kpis.${name}`, { name });
        if (mayExceedKeyBudget(planId.length + name.length)) {
          checkKeySize('plan_kpis', `kpis entry ${describe(name)}`, { plan_id: planId, name }, {});
        }
        return { name, value, unit: null };
      })
      .sort(compareKpis);
  }
  return reject('kpis_invalid', `kpis is ${describe(raw)}, neither an array nor an object`, { field: 'kpis', got: describe(raw) });
}

function normalizeEvents(raw: unknown): NormalizedEvent[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) reject('events_invalid', `events is ${describe(raw)}, not an array`, { field: 'events', got: describe(raw) });
  return raw.map((entry: unknown, index): NormalizedEvent => {
    if (!isPlainObject(entry)) {
      reject('events_invalid', `events[${index}] is ${describe(entry)}, not an object`, { index, got: describe(entry) });
    }
    const { at, type, actor, detail } = entry;
    const iso = typeof at === 'string' ? parseIsoDateTime(at) : null;
    if (iso === null) {
      const got = describe(at);
      reject('event_invalid_at', `events[${index}].at is missing or not an ISO-8601 date-time (got ${got})`, {
        index,
        field: 'at',
        got,
      });
    }
    if (typeof type !== 'string') {
      const got = describe(type);
      reject('events_invalid', `events[${index}].type is not a string (got ${got})`, { index, field: 'type', got });
    }
    if (actor !== undefined && actor !== null && typeof actor !== 'string') {
      const got = describe(actor);
      reject('events_invalid', `events[${index}].actor is neither a string nor null (got ${got})`, { index, field: 'actor', got });
    }
    if (hasNul(type)) rejectNul(`events[${index}].type`, { index, field: 'type' });
    if (typeof actor === 'string' && hasNul(actor)) rejectNul(`events[${index}].actor`, { index, field: 'actor' });
    if (detail !== undefined && detail !== null) {
      if (!isPlainObject(detail)) {
        const got = describe(detail);
        reject('events_invalid', `events[${index}].detail is ${got}, not an object`, { index, field: 'detail', got });
      }
      checkJson(detail, `events[${index}].detail`, 'events_invalid', (path) => ({ index, field: `detail${path}` }));
    }
    return { seq: index, at: iso, type, actor: actor ?? null, detail: (detail ?? {}) as JsonObject };
  });
}
