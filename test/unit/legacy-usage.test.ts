import {
  parseSince,
  reportSummary,
  statementDelta,
  statementKind,
  tableDelta,
  type LegacyUsageReport,
  type StatementReading,
  type TableCounters,
} from '../../model/legacy-usage';

const counters = (over: Partial<TableCounters> = {}): TableCounters => ({
  seqScan: 10,
  seqTupRead: 100,
  idxScan: 5,
  idxTupFetch: 5,
  nTupIns: 20,
  nTupUpd: 2,
  nTupDel: 1,
  ...over,
});

describe('parseSince', () => {
  test.each([
    ['cutover', { kind: 'cutover' }],
    ['42', { kind: 'snapshot', id: 42 }],
    [' 7 ', { kind: 'snapshot', id: 7 }],
    ['2026-12-01T09:00:00Z', { kind: 'time', at: '2026-12-01T09:00:00.000Z' }],
    ['2026-12-01T09:00:00.5+02:00', { kind: 'time', at: '2026-12-01T07:00:00.500Z' }],
    ['2026-12-01', { kind: 'time', at: '2026-12-01T00:00:00.000Z' }],
  ])('%s', (value, expected) => {
    expect(parseSince(value)).toEqual(expected);
  });

  test.each(['yesterday', '0', '-3', '2026-13-45T00:00:00Z', '', '12abc', 'Cutover'])('refuses %j', (value) => {
    expect(parseSince(value)).toEqual({ error: expect.stringMatching(/expected an ISO time .*, a reset id .* or "cutover", got/) });
  });
});

describe('tableDelta', () => {
  const ref = { relid: 1, statsReset: '2026-12-01T00:00:00.000Z', counters: counters() };

  test('the difference of two readings', () => {
    const now = { relid: 1, statsReset: ref.statsReset, counters: counters({ seqScan: 13, nTupIns: 25, nTupDel: 1 }) };
    expect(tableDelta(ref, now)).toEqual({
      counters: { seqScan: 3, seqTupRead: 0, idxScan: 0, idxTupFetch: 0, nTupIns: 5, nTupUpd: 0, nTupDel: 0 },
      restarted: null,
    });
  });

  test('no reference: the counters themselves', () => {
    const now = { relid: 1, statsReset: null, counters: counters() };
    expect(tableDelta(null, now)).toEqual({ counters: counters(), restarted: null });
  });

  test('pg_stat_reset moved stats_reset: counted since then', () => {
    const now = { relid: 1, statsReset: '2026-12-02T00:00:00.000Z', counters: counters({ nTupIns: 30 }) };
    const d = tableDelta(ref, now);
    expect(d.counters).toEqual(counters({ nTupIns: 30 }));
    expect(d.restarted).toMatch(/statistics were reset at 2026-12-02T00:00:00.000Z \(pg_stat_reset\)/);
  });

  test('a counter that went down is a restart too', () => {
    const now = { relid: 1, statsReset: ref.statsReset, counters: counters({ seqScan: 2 }) };
    expect(tableDelta(ref, now).restarted).toMatch(/counters went down/);
    expect(tableDelta(ref, now).counters.seqScan).toBe(2);
  });

  test('a recreated table (another oid)', () => {
    const now = { relid: 2, statsReset: ref.statsReset, counters: counters({ seqScan: 50 }) };
    expect(tableDelta(ref, now).restarted).toMatch(/recreated/);
  });
});

describe('statementKind', () => {
  test.each([
    ['INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ($1, $2, $3)', 'write'],
    ['update public.plan_artifacts set payload = $1 where id = $2', 'write'],
    ['DELETE FROM "plan_artifacts" WHERE id = $1', 'write'],
    ['WITH x AS (SELECT 1) INSERT INTO plan_artifacts SELECT * FROM y', 'write'],
    ['COPY plan_artifacts (plan_id, version, payload) FROM STDIN', 'write'],
    ['TRUNCATE plan_artifacts', 'write'],
    ['SELECT payload FROM plan_artifacts WHERE plan_id = $1', 'read'],
    ['COPY plan_artifacts TO STDOUT', 'read'],
    ['INSERT INTO plans SELECT plan_id FROM plan_artifacts', 'read'],
    ['CREATE TABLE IF NOT EXISTS plan_artifacts (id bigserial PRIMARY KEY)', 'other'],
    ['/* migration */ ALTER TABLE plan_artifacts ADD COLUMN x int', 'other'],
    ['GRANT SELECT ON plan_artifacts TO plan_app', 'other'],
    ['ANALYZE plan_artifacts', 'other'],
  ])('%s', (query, kind) => {
    expect(statementKind(query)).toBe(kind);
  });
});

