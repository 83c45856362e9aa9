import { InvalidArgumentError } from 'commander';
import { backfillInput } from '../../cli/commands/backfill';
import { catchUpPasses } from '../../cli/options';
import { barPayload } from '../../cli/progress-display';
import { renderBackfillProgress } from '../../cli/render-status';
import { plandbConfigFileSchema } from '../../config/schema';
import { renderBackfillDetails } from '../../workflows/backfill-progress';
import { catchUpStop, checkCatchUpOverride, DEFAULT_CATCH_UP, describePass, type CatchUpPass } from '../../model/catch-up';
import { checkBackfillInput, type BackfillProgress } from '../../workflows/definitions';

const pass = (n: number, artifactsRead: number | null, seconds: number | null): CatchUpPass => ({
  pass: n,
  afterId: 100 * n,
  upToId: 100 * n + 50,
  artifacts: 50,
  firstShard: 2 * n,
  shards: 2,
  startedAt: '2026-12-02T07:00:00.000Z',
  finishedAt: seconds === null ? null : '2026-12-02T07:00:05.000Z',
  seconds,
  artifactsRead,
  rowsWritten: artifactsRead === null ? null : artifactsRead * 10,
  errorsCount: artifactsRead === null ? null : 0,
});

describe('backfill.catchUp config', () => {
  const backfillOf = (backfill: Record<string, unknown>) =>
    plandbConfigFileSchema.safeParse({ environments: { dev: { databaseUrlEnv: 'X', backfill } } });

  test('defaults: enabled, 5 passes, until a pass reads under 1000 artifacts or takes under 30 s', () => {
    expect(backfillOf({}).data?.environments.dev.backfill.catchUp).toEqual({
      enabled: true,
      maxPasses: 5,
      untilRows: 1000,
      untilSeconds: 30,
    });
    expect(DEFAULT_CATCH_UP).toEqual({ enabled: true, maxPasses: 5, untilRows: 1000, untilSeconds: 30 });
  });

  test('accepts every key; a partial block keeps the other defaults', () => {
    expect(
      backfillOf({ catchUp: { enabled: false, maxPasses: 2, untilRows: 0, untilSeconds: 1.5 } }).data?.environments.dev.backfill.catchUp,
    ).toEqual({ enabled: false, maxPasses: 2, untilRows: 0, untilSeconds: 1.5 });
    expect(backfillOf({ catchUp: { maxPasses: 3 } }).data?.environments.dev.backfill.catchUp).toEqual({
      ...DEFAULT_CATCH_UP,
      maxPasses: 3,
    });
  });

  test.each([
    [{ maxPasses: 0 }, 'maxPasses'],
    [{ maxPasses: 101 }, 'maxPasses'],
    [{ maxPasses: 1.5 }, 'maxPasses'],
    [{ untilRows: -1 }, 'untilRows'],
    [{ untilSeconds: -0.1 }, 'untilSeconds'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ untilRow: 5 }, ''],
  ])('rejects %j, naming the key', (catchUp, key) => {
    const result = backfillOf({ catchUp });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['environments', 'dev', 'backfill', 'catchUp', ...(key ? [key] : [])]);
  });
});

describe('catchUpStop', () => {
  const policy = { enabled: true, maxPasses: 3, untilRows: 10, untilSeconds: 2 };

  test('the first range is never judged: a catch-up pass always looks for what was appended meanwhile', () => {
    expect(catchUpStop(policy, [])).toBeNull();
  });

  test('a pass under untilRows or untilSeconds is the last', () => {
    expect(catchUpStop(policy, [pass(1, 9, 5)])).toEqual({
      reason: 'under-rows',
      message: 'pass 1 read 9 artifacts, under catchUp.untilRows 10',
    });
    expect(catchUpStop(policy, [pass(1, 50, 1.25)])).toEqual({
      reason: 'under-seconds',
      message: 'pass 1 took 1.3s, under catchUp.untilSeconds 2',
    });
    expect(catchUpStop(policy, [pass(1, 50, 5)])).toBeNull();
  });

  test('zero thresholds never stop: only the pass limit or an unchanged table end does', () => {
    const never = { ...policy, untilRows: 0, untilSeconds: 0 };
    expect(catchUpStop(never, [pass(1, 0, 0)])).toBeNull();
    expect(catchUpStop(never, [pass(1, 0, 0), pass(2, 0, 0), pass(3, 0, 0)])).toEqual({
      reason: 'pass-limit',
      message: '3 catch-up passes ran: catchUp.maxPasses 3 reached',
    });
  });

  test('disabled stops before any pass', () => {
    expect(catchUpStop({ ...policy, enabled: false }, [])).toEqual({
      reason: 'disabled',
      message: 'catch-up passes are disabled (backfill.catchUp.enabled)',
    });
  });
});

