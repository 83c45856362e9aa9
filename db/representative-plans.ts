/**
 * Representative plans (checklist: "three or more representative plans"): picked deterministically
 * for what tends to break a migration (the most versions, the most series rows, the most events, the
 * first and last plan ids), then each plan's latest valid version is compared legacy vs repository in
 * full detail: name, status, run id (the "Run link"), summary, every KPI, every event, the series
 * (count, checksum and row by row) and the `plans` row.
 */
import { canonicalJson } from '../transform/canonical-json';
import { fromRepositoryRows } from '../transform/checksum';
import { transformArtifact } from '../transform/legacy-transform';
import type { JsonValue, NormalizedEvent, NormalizedKpi, NormalizedVersion } from '../transform/types';
import { diffVersions, shownValue, type Difference } from '../transform/version-diff';
import type { Queryable } from './connection';
import { nativeSha256 } from './native-hash';
import { legacyPayloadSql, parseLegacyPayload, type LegacyPayloadColumns } from './jsonb-text';
import { readVersion, toRepositoryRows } from './repository-reader';

export const REPRESENTATIVE_CRITERIA = ['most_versions', 'most_series', 'most_events', 'first_plan', 'last_plan'] as const;
export type RepresentativeCriterion = (typeof REPRESENTATIVE_CRITERIA)[number];

/** Why a plan was picked: it ranks `rank` (1 = top) for `criterion`. */
export interface RepresentativeReason {
  criterion: RepresentativeCriterion;
  rank: number;
}

/** What an operator spot-checks on the /plans pages, from the legacy side (the repository's where it differs). */
export interface PlanDetail {
  name: string | null;
  status: string | null;
  runId: string | null;
  summary: JsonValue;
  kpis: NormalizedKpi[];
  /** The first DETAIL_EVENTS events; all of them are compared. */
  events: NormalizedEvent[];
  eventsCount: number;
  seriesCount: number;
  /** sha256 of the canonical JSON of the sorted series rows. */
  seriesChecksum: string;
}

export interface RepresentativePlanReport {
  planId: string;
  chosenFor: RepresentativeReason[];
  /** Newest legacy version, valid or not. */
  latestLegacyVersion: number | null;
  /** Newest valid legacy version: the one compared (null when the plan has none). */
  version: number | null;
  equal: boolean;
  legacy: PlanDetail | null;
  /** At most MAX_DIFFERENCES. */
  differences: Difference[];
}

const DETAIL_EVENTS = 20;
const DETAIL_KPIS = 50;
const MAX_DIFFERENCES = 50;
const SUMMARY_CHARS = 4000;
/** Legacy versions read per query while looking for the newest valid one. */
const LEGACY_PAGE = 8;

// Series and event counts are those of each plan's latest version, read from the repository: cheap
// (index range scans), and about the version that is compared. Candidates per criterion: `$1`.
const CANDIDATES_SQL: Record<RepresentativeCriterion, string> = {
  most_versions: `SELECT plan_id FROM plan_artifacts GROUP BY plan_id ORDER BY count(*) DESC, plan_id LIMIT $1`,
  most_series: `SELECT plan_id FROM plans p
    ORDER BY (SELECT count(*) FROM plan_series s WHERE s.plan_id = p.plan_id AND s.version = p.latest_version) DESC, plan_id LIMIT $1`,
  most_events: `SELECT plan_id FROM plans p
    ORDER BY (SELECT count(*) FROM plan_events e WHERE e.plan_id = p.plan_id AND e.version = p.latest_version) DESC, plan_id LIMIT $1`,
  first_plan: `SELECT DISTINCT plan_id FROM plan_artifacts ORDER BY plan_id LIMIT $1`,
  last_plan: `SELECT DISTINCT plan_id FROM plan_artifacts ORDER BY plan_id DESC LIMIT $1`,
};

export type RepresentativeCandidates = Record<RepresentativeCriterion, readonly string[]>;

/**
 * Up to `n` distinct plans: first each criterion's top plan (one plan may top several criteria), then
 * runners-up criterion by criterion, rank by rank. Fewer only when there are fewer plans.
 */
export function pickRepresentatives(
  candidates: RepresentativeCandidates,
  n: number,
): { planId: string; chosenFor: RepresentativeReason[] }[] {
  const chosen = new Map<string, RepresentativeReason[]>();
  for (const criterion of REPRESENTATIVE_CRITERIA) {
    const top = candidates[criterion][0];
    if (top === undefined) continue;
    const reasons = chosen.get(top);
    if (reasons) reasons.push({ criterion, rank: 1 });
    else if (chosen.size < n) chosen.set(top, [{ criterion, rank: 1 }]);
  }
  const deepest = Math.max(0, ...REPRESENTATIVE_CRITERIA.map((c) => candidates[c].length));
  for (let rank = 2; rank <= deepest && chosen.size < n; rank++) {
    for (const criterion of REPRESENTATIVE_CRITERIA) {
      const planId = candidates[criterion][rank - 1];
      if (planId !== undefined && !chosen.has(planId) && chosen.size < n) chosen.set(planId, [{ criterion, rank }]);
    }
  }
  return [...chosen].map(([planId, chosenFor]) => ({ planId, chosenFor }));
}

