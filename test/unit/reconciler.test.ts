import { DEFAULT_RECONCILE_INTERVAL_MS, RECONCILE_CHECKS, reconcileIntervalFromEnv } from '../../worker/reconciler';

describe('reconciler settings', () => {
  test('PLANDB_RECONCILE_INTERVAL is seconds, fractions allowed; unset or empty means every 30 s', () => {
    expect(reconcileIntervalFromEnv({})).toBe(DEFAULT_RECONCILE_INTERVAL_MS);
    expect(DEFAULT_RECONCILE_INTERVAL_MS).toBe(30_000);
    expect(reconcileIntervalFromEnv({ PLANDB_RECONCILE_INTERVAL: '' })).toBe(30_000);
    expect(reconcileIntervalFromEnv({ PLANDB_RECONCILE_INTERVAL: '1' })).toBe(1_000);
    expect(reconcileIntervalFromEnv({ PLANDB_RECONCILE_INTERVAL: '0.5' })).toBe(500);
  });

  test.each(['0', '-3', 'soon', '30s'])('PLANDB_RECONCILE_INTERVAL=%s is refused, naming the variable', (value) => {
    expect(() => reconcileIntervalFromEnv({ PLANDB_RECONCILE_INTERVAL: value })).toThrow(
      `PLANDB_RECONCILE_INTERVAL must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  });

  test('checks have distinct names (they label the logs)', () => {
    const names = RECONCILE_CHECKS.map((c) => c.name);
    expect(names).toContain('backfill-run-open-workflow-closed');
    expect(new Set(names).size).toBe(names.length);
  });
});
