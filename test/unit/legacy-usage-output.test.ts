import { renderLegacyUsage } from '../../cli/commands/legacy-usage';
import type { LegacyUsageReport } from '../../model/legacy-usage';

const report = (over: Partial<LegacyUsageReport> = {}): LegacyUsageReport => ({
  environment: 'production',
  measuredAt: '2026-12-02T10:00:00.000Z',
  snapshotId: 12,
  since: { id: 7, kind: 'cutover', at: '2026-12-01T22:00:00.000Z' },
  table: {
    present: true,
    counters: { seqScan: 2, seqTupRead: 40, idxScan: 3, idxTupFetch: 3, nTupIns: 4, nTupUpd: 1, nTupDel: 0 },
    reads: 5,
    tuplesRead: 43,
    writes: 5,
    restarted: null,
  },
  statements: {
    available: true,
    unavailableReason: null,
    plandbRole: 'plandb',
    hidden: 2,
    application: [
      {
        kind: 'write',
        role: 'plan_app',
        plandb: false,
        calls: 4,
        rows: 4,
        lastSeen: { after: '2026-12-02T09:00:00.000Z', notAfter: '2026-12-02T10:00:00.000Z' },
        query: 'INSERT INTO plan_artifacts (plan_id, version, payload)\n  VALUES ($1, $2, $3)',
      },
    ],
    plandb: [
      {
        kind: 'read',
        role: 'plandb',
        plandb: true,
        calls: 1,
        rows: 9,
        lastSeen: { after: null, notAfter: '2026-12-02T10:00:00.000Z' },
        query: 'SELECT id FROM plan_artifacts',
      },
    ],
    omitted: 0,
    restarted: null,
  },
  ...over,
});

test('the report as text: the reference, table counters, statements by the application and by plandb, hidden entries', () => {
  expect(renderLegacyUsage(report())).toBe(
    [
      'production: plan_artifacts usage since cut-over 7 (2026-12-01T22:00:00.000Z); measured 2026-12-02T10:00:00.000Z (report 12)',
      '  table (pg_stat_user_tables): 5 reads (2 sequential scans, 3 index scans; 43 rows read), 5 writes (4 inserted, 1 updated, 0 deleted)',
      "  (reads include plandb's own backfill and verify; plandb never writes plan_artifacts)",
      "  statements by the application (pg_stat_statements, roles other than plandb's plandb):",
      '    write calls 4, rows 4, role plan_app, last seen after 2026-12-02T09:00:00.000Z and by 2026-12-02T10:00:00.000Z',
      '          INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ($1, $2, $3)',
      "  statements by plandb's role plandb (plandb's own reads, or anything else using that role):",
      '    read  calls 1, rows 9, role plandb, last seen after counting began and by 2026-12-02T10:00:00.000Z',
      '          SELECT id FROM plan_artifacts',
      '  2 statements of this database are hidden from role plandb: grant it pg_read_all_stats to see them',
    ].join('\n'),
  );
});

test('no reset point, counters restarted, no pg_stat_statements', () => {
  const text = renderLegacyUsage(
    report({
      since: { id: null, kind: 'statistics', at: null },
      table: { ...report().table, restarted: 'the statistics were reset at 2026-12-02T01:00:00.000Z (pg_stat_reset)' },
      statements: {
        ...report().statements,
        available: false,
        unavailableReason: 'the extension pg_stat_statements is not created in this database',
      },
    }),
  );
  expect(text).toMatch(/usage since the statistics began \(server start; no reset point yet: --reset records one\)/);
  expect(text).toMatch(/! the counters started over: the statistics were reset at .*; the numbers are since then \(at least this much\)/);
  expect(text).toMatch(/statements: not available: the extension pg_stat_statements is not created in this database$/);
});
