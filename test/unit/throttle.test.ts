import { holdAfterCheck, throttleDecision, throttleEnabled, throttleWaitMs, type ThrottleSettings } from '../../model/throttle';

const OFF: ThrottleSettings = {
  maxLockWaits: null,
  maxTransactionSeconds: null,
  autovacuum: false,
  maxReplicationLagSeconds: null,
  maxReplicationLagBytes: null,
  query: null,
  initialWaitMs: 1_000,
  maxWaitMs: 30_000,
};
const ALL_ON: ThrottleSettings = {
  ...OFF,
  maxLockWaits: 2,
  maxTransactionSeconds: 60,
  autovacuum: true,
  maxReplicationLagSeconds: 10,
  maxReplicationLagBytes: 1_000_000,
  query: 'SELECT value FROM throttle_flag',
};
const HEALTHY = {
  lockWaits: 2,
  oldestTransactionSeconds: 60,
  autovacuums: 0,
  replicationLagSeconds: 10,
  replicationLagBytes: 1_000_000,
  queryValue: 0,
};

describe('throttleDecision', () => {
  test('probes at their threshold (or without a value) say go on', () => {
    expect(throttleDecision(ALL_ON, HEALTHY)).toBeNull();
    expect(throttleDecision(ALL_ON, {})).toBeNull();
    // No replica or no open transaction: nothing to measure.
    expect(
      throttleDecision(ALL_ON, {
        ...HEALTHY,
        oldestTransactionSeconds: null,
        replicationLagSeconds: null,
        replicationLagBytes: null,
        queryValue: null,
      }),
    ).toBeNull();
  });

  test.each([
    [{ lockWaits: 3 }, 'lock_waits', "3 lock waits on the backfill's tables (max 2)"],
    [{ oldestTransactionSeconds: 61.4 }, 'long_transaction', 'a transaction open for 61 s (max 60 s)'],
    [{ autovacuums: 1 }, 'autovacuum', "autovacuum running on 1 of the backfill's tables"],
    [{ replicationLagSeconds: 12.6 }, 'replication_lag', 'replication lag 13 s (max 10 s)'],
    [{ replicationLagBytes: 1_000_001 }, 'replication_lag', 'replication lag 1000001 bytes (max 1000000)'],
    [{ queryValue: 0.5 }, 'query', 'throttle query returned 0.5'],
  ])('%p over its threshold says wait: %s', (reading, reason, detail) => {
    expect(throttleDecision(ALL_ON, { ...HEALTHY, ...reading })).toEqual({ reason, detail });
  });

  test('a probe that is off never says wait, whatever it reads', () => {
    expect(
      throttleDecision(OFF, {
        lockWaits: 99,
        oldestTransactionSeconds: 1e6,
        autovacuums: 3,
        replicationLagSeconds: 1e6,
        replicationLagBytes: 1e12,
        queryValue: 1,
      }),
    ).toBeNull();
  });

  test('the first probe over its threshold names the reason', () => {
    expect(throttleDecision(ALL_ON, { ...HEALTHY, autovacuums: 1, queryValue: 1 })?.reason).toBe('autovacuum');
  });

  test('throttleEnabled: any probe on', () => {
    expect(throttleEnabled(OFF)).toBe(false);
    expect(throttleEnabled({ ...OFF, autovacuum: true })).toBe(true);
    expect(throttleEnabled({ ...OFF, maxReplicationLagBytes: 0 })).toBe(true);
    expect(throttleEnabled({ ...OFF, query: 'SELECT 0' })).toBe(true);
  });
});

describe('backoff', () => {
  test('waits 1 s, doubling, capped at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 100].map((n) => throttleWaitMs(OFF, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  test('holdAfterCheck counts throttled checks, keeps the held time and schedules the next check one step later', () => {
    const first = holdAfterCheck(OFF, null, { reason: 'query', detail: 'd1' }, 10_000);
    expect(first).toEqual({ reason: 'query', detail: 'd1', seconds: 0, checks: 1, nextCheckAtMs: 11_000 });
    const second = holdAfterCheck(OFF, { ...first, seconds: 1 }, { reason: 'replication_lag', detail: 'd2' }, 11_000);
    expect(second).toEqual({ reason: 'replication_lag', detail: 'd2', seconds: 1, checks: 2, nextCheckAtMs: 13_000 });
  });
});
