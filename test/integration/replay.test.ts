/**
 * Replays recorded histories (test/histories, made by `npm run record:histories`) against the current
 * workflow code: a change that would break executions already running fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const DIR = path.join(__dirname, '..', 'histories');
const histories = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('replay of recorded histories', () => {
  test('the recorded set covers every workflow that has histories', () => {
    expect(histories).toEqual(
      expect.arrayContaining([
        'preflight.json',
        'backfill-repository-first-run.json',
        'backfill-repository-last-run.json',
        'environment-migration.json',
        'environment-migration-decide-retry.json',
        'capacity-trim.json',
        'rollback.json',
        'promotion.json',
        'environment-migration-notifications.json',
        'environment-migration-online.json',
        'backfill-repository-delta.json',
        // Online cut-overs started before the pre-delta.
        'environment-migration-online.2026-12-02.json',
        'backfill-repository-delta.2026-12-02.json',
        // The previous release's recordings: executions it started must still replay.
        'preflight.2026-11.json',
        'backfill-repository-first-run.2026-11.json',
        'backfill-repository-last-run.2026-11.json',
      ]),
    );
  });

  test.each(histories)('%s replays without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
    const bundle = process.env.PLANDB_TEST_WORKFLOW_BUNDLE;
    if (!bundle) throw new Error('PLANDB_TEST_WORKFLOW_BUNDLE is not set: run through jest (global setup)');
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundle } }, [{ workflowId: file, history }])) {
      results.push(result);
    }
    expect(results).toHaveLength(1);
    expect(results[0].error).toBeUndefined();
  });
});
