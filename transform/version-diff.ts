/**
 * Field-by-field differences between a legacy version and its copy read back from the repository, so a
 * failed verification says what differs (a series value, a KPI unit, an event actor), not only that a
 * checksum does. Pure.
 */
import { canonicalJson } from './canonical-json';
import { compareKpis, compareSeries } from './ordering';
import type { JsonValue, NormalizedEvent, NormalizedKpi, NormalizedSeries, NormalizedVersion } from './types';

export interface Difference {
  /** e.g. `name`, `kpis[fill_rate].unit`, `events[0].actor`, `series[SKU-1|TOKYO|2026-01|demand].value`. */
  field: string;
  /** null where the row is absent on that side; objects as canonical JSON text. */
  legacy: JsonValue;
  repository: JsonValue;
}

const MAX_SHOWN_CHARS = 200;

/** Objects as truncated canonical JSON text: differences travel in activity results and evidence. */
export function shownValue(v: unknown, maxChars = MAX_SHOWN_CHARS): JsonValue {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') return v as JsonValue;
  const text = canonicalJson(v);
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && canonicalJson(a) === canonicalJson(b);
}

type Add = (field: string, legacy: unknown, repository: unknown) => void;

/** Merge-walk of two lists sorted by `compare`: rows on one side only, then differing fields of shared rows. */
function diffRows<T>(
  name: string,
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
  label: (x: T) => string,
  fields: readonly (keyof T & string)[],
  add: Add,
  full: () => boolean,
): void {
  let i = 0;
  let j = 0;
  while ((i < a.length || j < b.length) && !full()) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compare(a[i], b[j]);
    if (c < 0) {
      add(`${name}[${label(a[i])}]`, a[i], undefined);
      i++;
    } else if (c > 0) {
      add(`${name}[${label(b[j])}]`, undefined, b[j]);
      j++;
    } else {
      for (const f of fields) if (!same(a[i][f], b[j][f])) add(`${name}[${label(a[i])}].${f}`, a[i][f], b[j][f]);
      i++;
      j++;
    }
  }
}

const seriesLabel = (s: NormalizedSeries) => `${s.item}|${s.location}|${s.period}|${s.metric}`;

/** Differences between two normalized versions (children sorted as normalized), at most `limit` of them. */
export function diffVersions(legacy: NormalizedVersion, repository: NormalizedVersion, limit = Infinity): Difference[] {
  const out: Difference[] = [];
  const full = () => out.length >= limit;
  const add: Add = (field, l, r) => {
    if (!full()) out.push({ field, legacy: shownValue(l), repository: shownValue(r) });
  };
  for (const key of ['planId', 'version', 'name', 'status', 'runId', 'summary'] as const) {
    if (!same(legacy[key], repository[key])) add(key, legacy[key], repository[key]);
  }
  diffRows<NormalizedKpi>('kpis', legacy.kpis, repository.kpis, compareKpis, (k) => k.name, ['value', 'unit'], add, full);
  diffRows<NormalizedEvent>(
    'events',
    legacy.events,
    repository.events,
    (x, y) => x.seq - y.seq,
    (e) => String(e.seq),
    ['at', 'type', 'actor', 'detail'],
    add,
    full,
  );
  diffRows<NormalizedSeries>('series', legacy.series, repository.series, compareSeries, seriesLabel, ['value'], add, full);
  return out;
}
