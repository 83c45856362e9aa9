import { migrationLine } from '../../cli/watch-migration';
import { initialEvidence, type MigrationEvidence, type StepRecord } from '../../model/migration';

const step = (name: StepRecord['name'], output: unknown, status: StepRecord['status'] = 'completed'): StepRecord => ({
  name,
  status,
  attempt: 1,
  startedAt: '2026-12-01T10:00:00.000Z',
  finishedAt: status === 'running' ? null : '2026-12-01T10:00:01.000Z',
  output,
  error: null,
});
const evidence = (e: Partial<MigrationEvidence>): MigrationEvidence => ({
  ...initialEvidence('plandb-production-migration', 'production', '2026-12-01T10:00:00.000Z'),
  ...e,
});

describe('plandb migrate/promote progress lines', () => {
  test('waiting for the maintenance window says when it opens', () => {
    const e = evidence({
      status: 'waiting-window',
      steps: [
        step(
          'maintenance-window',
          { opensAtLocal: '2026-12-05T01:00:00+09:00 Asia/Tokyo', closesAtLocal: '2026-12-05T05:00:00+09:00 Asia/Tokyo' },
          'running',
        ),
      ],
    });
    expect(migrationLine(e)).toBe(
      'production: waiting for window (opens at 2026-12-05T01:00:00+09:00 Asia/Tokyo, closes at 2026-12-05T05:00:00+09:00 Asia/Tokyo)',
    );
  });

  test('a gate line carries the predicted backfill ETA', () => {
    const eta = {
      fromEnvironment: 'staging',
      fromRunId: 'r9',
      artifactsPerSecond: 250,
      artifacts: 90_000,
      etaSeconds: 360,
      measuredAt: '2026-12-01T09:00:00.000Z',
    };
    const e = evidence({
      status: 'waiting-approval',
      openGate: 'start',
      steps: [step('preflight', { eta }), step('approval', { gate: 'start' }, 'running')],
    });
    expect(migrationLine(e)).toBe(
      'production: waiting at gate "start" — plandb approve plandb-production-migration --gate start --by <name> (backfill: predicted ETA 6m 00s for 90000 artifacts at 250 artifacts/s (measured on staging, run r9))',
    );
  });
});
