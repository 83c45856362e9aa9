/**
 * Checksum of a normalized plan version, and the reverse mapping from repository rows, so that
 * verify can prove checksum(legacy normalized) === checksum(read back).
 */
import { canonicalJson } from './canonical-json';
import { parseIsoDateTime } from './iso-datetime';
import { compareKpis, compareSeries } from './ordering';
import type { Hasher, JsonObject, NormalizedEvent, NormalizedKpi, NormalizedSeries, NormalizedVersion } from './types';

/** Hex sha256 of `canonicalJson(v)`: every field of the version, children in their sorted order. */
export function versionChecksum(v: NormalizedVersion, hash: Hasher): string {
  return hash(canonicalVersionJson(v));
}

/**
 * Same text as `canonicalJson(v)`, written out for the fixed shape of a version: the backfill and
 * verify checksum every version, and JSON.stringify over rows whose keys are inserted in sorted order
 * is about 4x faster than the generic walk (measured on 100-row versions). A unit test pins the two together.
 */
function canonicalVersionJson(v: NormalizedVersion): string {
  const str = (s: string | null): string => JSON.stringify(s);
  const kpis = v.kpis.map((k) => ({ name: k.name, unit: k.unit, value: finite(k.value) }));
  const series = v.series.map((s) => ({
    item: s.item,
    location: s.location,
    metric: s.metric,
    period: s.period,
    value: finite(s.value),
  }));
  const events = v.events.map(
    (e) =>
      `{"actor":${str(e.actor)},"at":${str(e.at)},"detail":${canonicalJson(e.detail)},` +
      `"seq":${canonicalJson(e.seq)},"type":${str(e.type)}}`,
  );
  return (
    `{"events":[${events.join(',')}],"kpis":${JSON.stringify(kpis)},"name":${str(v.name)},` +
    `"planId":${str(v.planId)},"runId":${str(v.runId)},"series":${JSON.stringify(series)},` +
    `"status":${str(v.status)},"summary":${canonicalJson(v.summary)},"version":${canonicalJson(v.version)}}`
  );
}

/** JSON.stringify would write NaN/Infinity as null; refuse them like canonicalJson does. */
function finite(n: number): number {
  if (!Number.isFinite(n)) throw new TypeError(`versionChecksum: non-finite number ${n}`);
  return n;
}

/** A `plan_versions` row (with `summary` already parsed from jsonb). */
export type PlanVersionRow = Pick<NormalizedVersion, 'planId' | 'version' | 'name' | 'status' | 'runId' | 'summary'>;

/** Child rows come back in the normalized shapes, in any order. */
export type KpiRow = NormalizedKpi;
export type SeriesRow = NormalizedSeries;

export interface EventRow {
  seq: number;
  /** ISO-8601 text as PostgreSQL writes timestamptz in JSON (microseconds kept); a Date has milliseconds only. */
  at: Date | string;
  type: string;
  actor: string | null;
  detail: JsonObject;
}

/** Everything read back for one version, children in any order. */
export interface RepositoryRows {
  version: PlanVersionRow;
  kpis: readonly KpiRow[];
  series: readonly SeriesRow[];
  events: readonly EventRow[];
}

/** float8 keeps -0 but the normalized form never has it. */
const noNegativeZero = (n: number): number => (n === 0 ? 0 : n);

/** The normalized text of a read-back event time; text that is not ISO stays as it is, and so mismatches. */
const eventAt = (at: Date | string): string => (typeof at === 'string' ? (parseIsoDateTime(at) ?? at) : at.toISOString());

/** Rebuilds the normalized version from repository rows: sorts children and converts types. */
export function fromRepositoryRows(rows: RepositoryRows): NormalizedVersion {
  const { version: v } = rows;
  const kpis: NormalizedKpi[] = rows.kpis
    .map((k) => ({ name: k.name, value: noNegativeZero(k.value), unit: k.unit }))
    .sort(compareKpis);
  const series: NormalizedSeries[] = rows.series
    .map((s) => ({ item: s.item, location: s.location, period: s.period, metric: s.metric, value: noNegativeZero(s.value) }))
    .sort(compareSeries);
  const events: NormalizedEvent[] = rows.events
    .map((e) => ({ seq: e.seq, at: eventAt(e.at), type: e.type, actor: e.actor, detail: e.detail }))
    .sort((a, b) => a.seq - b.seq);
  return {
    planId: v.planId,
    version: v.version,
    name: v.name,
    status: v.status,
    runId: v.runId,
    summary: v.summary,
    kpis,
    series,
    events,
  };
}
