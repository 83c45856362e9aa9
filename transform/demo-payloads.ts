/**
 * Deterministic legacy documents for the demo seeder, the benchmark and tests: valid ones in the current
 * and the older formats (SPEC §3), and malformed ones that hit every reject reason.
 * Same seed, same options -> same documents, in the same order.
 */
import { KEY_TEXT_BYTES_LIMIT } from './postgres-limits';
import { REJECT_REASONS, type JsonObject, type JsonValue, type RejectReason } from './types';

/** Uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for test data (not for anything secret). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(rng, i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** A JSON-number string for `v` in one of the spellings older writers used. */
function numberText(rng: Rng, v: number): string {
  return pick(rng, [String(v), v.toExponential(), v.toFixed(3)]);
}

const METRICS = ['demand', 'supply', 'inventory', 'forecast'];
const LOCATIONS = ['TOKYO', 'OSAKA', 'NAGOYA', 'FUKUOKA', 'SAPPORO'];
const PERIODS_PER_ITEM = 6;
const KPI_NAMES = ['fill_rate', 'forecast_accuracy', 'bias', 'service_level', 'inventory_turns', 'stockout_days'];
const KPI_UNITS = ['ratio', 'pct', 'days', null];
const EVENT_TYPES = ['created', 'edited', 'submitted', 'approved', 'published'];
const ACTORS = ['alice', 'bob', 'carol'];
const STATUSES = ['draft', 'published', 'archived'];
const BASE_TIME = Date.UTC(2026, 0, 1);

const two = (n: number) => String(n).padStart(2, '0');
/** Per granularity, the periods of one item: weekly ISO dates, ISO weeks, months (all in 2026). */
const PERIODS = [
  (k: number) => new Date(Date.UTC(2026, 0, 5 + 7 * k)).toISOString().slice(0, 10),
  (k: number) => `2026-W${two(k + 2)}`,
  (k: number) => `2026-${two(k + 1)}`,
].map((period) => Array.from({ length: PERIODS_PER_ITEM }, (_, k) => period(k)));

export interface PayloadOptions {
  /** Series rows; keys are unique by construction (item x location x period x metric). */
  series: number;
  /** Default 3. */
  kpis?: number;
  /** Default 2. */
  events?: number;
  /** Older format: KPI map, numbers as strings, run_id missing or null, empty parts and summary omitted. */
  legacyFormat: boolean;
  /** Default: a random "Demand plan N". */
  name?: string;
}

/** A valid legacy document; its series come in shuffled order, as real documents may. */
export function generatePayload(rng: Rng, opts: PayloadOptions): JsonObject {
  const legacy = opts.legacyFormat;
  const kpiCount = opts.kpis ?? 3;
  const eventCount = opts.events ?? 2;
  const num = (v: number): JsonValue => (legacy && rng() < 0.5 ? numberText(rng, v) : v);

  const granularity = int(rng, PERIODS.length);
  const series: JsonObject[] = [];
  for (let i = 0; i < opts.series; i++) {
    const rest = Math.floor(i / METRICS.length);
    const place = Math.floor(rest / PERIODS_PER_ITEM);
    series.push({
      item: `SKU-${Math.floor(place / LOCATIONS.length) + 1}`,
      location: LOCATIONS[place % LOCATIONS.length],
      period: PERIODS[granularity][rest % PERIODS_PER_ITEM],
      metric: METRICS[i % METRICS.length],
      value: num(Math.round(rng() * 200_000 - 20_000) / 10),
    });
  }

  const kpiNames = Array.from({ length: kpiCount }, (_, i) => KPI_NAMES[i] ?? `kpi_${i + 1}`);
  const kpiValue = () => num(Math.round(rng() * 1000) / 1000);

  const events: JsonObject[] = [];
  for (let i = 0; i < eventCount; i++) {
    const ms = BASE_TIME + i * 3_600_000 + int(rng, 3_600) * 1000;
    const event: JsonObject = {
      at:
        legacy && rng() < 0.5
          ? `${new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19)}+09:00` // same instant, JST offset
          : new Date(ms).toISOString(),
      type: EVENT_TYPES[i % EVENT_TYPES.length],
    };
    const actor = rng() < 0.8 ? pick(rng, ACTORS) : null;
    if (!legacy || actor !== null) event.actor = actor;
    const detail: JsonObject = rng() < 0.5 ? { note: `revision ${i + 1}`, lines: int(rng, 50) } : {};
    if (!legacy || Object.keys(detail).length > 0) event.detail = detail;
    events.push(event);
  }

  const doc: JsonObject = {
    name: opts.name ?? `Demand plan ${int(rng, 1000)}`,
    status: pick(rng, STATUSES),
    series: shuffle(rng, series),
  };
  const summary: JsonObject = { horizon_weeks: 4 + int(rng, 48), currency: 'JPY', scope: { regions: LOCATIONS.slice(0, 1 + int(rng, 5)) } };
  if (!legacy) {
    doc.run_id = `run-${int(rng, 1_000_000)}`;
    doc.summary = summary;
    doc.kpis = kpiNames.map((name) => ({ name, value: kpiValue(), unit: pick(rng, KPI_UNITS) }));
    doc.events = events;
    return doc;
  }
  if (rng() < 0.5) doc.run_id = null;
  if (rng() < 0.5) doc.summary = summary;
  if (kpiCount > 0) doc.kpis = Object.fromEntries(kpiNames.map((name) => [name, kpiValue()]));
  if (eventCount > 0) doc.events = events;
  return doc;
}

