import { batchSizeOf, checkBackfillInput, checkRetryErrors, checkSetBatchSize } from '../../workflows/definitions';

describe('backfillRepository input: shards and tuning', () => {
  test('shards is a whole number from 1 to 32', () => {
    expect(checkBackfillInput({ environment: 'dev', shards: 4 })).toEqual([]);
    for (const bad of [0, 33, 2.5, '2']) {
      expect(checkBackfillInput({ environment: 'dev', shards: bad })).toEqual([
        `"shards" must be a whole number from 1 to 32, got ${JSON.stringify(bad)}`,
      ]);
    }
  });

  test('tuning takes the config keys by the config rules, naming the field at fault', () => {
    expect(
      checkBackfillInput({ environment: 'dev', tuning: { targetSeconds: 0.5, minBatchSize: 10, maxBatchSize: 900, enabled: true } }),
    ).toEqual([]);
    expect(checkBackfillInput({ environment: 'dev', tuning: 'fast' })).toEqual(['"tuning" must be an object such as {"targetSeconds": 1}']);
    expect(checkBackfillInput({ environment: 'dev', tuning: { target: 1 } })).toEqual(['"tuning": unknown field "target"']);
    expect(checkBackfillInput({ environment: 'dev', tuning: { targetSeconds: 61 } })).toEqual([
      '"tuning.targetSeconds" must be a number > 0 and <= 60, got 61',
    ]);
    expect(checkBackfillInput({ environment: 'dev', tuning: { minBatchSize: 0 } })).toEqual([
      '"tuning.minBatchSize" must be a whole number from 1 to 50000, got 0',
    ]);
    expect(checkBackfillInput({ environment: 'dev', tuning: { minBatchSize: 90, maxBatchSize: 10 } })).toEqual([
      '"tuning.maxBatchSize" must be at least "tuning.minBatchSize"',
    ]);
    expect(checkBackfillInput({ environment: 'dev', tuning: { enabled: 'yes' } })).toEqual(['"tuning.enabled" must be true or false']);
  });

  test('setBatchSize pins N, releases with "auto", and refuses anything else', () => {
    expect(checkSetBatchSize({ batchSize: 'auto' })).toBeNull();
    expect(checkSetBatchSize({ batchSize: 200 })).toBeNull();
    expect(checkSetBatchSize({ batchSize: 'AUTO' })).toBe('batchSize must be a whole number from 1 to 50000, got "AUTO"');
    expect(batchSizeOf({ batchSize: 'auto' })).toBeNull();
    expect(batchSizeOf({ batchSize: 200 })).toBe(200);
    expect(batchSizeOf(25)).toBe(25);
  });

  test("predictedArtifactsPerSecond (from the migration's ETA prediction) is a number > 0", () => {
    expect(checkBackfillInput({ environment: 'dev', predictedArtifactsPerSecond: 12.5 })).toEqual([]);
    for (const bad of [0, -1, 'fast', Infinity])
      expect(checkBackfillInput({ environment: 'dev', predictedArtifactsPerSecond: bad })).toEqual([
        `"predictedArtifactsPerSecond" must be a number > 0, got ${JSON.stringify(bad)}`,
      ]);
  });
});

describe('backfillRepository input: retryErrors', () => {
  const RUN = '0b6c1c3e-6f0e-4d2a-9a53-6f1f4f0c2d11';

  test('takes a previous run id, with force or one shard', () => {
    expect(checkBackfillInput({ environment: 'dev', retryErrors: RUN })).toEqual([]);
    expect(checkBackfillInput({ environment: 'dev', retryErrors: RUN, force: true, shards: 1, batchSize: 10 })).toEqual([]);
    expect(checkRetryErrors(RUN)).toBeNull();
  });

  test('refuses what is not a run id, naming the field', () => {
    for (const bad of ['run-1', 'artifact:12', 42, '']) {
      expect(checkBackfillInput({ environment: 'dev', retryErrors: bad })).toEqual([
        `"retryErrors": expected the id of a previous backfill run (a UUID, as \`plandb status\` shows), got ${JSON.stringify(bad)}`,
      ]);
    }
  });

  test('refuses the options a retry cannot honour', () => {
    expect(checkBackfillInput({ environment: 'dev', retryErrors: RUN, dryRun: true })).toEqual([
      '"retryErrors" and "dryRun" cannot both be set: a retry writes what was fixed',
    ]);
    expect(checkBackfillInput({ environment: 'dev', retryErrors: RUN, resumeFrom: RUN, limit: 5 })).toEqual([
      '"retryErrors" and "resumeFrom" cannot both be set: a retry re-reads all the unresolved errors of its run',
      '"retryErrors" and "limit" cannot both be set: a retry re-reads all the unresolved errors of its run',
    ]);
    expect(checkBackfillInput({ environment: 'dev', retryErrors: RUN, shards: 2 })).toEqual([
      '"retryErrors" runs in one shard: "shards" must be 1 or absent, got 2',
    ]);
  });
});
