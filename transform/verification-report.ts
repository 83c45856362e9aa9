/**
 * The accounting of a verification pass, separate from how rows are read: each legacy artifact is
 * transformed and compared with what the repository holds for its (plan_id, version). Pure, so the
 * rules are unit-tested without a database and workflows may import the report types.
 */
import type { RepositoryTable } from '../model/tables';
import { fromRepositoryRows, versionChecksum, type RepositoryRows } from './checksum';
import { transformArtifact } from './legacy-transform';
import type { Hasher, LegacyArtifact } from './types';
import { diffVersions, type Difference } from './version-diff';

/** How many of each kind of finding are listed (all are counted). */
export const LISTED_FINDINGS = 50;
/** Field differences listed per mismatched version. */
const DIFFERENCES_PER_MISMATCH = 10;

export type VerifySample = 'all' | number;

export interface VersionRef {
  planId: string;
  version: number;
  artifactId: number;
}

/** Which checksums differ from the legacy one: the read-back rows, the checksum stored by the backfill. */
export type ChecksumSide = 'readBack' | 'stored';

export interface ChecksumMismatch extends VersionRef {
  legacy: string;
  readBack: string;
  stored: string;
  differs: ChecksumSide[];
  /** What differs between the legacy version and the rows read back (empty when only `stored` differs). */
  differences: Difference[];
}

export interface ExtraVersion {
  planId: string;
  version: number;
  /** No legacy artifact has this key, or the artifact that has it is rejected by the transform. */
  why: 'no_legacy_artifact' | 'legacy_rejected';
}

/** A `plans` row that does not agree with the newest version the repository holds for the plan. */
export interface PlanRowInconsistency {
  planId: string;
  plan: { name: string | null; status: string | null; latestVersion: number };
  newestVersion: { version: number; name: string | null; status: string | null } | null;
}

/** A finding: how many in all, and the first LISTED_FINDINGS of them. */
export interface Listed<T> {
  count: number;
  first: T[];
}

export interface TableCount {
  expected: number;
  actual: number;
}

export interface VerificationReport {
  sample: VerifySample;
  artifactsRead: number;
  /** Valid legacy versions: each must be in the repository. */
  versionsExpected: number;
  /** Versions read back in full and re-checksummed (the sample). */
  versionsChecked: number;
  matches: number;
  mismatches: number;
  /**
   * Of the mismatches, those whose repository rows equal what the backfill stored while the legacy payload
   * differs: changed in place since it was written (the online cut-over's delta rewrites them).
   */
  changedSinceWritten: number;
  /**
   * Valid legacy versions with no `plan_versions` row whose artifact the backfill had rejected: fixed in
   * place since (the online cut-over's delta writes them). Also counted in `missingInRepository`.
   */
  fixedSinceRejected: number;
  firstMismatches: ChecksumMismatch[];
  /** Valid legacy versions with no `plan_versions` row (always exact, whatever the sample). */
  missingInRepository: number;
  firstMissing: VersionRef[];
  /** Legacy artifacts the transform rejects: these are expected to be absent. */
  rejectedLegacy: number;
  rejectedByReason: Record<string, number>;
  /** Repository versions without a legacy artifact, or whose artifact the transform rejects. */
  extraInRepository: number;
  firstExtra: ExtraVersion[];
  /** `plans` rows that disagree with the newest version the repository holds for the plan. */
  plansInconsistent: number;
  firstPlansInconsistent: PlanRowInconsistency[];
  /** Expected: sums over the valid legacy versions. Always exact, whatever the sample. */
  counts: Record<RepositoryTable, TableCount>;
  seconds: number;
}

/** What the repository holds for one artifact's key; `rows` only when the version is in the sample. */
export interface RepositorySide {
  storedChecksum: string;
  rows: RepositoryRows | null;
}

class Listing<T> {
  count = 0;
  first: T[] = [];
  add(item: T): void {
    this.count++;
    if (this.first.length < LISTED_FINDINGS) this.first.push(item);
  }
  /** Appends `later`'s findings, as if its items had been added after this one's. */
  append(later: Listing<T>): void {
    this.count += later.count;
    this.first.push(...later.first.slice(0, LISTED_FINDINGS - this.first.length));
  }
}