/** The reasons a seeded document can have: jsonb itself refuses U+0000, so `text_has_nul` never reaches plan_artifacts. */
export const SEEDABLE_REJECT_REASONS: readonly RejectReason[] = REJECT_REASONS.filter((r) => r !== 'text_has_nul');

/** The reason `generateBadPayload(rng, index)` is built to be rejected with. */
export function expectedRejectReason(index: number): RejectReason {
  return SEEDABLE_REJECT_REASONS[index % SEEDABLE_REJECT_REASONS.length];
}

/** A malformed document for `expectedRejectReason(index)`: indexes 0..n-1 cover every seedable reason once n >= their count. */
export function generateBadPayload(rng: Rng, index: number): JsonValue {
  const base = generatePayload(rng, { series: 1 + int(rng, 4), kpis: int(rng, 3), events: int(rng, 3), legacyFormat: rng() < 0.25 });
  return injectDefect(rng, base, expectedRejectReason(index));
}

// Values that are not finite numbers, as they can appear in JSON ('missing' deletes the field).
const NOT_FINITE: readonly (JsonValue | 'missing')[] = [
  'abc', ' 1', '0x10', '', 'Infinity', '-Infinity', 'NaN', '+1', '.5', '1.', null, true, {}, [], 'missing',
];
// Numbers in JSON syntax that float8 cannot hold: overflow, and non-zero values that would round to 0.
const OUT_OF_FLOAT8 = ['1e400', '-1e309', '1e-400', '-2.5e-330'];
const BAD_AT: readonly (JsonValue | 'missing')[] = [
  'missing', null, 1767225600000, '', 'yesterday', 'January 1, 2026', '2026-01-01', '2026-13-01T00:00:00Z',
  '2026-02-30T10:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:00:00+24:00', '2026-01-01T10:00:00Zjunk',
];
const SERIES_FIELDS = ['item', 'location', 'period', 'metric'];

function setOrDelete(obj: JsonObject, key: string, value: JsonValue | 'missing'): void {
  if (value === 'missing') delete obj[key];
  else obj[key] = value;
}

/** `doc.series` as a non-empty array (adding one valid row if needed). */
function seriesOf(doc: JsonObject): JsonValue[] {
  if (!Array.isArray(doc.series)) doc.series = [];
  const series = doc.series;
  if (series.length === 0) series.push({ item: 'SKU-1', location: 'TOKYO', period: '2026-01', metric: 'demand', value: 1 });
  return series;
}

/** `doc.kpis` as a non-empty array, converting the older map form. */
function kpiArrayOf(doc: JsonObject): JsonValue[] {
  const raw = doc.kpis;
  const kpis: JsonValue[] = Array.isArray(raw)
    ? raw
    : raw !== null && typeof raw === 'object'
      ? Object.entries(raw).map(([name, value]) => ({ name, value }))
      : [];
  if (kpis.length === 0) kpis.push({ name: 'fill_rate', value: 0.97, unit: 'ratio' });
  doc.kpis = kpis;
  return kpis;
}

