import type { RepositoryRows } from '../../transform/checksum';
import { mulberry32 } from '../../transform/demo-payloads';
import type { LegacyArtifact } from '../../transform/types';
import { LISTED_FINDINGS, VerificationTally, verificationProblems, type VerificationReport } from '../../transform/verification-report';
import { accepted, artifact, simulateRepositoryRows } from './transform-fixtures';
import { nativeSha256 } from '../../db/native-hash';

const payload = (n: number) => ({
  name: `Plan ${n}`,
  status: 'draft',
  run_id: `run-${n}`,
  kpis: [{ name: 'fill_rate', value: 0.9, unit: 'ratio' }],
  series: [
    { item: 'SKU-1', location: 'TOKYO', period: '2026-01', metric: 'demand', value: n },
    { item: 'SKU-2', location: 'TOKYO', period: '2026-01', metric: 'demand', value: n + 1 },
  ],
  events: [{ at: '2026-01-01T00:00:00Z', type: 'created', actor: 'alice' }],
});

const rng = mulberry32(5);
const legacy = (n: number, planId = `plan-${n}`): LegacyArtifact => artifact(payload(n), { id: n, planId, version: 1 });
/** What a correct backfill leaves in the repository for `a`. */
const stored = (a: LegacyArtifact) => {
  const r = accepted(a.payload, a);
  return { storedChecksum: r.checksum, rows: simulateRepositoryRows(rng, r.version) };
};

const NO_DB_FINDINGS = { withoutArtifact: { count: 0, first: [] }, plansInconsistent: { count: 0, first: [] }, seconds: 1 };
const actualFrom = (r: Pick<VerificationReport, 'counts'>) =>
  Object.fromEntries(Object.entries(r.counts).map(([t, c]) => [t, c.expected])) as Record<keyof VerificationReport['counts'], number>;

/** The report of a repository whose table counts are what the tally expects. */
function finish(tally: VerificationTally): VerificationReport {
  const probe = tally.finish({ ...NO_DB_FINDINGS, actual: { plans: 0, plan_versions: 0, plan_kpis: 0, plan_series: 0, plan_events: 0 } });
  return tally.finish({ ...NO_DB_FINDINGS, actual: actualFrom(probe) });
}

