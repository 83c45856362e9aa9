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
 */
import { isPlainObject } from './canonical-json';
import { versionChecksum } from './checksum';
import type { Hasher } from './sha256';
import { parseIsoDateTime } from './iso-datetime';
import { compareKpis, compareSeries } from './ordering';
import type {
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

/** `hash` defaults to the pure SHA-256 (workflow-safe); activities pass node:crypto's, which is faster. */
export function transformArtifact(artifact: LegacyArtifact, hash?: Hasher): TransformResult {
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
    name: stringOrNull(p.name),
    status: stringOrNull(p.status),
    runId: stringOrNull(p.run_id),
    summary: normalizeSummary(p.summary),
    series: normalizeSeries(p.series),
    kpis: normalizeKpis(p.kpis),
    events: normalizeEvents(p.events),
  };
}

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Strict JSON number syntax: no spaces, no hex, no leading '+', no Infinity/NaN, no bare '.5'. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A finite number from a JSON number or a string in JSON-number syntax; -0 becomes 0. */
function finiteNumber(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && JSON_NUMBER.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return n === 0 ? 0 : n;
}

/** Short, safe description of an offending value for messages and reject details. */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
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

/**
 * Path suffix (".a[2]") of the first value under `v` that JSON cannot hold (non-finite number,
 * undefined, non-plain object...), '' if `v` itself is one, null if all of it is JSON.
 */
function nonJsonPath(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(v) ? null : '';
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const sub = nonJsonPath(v[i]);
          if (sub !== null) return `[${i}]${sub}`;
        }
        return null;
      }
      if (!isPlainObject(v)) return '';
      for (const key of Object.keys(v)) {
        const sub = nonJsonPath(v[key]);
        if (sub !== null) return `.${key}${sub}`;
      }
      return null;
    }
    default:
      return '';
  }
}

/** Sorts `items`; the first pair that compares equal is reported with both original indexes. */
function sortUnique<T>(items: T[], compare: (a: T, b: T) => number, onDuplicate: (first: number, dup: number) => never): T[] {
  // Array.prototype.sort is stable, so among equal keys the earlier document index comes first.
  const order = items.map((_, i) => i).sort((a, b) => compare(items[a], items[b]));
  const sorted = order.map((i) => items[i]);
  for (let k = 1; k < sorted.length; k++) {
    if (compare(sorted[k - 1], sorted[k]) === 0) onDuplicate(order[k - 1], order[k]);
  }
  return sorted;
}

function normalizeSummary(raw: unknown): JsonObject {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) reject('summary_invalid', `summary is ${describe(raw)}, not an object`, { field: 'summary', got: describe(raw) });
  const path = nonJsonPath(raw);
  if (path !== null) reject('summary_invalid', `summary${path} is not a JSON value`, { path: `summary${path}` });
  return raw as JsonObject;
}

const SERIES_KEY_FIELDS = ['item', 'location', 'period', 'metric'] as const;

function normalizeSeries(raw: unknown): NormalizedSeries[] {
  if (!Array.isArray(raw)) {
    reject('series_not_array', `series is ${describe(raw)}, not an array`, { field: 'series', got: describe(raw) });
  }
  const series = raw.map((entry: unknown, index): NormalizedSeries => {
    if (!isPlainObject(entry)) {
      reject('series_missing_field', `series[${index}] is ${describe(entry)}, not an object`, { index, got: describe(entry) });
    }
    for (const field of SERIES_KEY_FIELDS) {
      if (typeof entry[field] !== 'string') {
        const got = describe(entry[field]);
        reject('series_missing_field', `series[${index}].${field} is missing or not a string (got ${got})`, { index, field, got });
      }
    }
    const value = finiteNumber(entry.value);
    if (value === undefined) {
      const got = describe(entry.value);
      reject('value_not_finite', `series[${index}].value is not a finite number (got ${got})`, { index, field: 'value', got });
    }
    const { item, location, period, metric } = entry as Record<(typeof SERIES_KEY_FIELDS)[number], string>;
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

function normalizeKpis(raw: unknown): NormalizedKpi[] {
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
      const value = finiteNumber(entry.value);
      if (value === undefined) {
        const got = describe(entry.value);
        reject('value_not_finite', `kpis[${index}].value (${name}) is not a finite number (got ${got})`, {
          index,
          name,
          field: 'value',
          got,
        });
      }
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
        const value = finiteNumber(raw[name]);
        if (value === undefined) {
          const got = describe(raw[name]);
          reject('value_not_finite', `kpis.${name} is not a finite number (got ${got})`, { name, field: 'value', got });
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
    if (detail !== undefined && detail !== null) {
      if (!isPlainObject(detail)) {
        const got = describe(detail);
        reject('events_invalid', `events[${index}].detail is ${got}, not an object`, { index, field: 'detail', got });
      }
      const path = nonJsonPath(detail);
      if (path !== null) {
        reject('events_invalid', `events[${index}].detail${path} is not a JSON value`, { index, field: `detail${path}` });
      }
    }
    return { seq: index, at: iso, type, actor: actor ?? null, detail: (detail ?? {}) as JsonObject };
  });
}