/** `doc.events` as a non-empty array (adding one valid event if needed). */
function eventsOf(doc: JsonObject): JsonValue[] {
  if (!Array.isArray(doc.events)) doc.events = [];
  const events = doc.events;
  if (events.length === 0) events.push({ at: '2026-01-01T00:00:00Z', type: 'created', actor: 'alice', detail: {} });
  return events;
}

const insertAt = <T>(rng: Rng, xs: T[], x: T): void => void xs.splice(int(rng, xs.length + 1), 0, x);

/**
 * A copy of the valid document `payload` with exactly one defect of kind `reason`: run through
 * transformArtifact it is rejected with `reason`. Used by generateBadPayload and property tests.
 */
export function injectDefect(rng: Rng, payload: JsonObject, reason: RejectReason): JsonValue {
  const doc = JSON.parse(JSON.stringify(payload)) as JsonObject;
  switch (reason) {
    case 'payload_not_object':
      return pick<JsonValue>(rng, [null, [doc], 'plan', 42, true]);
    case 'series_not_array':
      setOrDelete(doc, 'series', pick(rng, ['missing', null, {}, 'series', 7]));
      return doc;
    case 'series_missing_field': {
      const series = seriesOf(doc);
      const i = int(rng, series.length);
      if (rng() < 0.25) series[i] = pick<JsonValue>(rng, [null, 'row', 3, []]);
      else setOrDelete(series[i] as JsonObject, pick(rng, SERIES_FIELDS), pick(rng, ['missing', null, 5, {}, true]));
      return doc;
    }
    case 'value_not_finite': {
      const bad = pick(rng, NOT_FINITE);
      const kpis = doc.kpis;
      if (rng() < 0.5 && kpis !== null && typeof kpis === 'object' && Object.keys(kpis).length > 0) {
        if (Array.isArray(kpis)) setOrDelete(kpis[int(rng, kpis.length)] as JsonObject, 'value', bad);
        else (kpis as JsonObject)[pick(rng, Object.keys(kpis))] = bad === 'missing' ? 'abc' : bad;
      } else {
        const series = seriesOf(doc);
        setOrDelete(series[int(rng, series.length)] as JsonObject, 'value', bad);
      }
      return doc;
    }
    case 'duplicate_series_key': {
      const series = seriesOf(doc);
      insertAt(rng, series, { ...(series[int(rng, series.length)] as JsonObject), value: 1.5 });
      return doc;
    }
    case 'duplicate_kpi': {
      const kpis = kpiArrayOf(doc);
      insertAt(rng, kpis, { ...(kpis[int(rng, kpis.length)] as JsonObject), value: 0.5 });
      return doc;
    }
    case 'event_invalid_at': {
      const events = eventsOf(doc);
      setOrDelete(events[int(rng, events.length)] as JsonObject, 'at', pick(rng, BAD_AT));
      return doc;
    }
    case 'kpis_invalid': {
      const variant = int(rng, 5);
      if (variant === 0) doc.kpis = pick(rng, ['kpis', 5, true]);
      else if (variant === 1) doc.kpis = { fill_rate: 0.97, '': 1 }; // map form with an empty name
      else {
        const kpis = kpiArrayOf(doc);
        const i = int(rng, kpis.length);
        if (variant === 2) kpis[i] = pick<JsonValue>(rng, [null, 'kpi', 3, []]);
        else if (variant === 3) setOrDelete(kpis[i] as JsonObject, 'name', pick(rng, ['missing', '', null, 5]));
        else (kpis[i] as JsonObject).unit = pick(rng, [5, {}, true, []]);
      }
      return doc;
    }
    case 'events_invalid': {
      const variant = int(rng, 5);
      if (variant === 0) {
        doc.events = pick(rng, ['events', 5, true, {}]);
        return doc;
      }
      const events = eventsOf(doc);
      const i = int(rng, events.length);
      const event = events[i] as JsonObject;
      if (variant === 1) events[i] = pick<JsonValue>(rng, [null, 'event', 3, []]);
      else if (variant === 2) setOrDelete(event, 'type', pick(rng, ['missing', null, 5]));
      else if (variant === 3) event.actor = pick(rng, [5, {}, true]);
      else event.detail = pick(rng, ['detail', [], 5, true]);
      return doc;
    }
    case 'summary_invalid':
      doc.summary = pick(rng, ['summary', 5, true, ['a']]);
      return doc;
    case 'key_too_long': {
      const long = 'P'.repeat(KEY_TEXT_BYTES_LIMIT + int(rng, 10_000));
      if (rng() < 0.5) {
        const kpis = kpiArrayOf(doc);
        (kpis[int(rng, kpis.length)] as JsonObject).name = long;
      } else {
        const series = seriesOf(doc);
        (series[int(rng, series.length)] as JsonObject)[pick(rng, SERIES_FIELDS)] = long;
      }
      return doc;
    }
    case 'text_has_nul': {
      const variant = int(rng, 4);
      if (variant === 0) doc.name = 'plan\u0000name';
      else if (variant === 1) {
        const series = seriesOf(doc);
        (series[int(rng, series.length)] as JsonObject)[pick(rng, SERIES_FIELDS)] = 'SKU\u0000';
      } else if (variant === 2) {
        const events = eventsOf(doc);
        (events[int(rng, events.length)] as JsonObject).actor = '\u0000';
      } else doc.summary = { ...(doc.summary as JsonObject | undefined), [pick(rng, ['note', 'a\u0000b'])]: 'x\u0000' };
      return doc;
    }
    case 'number_out_of_range': {
      const bad = pick(rng, OUT_OF_FLOAT8);
      if (rng() < 0.5) {
        const kpis = kpiArrayOf(doc);
        (kpis[int(rng, kpis.length)] as JsonObject).value = bad;
      } else {
        const series = seriesOf(doc);
        (series[int(rng, series.length)] as JsonObject).value = bad;
      }
      return doc;
    }
  }
}