async function candidates(db: Queryable, n: number): Promise<RepresentativeCandidates> {
  const out = {} as Record<RepresentativeCriterion, string[]>;
  for (const criterion of REPRESENTATIVE_CRITERIA) {
    out[criterion] = (await db.query<{ plan_id: string }>(CANDIDATES_SQL[criterion], [n])).rows.map((r) => r.plan_id);
  }
  return out;
}

type LegacyRow = { id: number; version: number; created_at: Date } & LegacyPayloadColumns;

/** The plan's newest legacy version number and its newest version the transform accepts. */
async function newestValidLegacy(db: Queryable, planId: string): Promise<{ latest: number | null; version: NormalizedVersion | null }> {
  let latest: number | null = null;
  let below: number | null = null;
  for (;;) {
    const rows: LegacyRow[] = (
      await db.query<LegacyRow>(
        `SELECT a.id, a.version, ${legacyPayloadSql('a')}, a.created_at FROM plan_artifacts a
          WHERE a.plan_id = $1 AND ($2::int4 IS NULL OR a.version < $2) ORDER BY a.version DESC LIMIT $3`,
        [planId, below, LEGACY_PAGE],
      )
    ).rows;
    if (!rows.length) return { latest, version: null };
    latest ??= rows[0].version;
    for (const r of rows) {
      const result = transformArtifact(
        { id: r.id, planId, version: r.version, payload: parseLegacyPayload(r), createdAt: r.created_at },
        nativeSha256,
      );
      if (result.ok) return { latest, version: result.version };
    }
    below = rows[rows.length - 1].version;
  }
}

function planDetail(v: NormalizedVersion): PlanDetail {
  return {
    name: v.name,
    status: v.status,
    runId: v.runId,
    summary: canonicalJson(v.summary).length <= SUMMARY_CHARS ? v.summary : shownValue(v.summary, SUMMARY_CHARS),
    kpis: v.kpis.slice(0, DETAIL_KPIS),
    events: v.events.slice(0, DETAIL_EVENTS),
    eventsCount: v.events.length,
    seriesCount: v.series.length,
    seriesChecksum: nativeSha256(canonicalJson(v.series)),
  };
}

/** Compares one plan's newest valid legacy version with the repository. */
export async function compareRepresentativePlan(
  db: Queryable,
  planId: string,
  chosenFor: RepresentativeReason[] = [],
): Promise<RepresentativePlanReport> {
  const legacy = await newestValidLegacy(db, planId);
  const planRow = (
    await db.query<{ name: string | null; status: string | null; latest_version: number }>(
      `SELECT name, status, latest_version FROM plans WHERE plan_id = $1`,
      [planId],
    )
  ).rows[0];
  const differences: Difference[] = [];
  const add = (field: string, l: unknown, r: unknown) => differences.push({ field, legacy: shownValue(l), repository: shownValue(r) });
  const v = legacy.version;
  if (!v) {
    // Every version rejected: the plan must not be in the repository at all.
    if (planRow) add('plans', null, planId);
  } else if (!planRow) {
    add('plans', planId, null);
  } else {
    if (planRow.name !== v.name) add('plans.name', v.name, planRow.name);
    if (planRow.status !== v.status) add('plans.status', v.status, planRow.status);
    if (planRow.latest_version !== v.version) add('plans.latest_version', v.version, planRow.latest_version);
  }
  const detail = v ? planDetail(v) : null;
  if (v && detail) {
    const readBack = await readVersion(db, planId, v.version);
    if (!readBack) add('version', v.version, null);
    else {
      const repository = fromRepositoryRows(toRepositoryRows(readBack));
      const repositoryDetail = planDetail(repository);
      if (detail.seriesCount !== repositoryDetail.seriesCount) add('series.count', detail.seriesCount, repositoryDetail.seriesCount);
      if (detail.seriesChecksum !== repositoryDetail.seriesChecksum)
        add('series.checksum', detail.seriesChecksum, repositoryDetail.seriesChecksum);
      differences.push(...diffVersions(v, repository, MAX_DIFFERENCES));
    }
  }
  return {
    planId,
    chosenFor,
    latestLegacyVersion: legacy.latest,
    version: v?.version ?? null,
    equal: differences.length === 0,
    legacy: detail,
    differences: differences.slice(0, MAX_DIFFERENCES),
  };
}

/** Picks `n` representative plans and compares each; see the module comment. */
export async function compareRepresentativePlans(db: Queryable, n: number): Promise<RepresentativePlanReport[]> {
  const reports: RepresentativePlanReport[] = [];
  for (const pick of pickRepresentatives(await candidates(db, n), n)) {
    reports.push(await compareRepresentativePlan(db, pick.planId, pick.chosenFor));
  }
  return reports;
}