describe('VerificationTally', () => {
  test('a faithful copy matches; counts are summed from the transform', () => {
    const tally = new VerificationTally('all', nativeSha256);
    for (const a of [legacy(1), legacy(2), legacy(3, 'plan-1')]) tally.add(a, stored(a));
    const r = finish(tally);
    expect(r).toEqual(expect.objectContaining({ artifactsRead: 3, versionsExpected: 3, versionsChecked: 3, matches: 3, mismatches: 0 }));
    expect(r.counts).toEqual({
      plans: { expected: 2, actual: 2 },
      plan_versions: { expected: 3, actual: 3 },
      plan_kpis: { expected: 3, actual: 3 },
      plan_series: { expected: 6, actual: 6 },
      plan_events: { expected: 3, actual: 3 },
    });
    expect(verificationProblems(r)).toEqual([]);
  });

  test('a version missing because the backfill rejected its artifact, fixed since, is left to the delta only while the application is live', () => {
    const tally = new VerificationTally('all', nativeSha256, new Set([2]));
    const [a1, a2, a3] = [legacy(1), legacy(2), legacy(3, 'plan-1')];
    tally.add(a1, stored(a1));
    tally.add(a2, null);
    tally.add(a3, null);
    const r = finish(tally);
    expect(r).toEqual(expect.objectContaining({ missingInRepository: 2, fixedSinceRejected: 1 }));
    // Artifact 3 was never rejected: its absence is a real gap, live or not.
    expect(verificationProblems(r, { changedLater: true })).toEqual(['1 valid legacy versions missing from the repository']);
    expect(verificationProblems(r)).toEqual([expect.stringMatching(/^2 valid legacy versions missing from the repository \(first: /)]);
  });

  test('rows changed after the backfill differ on the read-back side, with the field named', () => {
    const tally = new VerificationTally('all', nativeSha256);
    const a = legacy(1);
    const side = stored(a);
    const rows: RepositoryRows = { ...side.rows, series: side.rows.series.map((s) => (s.item === 'SKU-2' ? { ...s, value: 99 } : s)) };
    tally.add(a, { storedChecksum: side.storedChecksum, rows });
    const r = finish(tally);
    expect(r.mismatches).toBe(1);
    expect(r.firstMismatches[0]).toEqual(
      expect.objectContaining({
        planId: 'plan-1',
        version: 1,
        artifactId: 1,
        differs: ['readBack'],
        differences: [{ field: 'series[SKU-2|TOKYO|2026-01|demand].value', legacy: 2, repository: 99 }],
      }),
    );
    expect(verificationProblems(r)).toEqual(['1 checksum mismatches (first: plan-1 v1)']);
  });

  test('a legacy document changed after the backfill differs on both sides; a stale stored checksum on one', () => {
    const tally = new VerificationTally('all', nativeSha256);
    const before = stored(legacy(1));
    tally.add(artifact(payload(7), { id: 1, planId: 'plan-1', version: 1 }), before);
    tally.add(legacy(2), { ...stored(legacy(2)), storedChecksum: '0'.repeat(64) });
    const r = finish(tally);
    expect(r.firstMismatches.map((m) => m.differs)).toEqual([['readBack', 'stored'], ['stored']]);
    expect(r.firstMismatches[1].differences).toEqual([]);
  });

  test('outside the sample only presence is checked; missing and rejected-but-present are listed', () => {
    const tally = new VerificationTally(0.5, nativeSha256);
    tally.add(legacy(1), { storedChecksum: 'whatever', rows: null });
    tally.add(legacy(2), null);
    tally.add(artifact('not an object', { id: 3, planId: 'plan-3', version: 4 }), { storedChecksum: 'x', rows: null });
    tally.add(artifact({ series: 'no' }, { id: 4, planId: 'plan-4', version: 1 }), null);
    const r = finish(tally);
    expect(r).toEqual(
      expect.objectContaining({
        sample: 0.5,
        versionsExpected: 2,
        versionsChecked: 0,
        mismatches: 0,
        missingInRepository: 1,
        firstMissing: [{ planId: 'plan-2', version: 1, artifactId: 2 }],
        rejectedLegacy: 2,
        rejectedByReason: { payload_not_object: 1, series_not_array: 1 },
        extraInRepository: 1,
        firstExtra: [{ planId: 'plan-3', version: 4, why: 'legacy_rejected' }],
      }),
    );
  });

  test('findings are all counted, the first 50 listed; database findings are merged in', () => {
    const tally = new VerificationTally('all', nativeSha256);
    for (let n = 1; n <= LISTED_FINDINGS + 5; n++) tally.add(legacy(n), null);
    const r = tally.finish({
      actual: { plans: 0, plan_versions: 1, plan_kpis: 0, plan_series: 0, plan_events: 0 },
      withoutArtifact: { count: 1, first: [{ planId: 'ghost', version: 1 }] },
      plansInconsistent: {
        count: 1,
        first: [{ planId: 'ghost', plan: { name: null, status: null, latestVersion: 2 }, newestVersion: null }],
      },
      seconds: 2,
    });
    expect(r.missingInRepository).toBe(LISTED_FINDINGS + 5);
    expect(r.firstMissing).toHaveLength(LISTED_FINDINGS);
    expect(r.firstExtra).toEqual([{ planId: 'ghost', version: 1, why: 'no_legacy_artifact' }]);
    expect(verificationProblems(r)).toEqual([
      `${LISTED_FINDINGS + 5} valid legacy versions missing from the repository (first: plan-1 v1)`,
      '1 repository versions without a valid legacy artifact (first: ghost v1)',
      '1 plans rows disagree with their newest version (first: ghost)',
      `plans: 0 rows, expected ${LISTED_FINDINGS + 5}`,
      `plan_versions: 1 rows, expected ${LISTED_FINDINGS + 5}`,
      `plan_kpis: 0 rows, expected ${LISTED_FINDINGS + 5}`,
      `plan_series: 0 rows, expected ${2 * (LISTED_FINDINGS + 5)}`,
      `plan_events: 0 rows, expected ${LISTED_FINDINGS + 5}`,
    ]);
  });

  test('parts tallied apart and appended in id order report exactly what one tally of all artifacts does', () => {
    // Findings of every kind, more than are listed, and plans whose versions fall on both sides of a cut.
    const inputs = Array.from({ length: 4 * LISTED_FINDINGS }, (_, i) => {
      const n = i + 1;
      const a = artifact(payload(n), { id: n, planId: `plan-${Math.ceil(n / 4)}`, version: n });
      if (n % 5 === 0) return [a, null] as const;
      if (n % 7 === 0)
        return [artifact({ series: 'no' }, { id: n, planId: a.planId, version: n }), { storedChecksum: 'x', rows: null }] as const;
      const side = stored(a);
      return [a, n % 2 === 0 ? { ...side, storedChecksum: 'stale' } : side] as const;
    });
    const tallyOf = (slice: typeof inputs) => {
      const tally = new VerificationTally('all', nativeSha256);
      for (const [a, side] of slice) tally.add(a, side);
      return tally;
    };
    const serial = finish(tallyOf(inputs));
    expect(serial.mismatches).toBeGreaterThan(LISTED_FINDINGS);
    expect(serial.firstMismatches).toHaveLength(LISTED_FINDINGS);
    expect(serial).toEqual(expect.objectContaining({ missingInRepository: 40, extraInRepository: 28 - 5 }));
    for (const cuts of [[1], [10, 11], [LISTED_FINDINGS - 3, 2 * LISTED_FINDINGS], [37, 60, 99, 120, 199]]) {
      const bounds = [0, ...cuts, inputs.length];
      const [first, ...rest] = bounds.slice(1).map((end, k) => tallyOf(inputs.slice(bounds[k], end)));
      for (const t of rest) first.append(t);
      expect(finish(first)).toEqual(serial);
    }
    expect(() => tallyOf([]).append(new VerificationTally(0.5, nativeSha256))).toThrow(/sample/);
  });
});

describe('verify while the application is live (the online cut-over)', () => {
  test('a version changed in place since it was written is left to the delta; one the repository got wrong is not', () => {
    const tally = new VerificationTally('all', nativeSha256);
    const changed = legacy(1);
    const wrong = legacy(2);
    // Written from the old payload: rows and stored checksum agree with each other, not with the legacy now.
    tally.add(changed, stored(legacy(7, 'plan-1')));
    const side = stored(wrong);
    tally.add(wrong, { storedChecksum: side.storedChecksum, rows: { ...side.rows, kpis: [] } });
    const r = finish(tally);
    expect(r).toEqual(expect.objectContaining({ mismatches: 2, changedSinceWritten: 1 }));
    expect(verificationProblems(r)).toEqual(['2 checksum mismatches (first: plan-1 v1)']);
    expect(verificationProblems(r, { changedLater: true })).toEqual(['1 checksum mismatches (first: plan-2 v1)']);
  });

  test("only changes since written: it passes, and the counts they moved are the delta verify's to check", () => {
    const tally = new VerificationTally('all', nativeSha256);
    tally.add(legacy(1), stored(legacy(7, 'plan-1')));
    const probe = finish(tally);
    const r = tally.finish({ ...NO_DB_FINDINGS, actual: { ...actualFrom(probe), plan_series: 99 } });
    expect(verificationProblems(r)).toEqual(['1 checksum mismatches (first: plan-1 v1)', 'plan_series: 99 rows, expected 2']);
    expect(verificationProblems(r, { changedLater: true })).toEqual([]);
  });
});