/** Adds up a verification pass artifact by artifact; memory is bounded by the listed findings and the plan ids. */
export class VerificationTally {
  private artifactsRead = 0;
  private versionsChecked = 0;
  private matches = 0;
  private changedSinceWritten = 0;
  private fixedSinceRejected = 0;
  private readonly mismatches = new Listing<ChecksumMismatch>();
  private readonly missing = new Listing<VersionRef>();
  private readonly extra = new Listing<ExtraVersion>();
  private readonly rejected: Record<string, number> = {};
  private readonly plans = new Set<string>();
  private readonly expected = { versions: 0, kpis: 0, series: 0, events: 0 };

  /** `rejectedEarlier`: artifacts a backfill recorded as errors (their absence may be a fix made since). */
  constructor(
    private readonly sample: VerifySample,
    private readonly hash: Hasher,
    private readonly rejectedEarlier: ReadonlySet<number> = new Set(),
  ) {}

  progress(): { artifactsRead: number; versionsChecked: number; mismatches: number } {
    return { artifactsRead: this.artifactsRead, versionsChecked: this.versionsChecked, mismatches: this.mismatches.count };
  }

  /** `repository` is null when `plan_versions` has no row for the artifact's key. */
  add(artifact: LegacyArtifact, repository: RepositorySide | null): void {
    this.artifactsRead++;
    const result = transformArtifact(artifact, this.hash);
    const ref: VersionRef = { planId: artifact.planId, version: artifact.version, artifactId: artifact.id };
    if (!result.ok) {
      this.rejected[result.reason] = (this.rejected[result.reason] ?? 0) + 1;
      if (repository) this.extra.add({ planId: ref.planId, version: ref.version, why: 'legacy_rejected' });
      return;
    }
    const v = result.version;
    this.plans.add(v.planId);
    this.expected.versions++;
    this.expected.kpis += v.kpis.length;
    this.expected.series += v.series.length;
    this.expected.events += v.events.length;
    if (!repository) {
      if (this.rejectedEarlier.has(artifact.id)) this.fixedSinceRejected++;
      return this.missing.add(ref);
    }
    if (!repository.rows) return;
    this.versionsChecked++;
    const readBackVersion = fromRepositoryRows(repository.rows);
    const readBack = versionChecksum(readBackVersion, this.hash);
    const differs: ChecksumSide[] = [];
    if (readBack !== result.checksum) differs.push('readBack');
    if (repository.storedChecksum !== result.checksum) differs.push('stored');
    if (!differs.length) {
      this.matches++;
      return;
    }
    if (readBack === repository.storedChecksum) this.changedSinceWritten++;
    const listed = this.mismatches.first.length < LISTED_FINDINGS;
    this.mismatches.add({
      ...ref,
      legacy: result.checksum,
      readBack,
      stored: repository.storedChecksum,
      differs,
      differences: listed && differs.includes('readBack') ? diffVersions(v, readBackVersion, DIFFERENCES_PER_MISMATCH) : [],
    });
  }

  /**
   * Takes in the tally of the artifacts that follow this tally's (the next part of the id range), so
   * that parts tallied apart and merged in id order give exactly the report of one walk: same counts,
   * same listed findings in the same order.
   */
  append(later: VerificationTally): void {
    if (later.sample !== this.sample) throw new Error(`cannot merge a tally of sample ${later.sample} into one of sample ${this.sample}`);
    this.artifactsRead += later.artifactsRead;
    this.versionsChecked += later.versionsChecked;
    this.matches += later.matches;
    this.changedSinceWritten += later.changedSinceWritten;
    this.fixedSinceRejected += later.fixedSinceRejected;
    this.mismatches.append(later.mismatches);
    this.missing.append(later.missing);
    this.extra.append(later.extra);
    for (const [reason, n] of Object.entries(later.rejected)) this.rejected[reason] = (this.rejected[reason] ?? 0) + n;
    for (const planId of later.plans) this.plans.add(planId);
    for (const key of Object.keys(this.expected) as (keyof typeof this.expected)[]) this.expected[key] += later.expected[key];
  }

