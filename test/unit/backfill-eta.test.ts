import {
  describePrediction,
  etaRate,
  formatSeconds,
  measuredRate,
  predictEta,
  predictedRate,
  previousEnvironment,
} from '../../model/backfill-eta';
import { toProgress } from '../../workflows/backfill-progress';
import { ZERO_COUNTERS, type BackfillRun } from '../../model/backfill';

const devRun = {
  environment: 'dev',
  runId: 'r1',
  artifactsRead: 1200,
  startedAt: '2026-12-01T10:00:00.000Z',
  finishedAt: '2026-12-01T10:01:00.000Z',
};

describe('ETA from history', () => {
  test("a closed run's rate is what it read over its wall time", () => {
    expect(measuredRate(devRun)).toEqual({
      environment: 'dev',
      runId: 'r1',
      artifactsRead: 1200,
      seconds: 60,
      artifactsPerSecond: 20,
      finishedAt: '2026-12-01T10:01:00.000Z',
    });
  });

  test('no rate from an open run, an empty one or one without a duration', () => {
    expect(measuredRate({ ...devRun, finishedAt: null })).toBeNull();
    expect(measuredRate({ ...devRun, artifactsRead: 0 })).toBeNull();
    expect(measuredRate({ ...devRun, finishedAt: devRun.startedAt })).toBeNull();
  });

  test('the previous environment in the promotion order', () => {
    const order = ['dev', 'staging', 'production'];
    expect(previousEnvironment(order, 'production')).toBe('staging');
    expect(previousEnvironment(order, 'staging')).toBe('dev');
    expect(previousEnvironment(order, 'dev')).toBeNull();
    expect(previousEnvironment(order, 'qa')).toBeNull();
  });

  test("the prediction: this environment's artifacts at the earlier rate", () => {
    const p = predictEta(measuredRate(devRun)!, 50_000);
    expect(p).toEqual({
      fromEnvironment: 'dev',
      fromRunId: 'r1',
      artifactsPerSecond: 20,
      artifacts: 50_000,
      etaSeconds: 2500,
      measuredAt: '2026-12-01T10:01:00.000Z',
    });
    expect(predictedRate(p)).toBe(20);
    expect(describePrediction(p)).toBe('predicted ETA 41m 40s for 50000 artifacts at 20 artifacts/s (measured on dev, run r1)');
  });

  test('no prediction says why', () => {
    const none = { fromEnvironment: 'dev', unavailable: 'dev has no completed backfill yet' };
    expect(predictedRate(none)).toBeNull();
    expect(predictedRate(null)).toBeNull();
    expect(describePrediction(none)).toBe('no predicted ETA: dev has no completed backfill yet');
  });

  test('durations read as operators say them', () => {
    expect(formatSeconds(42)).toBe('42s');
    expect(formatSeconds(125)).toBe('2m 05s');
    expect(formatSeconds(7500)).toBe('2h 05m');
  });

  test("the predicted rate until three batches are measured, then the run's own", () => {
    const base = { measuredPerSecond: 5, batchSize: 100, predictedPerSecond: 20 };
    expect(etaRate({ ...base, artifactsRead: 0 })).toEqual({ perSecond: 20, source: 'predicted' });
    expect(etaRate({ ...base, artifactsRead: 299 })).toEqual({ perSecond: 20, source: 'predicted' });
    expect(etaRate({ ...base, artifactsRead: 300 })).toEqual({ perSecond: 5, source: 'measured' });
    expect(etaRate({ ...base, artifactsRead: 0, predictedPerSecond: null })).toEqual({ perSecond: 5, source: 'measured' });
  });

  test('the backfill progress ETA uses the prediction early', () => {
    const run = { ...ZERO_COUNTERS, runId: 'r2', status: 'running', artifactsTotal: 1000, artifactsRead: 100 } as unknown as BackfillRun;
    const args = {
      environment: 'staging',
      mode: 'normal' as const,
      run,
      paused: false,
      batchSize: 50,
      chunks: 1,
      continuedAsNew: 0,
      startedAtMs: 0,
      nowMs: 10_000,
      throttle: null,
    };
    // 100 artifacts in 10 s is 10/s; the prediction says 20/s over the first 150 artifacts.
    expect(toProgress({ ...args, predictedPerSecond: 20 })).toMatchObject({ etaSeconds: 45, etaSource: 'predicted' });
    expect(toProgress(args)).toMatchObject({ etaSeconds: 90, etaSource: 'measured' });
    const later = { ...run, artifactsRead: 200 };
    expect(toProgress({ ...args, run: later, nowMs: 20_000, predictedPerSecond: 20 })).toMatchObject({
      etaSeconds: 80,
      etaSource: 'measured',
    });
  });
});
