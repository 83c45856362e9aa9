import { plandbConfigFileSchema } from '../../config/schema';
import { catchUpStop, checkCatchUpOverride, DEFAULT_CATCH_UP, describePass, type CatchUpPass } from '../../model/catch-up';
import { checkBackfillInput } from '../../workflows/definitions';

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