  /** The report, given what only the database can tell: actual counts, keys without an artifact, `plans` rows. */
  finish(args: {
    actual: Record<RepositoryTable, number>;
    withoutArtifact: Listed<Omit<ExtraVersion, 'why'>>;
    plansInconsistent: Listed<PlanRowInconsistency>;
    seconds: number;
  }): VerificationReport {
    const withoutArtifact = args.withoutArtifact.first.map((e): ExtraVersion => ({ ...e, why: 'no_legacy_artifact' }));
    const expected: Record<RepositoryTable, number> = {
      plans: this.plans.size,
      plan_versions: this.expected.versions,
      plan_kpis: this.expected.kpis,
      plan_series: this.expected.series,
      plan_events: this.expected.events,
    };
    const counts = Object.fromEntries(
      (Object.keys(expected) as RepositoryTable[]).map((t) => [t, { expected: expected[t], actual: args.actual[t] }]),
    ) as Record<RepositoryTable, TableCount>;
    return {
      sample: this.sample,
      artifactsRead: this.artifactsRead,
      versionsExpected: this.expected.versions,
      versionsChecked: this.versionsChecked,
      matches: this.matches,
      mismatches: this.mismatches.count,
      changedSinceWritten: this.changedSinceWritten,
      fixedSinceRejected: this.fixedSinceRejected,
      firstMismatches: this.mismatches.first,
      missingInRepository: this.missing.count,
      firstMissing: this.missing.first,
      rejectedLegacy: Object.values(this.rejected).reduce((a, b) => a + b, 0),
      rejectedByReason: { ...this.rejected },
      extraInRepository: this.extra.count + args.withoutArtifact.count,
      firstExtra: [...this.extra.first, ...withoutArtifact].slice(0, LISTED_FINDINGS),
      plansInconsistent: args.plansInconsistent.count,
      firstPlansInconsistent: args.plansInconsistent.first,
      counts,
      seconds: args.seconds,
    };
  }
}

const firstKey = (xs: { planId: string; version: number }[]): string => (xs.length ? ` (first: ${xs[0].planId} v${xs[0].version})` : '');

/**
 * Why a verification report fails, one line each; empty when it passes. With `changedLater` (the online
 * cut-over's verify while the application is live) versions changed in place since they were written are
 * left to the final delta, and so are the table counts they move; the delta's own verify is strict.
 */
export function verificationProblems(r: VerificationReport, opts: { changedLater?: boolean } = {}): string[] {
  const problems: string[] = [];
  const changed = opts.changedLater ? r.changedSinceWritten : 0;
  const fixed = opts.changedLater ? (r.fixedSinceRejected ?? 0) : 0;
  // What the delta will write moves the table counts: left to its verify.
  const tolerated = changed + fixed;
  const mismatches = r.mismatches - changed;
  if (mismatches) {
    const first = r.firstMismatches.filter((m) => !opts.changedLater || m.readBack !== m.stored);
    problems.push(`${mismatches} checksum mismatches${firstKey(first)}`);
  }
  const missing = r.missingInRepository - fixed;
  if (missing) problems.push(`${missing} valid legacy versions missing from the repository${fixed ? '' : firstKey(r.firstMissing)}`);
  if (r.extraInRepository)
    problems.push(`${r.extraInRepository} repository versions without a valid legacy artifact${firstKey(r.firstExtra)}`);
  if (r.plansInconsistent) {
    problems.push(`${r.plansInconsistent} plans rows disagree with their newest version (first: ${r.firstPlansInconsistent[0].planId})`);
  }
  for (const [table, c] of Object.entries(r.counts)) {
    if (c.expected !== c.actual && !tolerated) problems.push(`${table}: ${c.actual} rows, expected ${c.expected}`);
  }
  return problems;
}
