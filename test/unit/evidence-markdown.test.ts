import type { ApprovalRecord, MigrationEvidence, StepRecord } from '../../model/migration';
import {
  backfillEtaOf,
  refusedSignalsLine,
  renderEvidenceMarkdown,
  renderEvidenceSummary,
  windowWaitLine,
} from '../../workflows/evidence-markdown';

const evidence = (approvals: ApprovalRecord[], refusedSignals: number): MigrationEvidence => ({
  workflowId: 'plandb-staging-migration',
  environment: 'staging',
  status: 'waiting-approval',
  currentStep: null,
  openGate: 'full-backfill',
  policy: null,
  steps: [],
  approvals,
  decisions: [],
  refusedSignals,
  compensations: [],
  stopReason: null,
  startedAt: '2026-12-01T10:00:00.000Z',
  finishedAt: null,
});

const refused = (approver: string, at: string, note: string): ApprovalRecord => ({
  gate: 'full-backfill',
  approver,
  decision: 'refused',
  at,
  note,
});

describe('refused signals in the current details', () => {
  test('none: nothing is said', () => {
    const e = evidence([{ gate: 'start', approver: 'alice', decision: 'approved', at: '2026-12-01T10:01:00.000Z' }], 0);
    expect(refusedSignalsLine(e)).toBe('');
    expect(renderEvidenceSummary(e)).not.toMatch(/refused/);
  });

  test('the count and the last refused one: gate, sender, when and why', () => {
    const e = evidence(
      [
        refused('eve', '2026-12-01T10:02:00.000Z', 'gate "spot-check" is not open'),
        { gate: 'start', approver: 'alice', decision: 'approved', at: '2026-12-01T10:03:00.000Z' },
        refused('mallory', '2026-12-01T10:04:00.000Z', '"mallory" may not decide gate "full-backfill" (allowed: alice, bob)'),
      ],
      2,
    );
    const line =
      '**2 refused approve/reject signals.** Last: gate `full-backfill` by `mallory` at 2026-12-01T10:04:00.000Z — "mallory" may not decide gate "full-backfill" (allowed: alice, bob)';
    expect(refusedSignalsLine(e)).toBe(line);
    expect(renderEvidenceSummary(e).split('\n')).toContain(line);
  });

  test('one refused signal reads in the singular', () => {
    expect(refusedSignalsLine(evidence([refused('eve', '2026-12-01T10:02:00.000Z', 'gate "x" is not open')], 1))).toMatch(
      /^\*\*1 refused approve\/reject signal\.\*\* Last: gate/,
    );
  });

  test('more refused than kept: says the last one shown is the last kept', () => {
    const kept = Array.from({ length: 10 }, (_, i) => refused(`u${i}`, `2026-12-01T10:${String(10 + i)}:00.000Z`, 'not allowed'));
    expect(refusedSignalsLine(evidence(kept, 25))).toBe(
      '**25 refused approve/reject signals.** Last kept (the first 10 are kept): gate `full-backfill` by `u9` at 2026-12-01T10:19:00.000Z — not allowed',
    );
  });

  test('backticks in what the sender typed do not break the code spans', () => {
    expect(refusedSignalsLine(evidence([{ ...refused('a`b', '2026-12-01T10:02:00.000Z', 'no'), gate: 'g`' }], 1))).toBe(
      "**1 refused approve/reject signal.** Last: gate `g'` by `a'b` at 2026-12-01T10:02:00.000Z — no",
    );
  });
});

describe('the online cut-over in the evidence', () => {
  const step = (name: StepRecord['name'], output: unknown): StepRecord => ({
    name,
    status: 'completed',
    attempt: 1,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:02.000Z',
    output,
    error: null,
  });

  test('the delta step shows its size; maintenance-off shows the window', () => {
    const e: MigrationEvidence = {
      ...evidence([], 0),
      steps: [
        step('delta', {
          runId: 'r1',
          afterId: 25,
          upToId: 30,
          newArtifacts: 5,
          newVersions: 5,
          changedVersions: 3,
          artifactsRead: 18,
          errorsCount: 0,
        }),
        step('maintenance-off', {
          mode: 'db-flag',
          enabled: false,
          window: { on: '2026-12-01T10:00:00.000Z', off: '2026-12-01T10:01:30.000Z', seconds: 90 },
        }),
      ],
    };
    const md = renderEvidenceMarkdown(e);
    expect(md).toContain('run `r1`: 5 new artifacts after id 25 (5 versions written), 3 versions changed in place rewritten, 0 errors');
    expect(md).toContain('db-flag: enabled=false; maintenance window 2026-12-01T10:00:00.000Z → 2026-12-01T10:01:30.000Z (90.0 s)');
  });
});

describe('maintenance windows and the predicted ETA in the current details', () => {
  const step = (name: MigrationEvidence['steps'][number]['name'], output: unknown) => ({
    name,
    status: 'completed' as const,
    attempt: 1,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:01.000Z',
    output,
    error: null,
  });
  const eta = {
    fromEnvironment: 'dev',
    fromRunId: 'r1',
    artifactsPerSecond: 20,
    artifacts: 3000,
    etaSeconds: 150,
    measuredAt: '2026-12-01T09:00:00.000Z',
  };

  test('while waiting: "waiting for window (opens at …)" in the zone', () => {
    const e: MigrationEvidence = {
      ...evidence([], 0),
      status: 'waiting-window',
      openGate: null,
      steps: [
        {
          ...step('maintenance-window', {
            opensAtLocal: '2026-12-05T01:00:00+09:00 Asia/Tokyo',
            closesAtLocal: '2026-12-05T05:00:00+09:00 Asia/Tokyo',
          }),
          status: 'running',
          finishedAt: null,
        },
      ],
    };
    expect(windowWaitLine(e)).toBe(
      'waiting for window (opens at 2026-12-05T01:00:00+09:00 Asia/Tokyo, closes at 2026-12-05T05:00:00+09:00 Asia/Tokyo)',
    );
    expect(renderEvidenceSummary(e)).toContain('**waiting for window (opens at 2026-12-05T01:00:00+09:00 Asia/Tokyo');
    expect(windowWaitLine({ ...e, status: 'running' })).toBe('');
  });

  test('the approval gate shows the backfill ETA predicted at preflight; the evidence too', () => {
    const e: MigrationEvidence = { ...evidence([], 0), steps: [step('preflight', { eta })] };
    expect(backfillEtaOf(e)).toEqual(eta);
    const line = 'Backfill: predicted ETA 2m 30s for 3000 artifacts at 20 artifacts/s (measured on dev, run r1)';
    expect(renderEvidenceSummary(e)).toContain(line);
    expect(renderEvidenceMarkdown(e)).toContain(`- ${line}`);
  });

  test('no prediction (the first environment, or an older preflight): nothing is said', () => {
    const e: MigrationEvidence = {
      ...evidence([], 0),
      steps: [step('preflight', { eta: null }), step('migrate', { head: 'x', applied: [] })],
    };
    expect(backfillEtaOf(e)).toBeNull();
    expect(backfillEtaOf({ steps: [step('preflight', {})] })).toBeNull();
    expect(renderEvidenceSummary(e)).not.toMatch(/ETA/);
  });
});