describe('statementDelta', () => {
  const stmt = (key: string, calls: number, role = 'plan_app', query = `SELECT * FROM plan_artifacts /* ${key} */`): StatementReading => ({
    key,
    role,
    calls,
    rows: calls * 2,
    query,
  });
  const T0 = '2026-12-01T00:00:00.000Z';
  const T1 = '2026-12-01T01:00:00.000Z';
  const T2 = '2026-12-01T02:00:00.000Z';
  const NOW = '2026-12-01T03:00:00.000Z';
  const epoch = '2026-11-30T00:00:00.000Z';
  const reading = (takenAt: string, statements: Record<string, number>) => ({
    takenAt,
    statementsReset: epoch,
    statements: Object.fromEntries(Object.entries(statements).map(([k, calls]) => [k, { calls, rows: calls * 2 }])),
  });

  test('calls since the reference; the readings in between bracket the last call; plandb role labelled', () => {
    const reference = reading(T0, { a: 5, b: 1 });
    const d = statementDelta({
      reference,
      readings: [reference, reading(T1, { a: 7, b: 1 }), reading(T2, { a: 7, b: 3 })],
      current: [stmt('a', 7), stmt('b', 3, 'postgres'), stmt('c', 4), stmt('idle', 0)],
      now: NOW,
      statementsReset: epoch,
      plandbRole: 'postgres',
    });
    expect(d.restarted).toBeNull();
    expect(d.used.map((u) => [u.query.match(/\/\* (\w+)/)![1], u.calls, u.rows, u.plandb, u.lastSeen])).toEqual([
      ['c', 4, 8, false, { after: T2, notAfter: NOW }], // new since the last reading
      ['a', 2, 4, false, { after: T0, notAfter: T1 }], // not called again after T1
      ['b', 2, 4, true, { after: T1, notAfter: T2 }],
    ]);
  });

  test('unchanged statements are not listed', () => {
    const reference = reading(T0, { a: 5 });
    const d = statementDelta({
      reference,
      readings: [reference],
      current: [stmt('a', 5)],
      now: NOW,
      statementsReset: epoch,
      plandbRole: 'x',
    });
    expect(d.used).toEqual([]);
  });

  test('pg_stat_statements_reset since the reference: counted from the reset, flagged', () => {
    const reference = reading(T0, { a: 50 });
    const d = statementDelta({
      reference,
      readings: [reference],
      current: [stmt('a', 3)],
      now: NOW,
      statementsReset: T1,
      plandbRole: 'x',
    });
    expect(d.restarted).toMatch(/pg_stat_statements was reset at 2026-12-01T01:00:00.000Z/);
    expect(d.used[0]).toMatchObject({ calls: 3, lastSeen: { after: T1, notAfter: NOW } });
  });

  test('one entry reset (its calls went down): counted from zero, flagged', () => {
    const reference = reading(T0, { a: 50 });
    const d = statementDelta({
      reference,
      readings: [reference],
      current: [stmt('a', 3)],
      now: NOW,
      statementsReset: epoch,
      plandbRole: 'x',
    });
    expect(d.restarted).toMatch(/entries were reset/);
    expect(d.used[0]).toMatchObject({ calls: 3, lastSeen: { after: T0, notAfter: NOW } });
  });

  test('no reference and no reading: since counting began', () => {
    const d = statementDelta({ reference: null, readings: [], current: [stmt('a', 2)], now: NOW, statementsReset: null, plandbRole: 'x' });
    expect(d.used[0].lastSeen).toEqual({ after: null, notAfter: NOW });
  });

  test('statement text is escaped and capped', () => {
    const long = `SELECT '\u0007' FROM plan_artifacts WHERE ${'x = 1 AND '.repeat(60)}true`;
    const d = statementDelta({
      reference: null,
      readings: [],
      current: [stmt('a', 1, 'r', long)],
      now: NOW,
      statementsReset: null,
      plandbRole: 'x',
    });
    expect(d.used[0].query).toMatch(/^SELECT '\\u0007'/);
    expect(d.used[0].query).toMatch(/… \(\d+ characters\)$/);
  });
});

test('reportSummary: ids and counts', () => {
  const use = { role: 'app', plandb: false, rows: 1, lastSeen: { after: null, notAfter: 'now' }, query: 'q' };
  const report: LegacyUsageReport = {
    environment: 'production',
    measuredAt: '2026-12-01T00:00:00.000Z',
    snapshotId: 9,
    since: { id: 3, kind: 'cutover', at: '2026-11-30T00:00:00.000Z' },
    table: { present: true, counters: counters(), reads: 15, tuplesRead: 105, writes: 23, restarted: null },
    statements: {
      available: true,
      unavailableReason: null,
      plandbRole: 'postgres',
      hidden: 0,
      application: [
        { ...use, kind: 'write', calls: 4 },
        { ...use, kind: 'read', calls: 6 },
      ],
      plandb: [{ ...use, kind: 'read', calls: 2, plandb: true }],
      omitted: 0,
      restarted: null,
    },
  };
  expect(reportSummary(report)).toEqual({
    snapshotId: 9,
    since: report.since,
    measuredAt: report.measuredAt,
    reads: 15,
    writes: 23,
    restarted: null,
    statementsAvailable: true,
    applicationStatements: 2,
    applicationCalls: 10,
    applicationWrites: 1,
    plandbStatements: 1,
  });
});