describe('catchUp input override', () => {
  test('checkCatchUpOverride names the field at fault', () => {
    expect(checkCatchUpOverride({ maxPasses: 2, untilRows: 0, untilSeconds: 0.5, enabled: true })).toEqual([]);
    expect(checkCatchUpOverride('often')).toEqual(['"catchUp" must be an object such as {"maxPasses": 3}']);
    expect(checkCatchUpOverride({ passes: 2 })).toEqual([
      '"catchUp": unknown field "passes" (known: enabled, maxPasses, untilRows, untilSeconds)',
    ]);
    expect(checkCatchUpOverride({ maxPasses: 0, untilRows: -1, untilSeconds: 'x', enabled: 1 })).toEqual([
      '"catchUp.enabled" must be true or false',
      '"catchUp.maxPasses" must be a whole number from 1 to 100, got 0',
      '"catchUp.untilRows" must be a whole number >= 0, got -1',
      '"catchUp.untilSeconds" must be a number >= 0, got "x"',
    ]);
  });

  test('the backfill input takes catchUp and reports its problems', () => {
    expect(checkBackfillInput({ environment: 'dev', catchUp: { maxPasses: 2 } })).toEqual([]);
    expect(checkBackfillInput({ environment: 'dev', catchUp: { maxPasses: 'many' } })).toEqual([
      '"catchUp.maxPasses" must be a whole number from 1 to 100, got "many"',
    ]);
  });
});

test('describePass says the range, then what the pass read', () => {
  expect(describePass(pass(1, null, null))).toBe('pass 1: ids (100, 150], 50 artifacts, running');
  expect(describePass(pass(2, 48, 3.04))).toBe('pass 2: ids (200, 250], 50 artifacts, read 48 (480 rows, 0 errors) in 3.0s');
});

describe('passes in plandb status and the UI details', () => {
  const progress = {
    runId: 'r1',
    environment: 'staging',
    mode: 'normal',
    status: 'running',
    paused: false,
    batchSize: 500,
    cursor: 150,
    upToId: 250,
    artifactsTotal: 250,
    artifactsRead: 150,
    versionsWritten: 150,
    versionsSkipped: 0,
    versionsRejected: 0,
    versionsConflicted: 0,
    plansWritten: 10,
    seriesWritten: 1500,
    kpisWritten: 0,
    eventsWritten: 0,
    errorsCount: 0,
    artifactsPerSecond: 10,
    rowsPerSecond: 100,
    etaSeconds: 10,
    chunks: 4,
    continuedAsNew: 0,
    startedAt: null,
    updatedAt: null,
  } satisfies BackfillProgress;

  test('a running pass, then each pass and why they ended', () => {
    const running = { ...progress, catchUp: { pass: 2, passes: [pass(1, 48, 3.04), pass(2, null, null)], ended: null } };
    expect(renderBackfillProgress(running).split('\n').slice(-3)).toEqual([
      '  catch-up pass 2 running',
      '    pass 1: ids (100, 150], 50 artifacts, read 48 (480 rows, 0 errors) in 3.0s',
      '    pass 2: ids (200, 250], 50 artifacts, running',
    ]);
    const ended = {
      ...progress,
      catchUp: { pass: 1, passes: [pass(1, 9, 1)], ended: { reason: 'under-rows' as const, message: 'pass 1 read 9 artifacts', at: '' } },
    };
    expect(renderBackfillDetails(ended).split('\n').slice(-3)).toEqual([
      '',
      'catch-up: 1 pass, ended (under-rows): pass 1 read 9 artifacts',
      '- pass 1: ids (100, 150], 50 artifacts, read 9 (90 rows, 0 errors) in 1.0s',
    ]);
  });

  test('the progress bar names the pass while one runs', () => {
    expect(barPayload({ ...progress, catchUp: { pass: 2, passes: [pass(1, 48, 3), pass(2, null, null)], ended: null } }).status).toBe(
      'running, catch-up pass 2',
    );
    expect(barPayload({ ...progress, catchUp: { pass: 0, passes: [], ended: null } }).status).toBe('running');
  });

  test('nothing before the first pass or decision', () => {
    expect(renderBackfillProgress({ ...progress, catchUp: { pass: 0, passes: [], ended: null } })).toBe(renderBackfillProgress(progress));
  });
});

test('plandb backfill --catch-up-passes N overrides maxPasses; 0 turns catch-up off; absent leaves the config', () => {
  const defaults = { batchSize: 500, maxErrors: 10 };
  expect(catchUpPasses('0')).toBe(0);
  expect(catchUpPasses('100')).toBe(100);
  for (const bad of ['101', '-1', '1.5', 'all']) expect(() => catchUpPasses(bad)).toThrow(InvalidArgumentError);
  expect(backfillInput({ env: 'staging', wait: true, catchUpPasses: 3 }, defaults)).toMatchObject({ catchUp: { maxPasses: 3 } });
  expect(backfillInput({ env: 'staging', wait: true, catchUpPasses: 0 }, defaults)).toMatchObject({ catchUp: { enabled: false } });
  expect(backfillInput({ env: 'staging', wait: true }, defaults)).not.toHaveProperty('catchUp');
});