export interface DemoOptions {
  plans: number;
  /** Valid versions per plan: 1..versions. */
  versions: number;
  /** Series rows per valid document. */
  series: number;
  /** Malformed documents in total (default 0). */
  bad?: number;
  seed?: number;
  kpis?: number;
  events?: number;
}

export interface DemoArtifact {
  planId: string;
  version: number;
  payload: JsonValue;
  /** Null for a valid document. */
  expectedReject: RejectReason | null;
}

/**
 * Streams demo artifacts plan by plan: `plan-00001` versions 1..versions, then that plan's bad ones.
 * Every 4th valid document (counting across plans) is in the older format, and older documents drop
 * their KPIs or events about a quarter of the time each. Bad document j (0 <= j < bad) goes to plan
 * (j mod plans) + 1 as an extra version after the valid ones, so bad ones spread round-robin and a
 * plan's versions stay contiguous.
 */
export function* demoArtifacts(opts: DemoOptions): Generator<DemoArtifact> {
  const { plans, versions, series, bad = 0, seed = 1, kpis = 3, events = 2 } = opts;
  for (const [key, n] of Object.entries({ plans, versions, series, bad, kpis, events })) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`demoArtifacts: ${key} must be a non-negative integer, got ${n}`);
  }
  if (bad > 0 && plans === 0) throw new RangeError('demoArtifacts: bad documents need at least one plan');
  const rng = mulberry32(seed);
  let documents = 0;
  for (let p = 1; p <= plans; p++) {
    const planId = `plan-${String(p).padStart(5, '0')}`;
    for (let version = 1; version <= versions; version++) {
      const legacyFormat = documents++ % 4 === 3;
      const payload = generatePayload(rng, {
        series,
        kpis: legacyFormat && rng() < 0.25 ? 0 : kpis,
        events: legacyFormat && rng() < 0.25 ? 0 : events,
        legacyFormat,
        name: `Demo plan ${p}`,
      });
      yield { planId, version, payload, expectedReject: null };
    }
    for (let j = p - 1, extra = 1; j < bad; j += plans, extra++) {
      yield { planId, version: versions + extra, payload: generateBadPayload(rng, j), expectedReject: expectedRejectReason(j) };
    }
  }
}
