/**
 * Reads plan versions back from the PlanRepository in the shape `fromRepositoryRows` rebuilds.
 * Children come back as compact JSON arrays: one parse per column instead of one JS object per row
 * from the wire protocol, and each subquery is a range scan of the child table's primary key.
 * jsonb (summary, event details) comes back as text, parsed losslessly (jsonb-text.ts); event times
 * in UTC without offset, so the microseconds survive and the session's TimeZone does not matter.
 */
import type { EventRow, KpiRow, RepositoryRows, SeriesRow } from '../transform/checksum';
import type { JsonObject } from '../transform/types';
import type { Queryable } from './connection';
import { parseJsonbText } from './jsonb-text';

/** Correlated subqueries returning the children of the version whose key is `planId`, `version` (SQL expressions). */
export function childrenSql(planId: string, version: string): { kpis: string; series: string; events: string } {
  const of = (alias: string) => `${alias}.plan_id = ${planId} AND ${alias}.version = ${version}`;
  return {
    kpis: `(SELECT coalesce(json_agg(json_build_array(k.name, k.value, k.unit)), '[]') FROM plan_kpis k WHERE ${of('k')})`,
    series: `(SELECT coalesce(json_agg(json_build_array(s.item, s.location, s.period, s.metric, s.value)), '[]') FROM plan_series s WHERE ${of('s')})`,
    events:
      `(SELECT coalesce(json_agg(json_build_array(e.seq, e.at AT TIME ZONE 'UTC', e.type, e.actor, e.detail)), '[]')::text ` +
      `FROM plan_events e WHERE ${of('e')})`,
  };
}

export type KpiTuple = [string, number, string | null];
export type SeriesTuple = [string, string, string, string, number];
export type EventTuple = [number, string, string, string | null, JsonObject];

/** A `plan_versions` row with its children as selected through `childrenSql` (`summary` as `summary::text`). */
export interface VersionReadBack {
  plan_id: string;
  version: number;
  name: string | null;
  status: string | null;
  run_id: string | null;
  /** jsonb text. */
  summary: string;
  source_checksum: string;
  kpis: KpiTuple[];
  series: SeriesTuple[];
  /** JSON text of EventTuple[]. */
  events: string;
}

export function toRepositoryRows(r: VersionReadBack): RepositoryRows {
  const summary = parseJsonbText(r.summary) as JsonObject;
  const events = parseJsonbText(r.events) as EventTuple[];
  return {
    version: { planId: r.plan_id, version: r.version, name: r.name, status: r.status, runId: r.run_id, summary },
    kpis: r.kpis.map(([name, value, unit]): KpiRow => ({ name, value, unit })),
    series: r.series.map(([item, location, period, metric, value]): SeriesRow => ({ item, location, period, metric, value })),
    events: events.map(([seq, at, type, actor, detail]): EventRow => ({ seq, at, type, actor, detail })),
  };
}

/** One version with all its children, or null when the repository does not hold it. */
export async function readVersion(db: Queryable, planId: string, version: number): Promise<VersionReadBack | null> {
  const children = childrenSql('v.plan_id', 'v.version');
  const res = await db.query<VersionReadBack>(
    `SELECT v.plan_id, v.version, v.name, v.status, v.run_id, v.summary::text AS summary, v.source_checksum,
            ${children.kpis} AS kpis, ${children.series} AS series, ${children.events} AS events
       FROM plan_versions v WHERE v.plan_id = $1 AND v.version = $2`,
    [planId, version],
  );
  return res.rows[0] ?? null;
}
