/**
 * Set-based writes into the PlanRepository: `unnest` for plans and versions, COPY for the child rows
 * (the bulk of the data). Runs on the caller's client, inside the caller's transaction.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { jsonText } from '../transform/canonical-json';
import type { LegacyArtifact, NormalizedVersion } from '../transform/types';

export interface VersionToWrite {
  artifact: Pick<LegacyArtifact, 'id' | 'createdAt' | 'payloadMd5'>;
  version: NormalizedVersion;
  checksum: string;
  /** Its child rows as COPY bytes, rendered ahead (renderChildren); absent: rendered from `version` here. */
  rendered?: RenderedChildren;
}

/** One version's lines of one child table as UTF-8 COPY text, and how many rows they are. */
export interface RenderedBytes {
  bytes: Buffer;
  count: number;
}

export interface RenderedChildren {
  kpis: RenderedBytes;
  series: RenderedBytes;
  events: RenderedBytes;
}

export interface WriteCounts {
  plansCreated: number;
  versions: number;
  series: number;
  kpis: number;
  events: number;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;

/**
 * COPY text format: backslash, tab, newline and carriage return escaped; null is \N. Most fields need
 * no escape, and testing for one is about 4x cheaper than a replace that finds none.
 */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(COPY_SPECIALS, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

type CopyRender = (v: NormalizedVersion, key: string) => { text: string; count: number };

const KPI_COLUMNS = ['plan_id', 'version', 'name', 'value', 'unit'];
const SERIES_COLUMNS = ['plan_id', 'version', 'item', 'location', 'period', 'metric', 'value'];
const EVENT_COLUMNS = ['plan_id', 'version', 'seq', 'at', 'type', 'actor', 'detail'];

/** The COPY key prefix of a version's child rows: plan_id and version, each followed by a tab. */
export function copyKey(v: NormalizedVersion): string {
  return `${copyField(v.planId)}\t${v.version}\t`;
}

/** One version's plan_kpis lines (columns KPI_COLUMNS after the key). */
export const kpiCopyText: CopyRender = (v, key) => {
  let text = '';
  for (const k of v.kpis) text += `${key}${copyField(k.name)}\t${k.value}\t${copyField(k.unit)}\n`;
  return { text, count: v.kpis.length };
};

/** One version's plan_series lines. */
export const seriesCopyText: CopyRender = (v, key) => {
  let text = '';
  for (const r of v.series)
    text += `${key}${copyField(r.item)}\t${copyField(r.location)}\t${copyField(r.period)}\t${copyField(r.metric)}\t${r.value}\n`;
  return { text, count: v.series.length };
};

/** One version's plan_events lines. */
export const eventCopyText: CopyRender = (v, key) => {
  let text = '';
  for (const e of v.events) {
    text += `${key}${e.seq}\t${e.at}\t${copyField(e.type)}\t${copyField(e.actor)}\t${copyField(jsonText(e.detail))}\n`;
  }
  return { text, count: v.events.length };
};

const asBytes = (lines: { text: string; count: number }): RenderedBytes => ({ bytes: Buffer.from(lines.text, 'utf8'), count: lines.count });

/**
 * A version's child rows as COPY bytes, and the version without them. A batch read ahead then keeps a few
 * buffers (outside V8's heap) instead of an object per series row: it lives long enough to reach V8's old
 * space, so its size is what the worker's memory grows by. (Kept as strings, the `+=` ropes hold every
 * piece and cost more than the objects.)
 */
export function renderChildren(v: NormalizedVersion): { version: NormalizedVersion; rendered: RenderedChildren } {
  const key = copyKey(v);
  const rendered = { kpis: asBytes(kpiCopyText(v, key)), series: asBytes(seriesCopyText(v, key)), events: asBytes(eventCopyText(v, key)) };
  return { version: { ...v, kpis: [], series: [], events: [] }, rendered };
}

/** COPY text is handed to PostgreSQL in pieces of about this size, generated as it consumes them. */
const COPY_CHUNK_CHARS = 64 * 1024;

/**
 * COPYs the child rows of `rows` into `table`: `render` writes one version's lines; the text is made
 * lazily while PostgreSQL reads it, so memory stays small and the server starts at once.
 */
async function copyChildren(
  client: pg.PoolClient,
  table: string,
  columns: string[],
  rows: VersionToWrite[],
  render: CopyRender,
  ahead: keyof RenderedChildren,
): Promise<number> {
  let count = 0;
  const chunks = function* () {
    let buffer = '';
    for (const { version, rendered } of rows) {
      const pre = rendered?.[ahead];
      if (pre) {
        if (buffer) yield buffer;
        buffer = '';
        count += pre.count;
        if (pre.bytes.length) yield pre.bytes;
        continue;
      }
      const out = render(version, copyKey(version));
      buffer += out.text;
      count += out.count;
      if (buffer.length >= COPY_CHUNK_CHARS) {
        yield buffer;
        buffer = '';
      }
    }
    if (buffer) yield buffer;
  };
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
  return count;
}

/** Upserts `plans` from the newest version of each plan in this set; returns how many plans are new. */
async function upsertPlans(client: pg.PoolClient, rows: VersionToWrite[]): Promise<number> {
  const newest = new Map<string, VersionToWrite>();
  const earliest = new Map<string, Date>();
  for (const row of rows) {
    const id = row.version.planId;
    const seen = newest.get(id);
    if (!seen || row.version.version > seen.version.version) newest.set(id, row);
    const created = earliest.get(id);
    if (!created || row.artifact.createdAt < created) earliest.set(id, row.artifact.createdAt);
  }
  // One lock order for every batch: shards that write the same plans at once then wait, never deadlock.
  const plans = [...newest.values()].sort((a, b) => (a.version.planId < b.version.planId ? -1 : 1));
  const res = await client.query<{ inserted: boolean }>(
    `INSERT INTO plans AS p (plan_id, name, status, latest_version, created_at, updated_at)
     SELECT plan_id, name, status, latest_version, created_at, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[])
              WITH ORDINALITY AS u(plan_id, name, status, latest_version, created_at, ord)
      ORDER BY ord
     ON CONFLICT (plan_id) DO UPDATE SET
       name = CASE WHEN EXCLUDED.latest_version >= p.latest_version THEN EXCLUDED.name ELSE p.name END,
       status = CASE WHEN EXCLUDED.latest_version >= p.latest_version THEN EXCLUDED.status ELSE p.status END,
       latest_version = GREATEST(p.latest_version, EXCLUDED.latest_version),
       created_at = LEAST(p.created_at, EXCLUDED.created_at),
       updated_at = now()
     RETURNING (xmax = 0) AS inserted`,
    [
      plans.map((r) => r.version.planId),
      plans.map((r) => r.version.name),
      plans.map((r) => r.version.status),
      plans.map((r) => r.version.version),
      plans.map((r) => earliest.get(r.version.planId)!.toISOString()),
    ],
  );
  return res.rows.filter((r) => r.inserted).length;
}

/** Removes these versions and, by cascade, their KPIs, series and events (force mode rewrites them). */
export async function deleteVersions(client: pg.PoolClient, keys: { planId: string; version: number }[]): Promise<void> {
  if (!keys.length) return;
  await client.query(
    `DELETE FROM plan_versions v USING unnest($1::text[], $2::int4[]) AS k(plan_id, version)
      WHERE v.plan_id = k.plan_id AND v.version = k.version`,
    [keys.map((k) => k.planId), keys.map((k) => k.version)],
  );
}

/** Writes versions that are not in the repository (the caller deleted any it replaces). */
export async function writeVersions(client: pg.PoolClient, rows: VersionToWrite[], backfillRunId: string): Promise<WriteCounts> {
  const counts: WriteCounts = { plansCreated: 0, versions: rows.length, series: 0, kpis: 0, events: 0 };
  if (!rows.length) return counts;
  counts.plansCreated = await upsertPlans(client, rows);
  await client.query(
    `INSERT INTO plan_versions (plan_id, version, name, status, run_id, summary, source_artifact_id, source_checksum,
                                artifact_created_at, backfilled_at, backfill_run_id, source_payload_md5)
     SELECT plan_id, version, name, status, run_id, summary, source_artifact_id, source_checksum, artifact_created_at, now(), $10,
            source_payload_md5
       FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int8[], $8::text[], $9::timestamptz[],
                   $11::text[])
         AS u(plan_id, version, name, status, run_id, summary, source_artifact_id, source_checksum, artifact_created_at,
              source_payload_md5)`,
    [
      rows.map((r) => r.version.planId),
      rows.map((r) => r.version.version),
      rows.map((r) => r.version.name),
      rows.map((r) => r.version.status),
      rows.map((r) => r.version.runId),
      rows.map((r) => jsonText(r.version.summary)),
      rows.map((r) => r.artifact.id),
      rows.map((r) => r.checksum),
      rows.map((r) => r.artifact.createdAt.toISOString()),
      backfillRunId,
      rows.map((r) => r.artifact.payloadMd5 ?? null),
    ],
  );

  counts.kpis = await copyChildren(client, 'plan_kpis', KPI_COLUMNS, rows, kpiCopyText, 'kpis');
  counts.series = await copyChildren(client, 'plan_series', SERIES_COLUMNS, rows, seriesCopyText, 'series');
  counts.events = await copyChildren(client, 'plan_events', EVENT_COLUMNS, rows, eventCopyText, 'events');
  return counts;
}

/** Checksums already in the repository for these versions, keyed `planId\u0000version`. */
export async function existingChecksums(db: pg.PoolClient, keys: { planId: string; version: number }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!keys.length) return out;
  const res = await db.query<{ plan_id: string; version: number; source_checksum: string }>(
    `SELECT v.plan_id, v.version, v.source_checksum FROM plan_versions v
       JOIN unnest($1::text[], $2::int4[]) AS k(plan_id, version) ON v.plan_id = k.plan_id AND v.version = k.version`,
    [keys.map((k) => k.planId), keys.map((k) => k.version)],
  );
  for (const r of res.rows) out.set(versionKey(r.plan_id, r.version), r.source_checksum);
  return out;
}

export function versionKey(planId: string, version: number): string {
  return `${planId}\u0000${version}`;
}
