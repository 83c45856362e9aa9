import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { InvalidArgumentError } from 'commander';
import { backfillState, writeStateFile } from '../../cli/backfill-state';
import { backfillInput } from '../../cli/commands/backfill';
import { batchSize, resumeFrom, retryErrors, shardCount } from '../../cli/options';
import { barPayload, formatEta, jsonLinesDisplay, progressKey } from '../../cli/progress-display';
import { renderBackfillProgress, renderStatus, workflowSummary } from '../../cli/render-status';
import { renderBackfillDetails } from '../../workflows/backfill-progress';
import type { BackfillProgress } from '../../workflows/definitions';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from '../../workflows/search-attributes';

const progress: BackfillProgress = {
  runId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  environment: 'staging',
  mode: 'normal',
  status: 'running',
  paused: false,
  batchSize: 500,
  cursor: 1200,
  upToId: 4000,
  artifactsTotal: 4000,
  artifactsRead: 1200,
  versionsWritten: 1100,
  versionsSkipped: 80,
  versionsRejected: 15,
  versionsConflicted: 5,
  plansWritten: 300,
  seriesWritten: 88000,
  kpisWritten: 3300,
  eventsWritten: 2200,
  errorsCount: 20,
  artifactsPerSecond: 120.5,
  rowsPerSecond: 9460,
  etaSeconds: 232,
  chunks: 3,
  continuedAsNew: 0,
  startedAt: '2026-03-01T10:00:00.000Z',
  updatedAt: '2026-03-01T10:00:10.000Z',
};

describe('backfill state file', () => {
  const now = new Date('2026-03-01T10:00:11.000Z');

  test('carries the run id, status, cursor and every counter of the progress', () => {
    expect(backfillState({ workflowId: 'plandb-staging-backfill', environment: 'staging', mode: 'normal', progress, now })).toEqual({
      workflowId: 'plandb-staging-backfill',
      runId: progress.runId,
      environment: 'staging',
      mode: 'normal',
      status: 'running',
      cursor: 1200,
      upToId: 4000,
      counts: {
        artifactsRead: 1200,
        versionsWritten: 1100,
        versionsSkipped: 80,
        versionsRejected: 15,
        versionsConflicted: 5,
        plansWritten: 300,
        seriesWritten: 88000,
        kpisWritten: 3300,
        eventsWritten: 2200,
        errorsCount: 20,
      },
      errors: [],
      updatedAt: '2026-03-01T10:00:11.000Z',
    });
  });

  test('a failure sets the status to how the workflow closed and records why, even with no progress', () => {
    const failure = { status: 'terminated', message: 'plandb-dev-backfill failed: Workflow execution terminated' };
    const state = backfillState({ workflowId: 'plandb-dev-backfill', environment: 'dev', mode: 'force', progress: null, failure, now });
    expect(state).toMatchObject({ runId: null, status: 'terminated', mode: 'force', cursor: 0, upToId: 0, errors: [failure.message] });
    expect(Object.values(state.counts)).toEqual(Array(10).fill(0));
  });

  test('while Temporal is out of reach the status is unknown, with the last cursor and counts seen', () => {
    const seen = backfillState({ workflowId: 'w', environment: 'dev', mode: 'normal', progress, now });
    const lost = backfillState({ workflowId: 'w', environment: 'dev', mode: 'normal', progress, connected: false, now });
    expect(lost).toEqual({ ...seen, status: 'unknown' });
    expect(backfillState({ workflowId: 'w', environment: 'dev', mode: 'normal', progress, connected: true, now })).toEqual(seen);
  });

  test('is written atomically into a directory created on demand', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-state-'));
    try {
      const file = path.join(dir, 'a', 'b', 'state.json');
      const state = backfillState({ workflowId: 'w', environment: 'dev', mode: 'normal', progress, now });
      await writeStateFile(file, state);
      await writeStateFile(file, { ...state, status: 'completed' });
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ ...state, status: 'completed' });
      expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('live progress', () => {
  test('rate and ETA alone are not a change; anything else is', () => {
    expect(progressKey({ ...progress, rowsPerSecond: 1, artifactsPerSecond: 2, etaSeconds: 3 })).toBe(progressKey(progress));
    expect(progressKey({ ...progress, cursor: 1201 })).not.toBe(progressKey(progress));
    expect(progressKey({ ...progress, paused: true })).not.toBe(progressKey(progress));
  });

  test('JSON lines: one line per change', () => {
    const lines: string[] = [];
    const display = jsonLinesDisplay((line) => lines.push(line));
    display.update(progress);
    display.update({ ...progress, etaSeconds: 200 });
    display.update({ ...progress, status: 'completed' });
    display.stop();
    expect(lines.map((l) => JSON.parse(l).status)).toEqual(['running', 'completed']);
    expect(JSON.parse(lines[0])).toEqual(progress);
  });

  test.each([
    [null, '-'],
    [0, '0s'],
    [59, '59s'],
    [232, '3m52s'],
    [3600, '1h00m'],
    [7325, '2h02m'],
  ])('ETA %p is %p', (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });

  test('the bar shows a requested pause as pausing until the run row says paused', () => {
    expect(barPayload(progress)).toEqual({ rowsPerSecond: 9460, etaText: '3m52s', status: 'running' });
    expect(barPayload({ ...progress, paused: true }).status).toBe('pausing');
    expect(barPayload({ ...progress, paused: true, status: 'paused' }).status).toBe('paused');
  });

  test('a backfill held by the health throttle shows why, in the bar and in plandb status', () => {
    const held = { ...progress, throttled: { reason: 'query' as const, detail: 'throttle query returned 1', seconds: 12 } };
    expect(barPayload(held).status).toBe('throttled (query)');
    expect(renderBackfillProgress(held).split('\n').at(-1)).toBe('  throttled (query) for 12s: throttle query returned 1');
    expect(renderBackfillProgress({ ...progress, throttled: null })).toBe(renderBackfillProgress(progress));
  });

  test('a run of several shards shows a line per shard; one shard shows none', () => {
    const shard = (n: number, done: boolean) => ({
      shard: n,
      afterId: n * 100,
      upToId: (n + 1) * 100,
      cursor: done ? (n + 1) * 100 : n * 100 + 40,
      artifactsTotal: 100,
      artifactsRead: done ? 100 : 40,
      rowsWritten: done ? 3000 : 1200,
      done,
      throttled: null,
    });
    const lines = renderBackfillProgress({ ...progress, shards: [shard(0, true), shard(1, false)] }).split('\n');
    expect(lines.slice(-2)).toEqual([
      '  shard 0: done, 100/100 artifacts, cursor 100 in (0, 100], 3000 rows',
      '  shard 1: working, 40/100 artifacts, cursor 140 in (100, 200], 1200 rows',
    ]);
    expect(renderBackfillProgress({ ...progress, shards: [shard(0, false)] })).toBe(renderBackfillProgress(progress));
  });
});

describe('status rendering', () => {
  const description = {
    workflowId: 'plandb-staging-backfill',
    runId: 'a1b2',
    type: 'backfillRepository',
    status: { code: 1, name: 'RUNNING' },
    taskQueue: 'plan-db-migration',
    startTime: new Date('2026-03-01T10:00:00.000Z'),
    closeTime: undefined,
    historyLength: 42,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: PLAN_DB_ENVIRONMENT, value: 'staging' },
      { key: PLAN_DB_STEP, value: 'backfill' },
    ]),
  } as unknown as WorkflowExecutionDescription;

  test('workflowSummary keeps the basics as plain JSON', () => {
    expect(workflowSummary(description)).toEqual({
      workflowId: 'plandb-staging-backfill',
      runId: 'a1b2',
      type: 'backfillRepository',
      status: 'RUNNING',
      taskQueue: 'plan-db-migration',
      startTime: '2026-03-01T10:00:00.000Z',
      closeTime: null,
      historyLength: 42,
      searchAttributes: { PlanDbEnvironment: 'staging', PlanDbStep: 'backfill' },
    });
  });

  test('a backfill shows its progress under the basics', () => {
    expect(renderStatus(workflowSummary(description), progress)).toBe(
      [
        'plandb-staging-backfill (backfillRepository): RUNNING',
        '  run a1b2, task queue plan-db-migration, 42 history events',
        '  started 2026-03-01T10:00:00.000Z',
        '  search attributes: PlanDbEnvironment=staging PlanDbStep=backfill',
        '  backfill run 0f8fad5b-d9cb-469f-a165-70867728950e on staging (normal): running, 30% (1200/4000 artifacts, cursor 1200 of 4000)',
        '    versions written 1100, skipped 80, rejected 15, conflicts 5; plans 300',
        '    rows written: series 88000, KPIs 3300, events 2200; errors 20',
        '    120.5 artifacts/s, 9460 rows/s, ETA 3m52s, batch size 500, 3 chunks',
      ].join('\n'),
    );
  });

  test('a dry run says what there is to write; a requested pause shows as pausing', () => {
    const text = renderBackfillProgress({ ...progress, mode: 'dry-run', paused: true });
    expect(text).toMatch(/\(dry-run\): pausing \(after the batch in flight\)/);
    expect(text).toMatch(/versions to write 1100/);
    expect(text).toMatch(/rows to write: series 88000/);
  });

  test('other workflow types show the basics only; a backfill that cannot answer says so', () => {
    const closed = workflowSummary({
      ...description,
      type: 'preflight',
      status: { code: 2, name: 'COMPLETED' },
      closeTime: new Date('2026-03-01T10:01:00.000Z'),
    } as WorkflowExecutionDescription);
    const text = renderStatus(closed);
    expect(text).toMatch(/^plandb-staging-backfill \(preflight\): COMPLETED$/m);
    expect(text).toMatch(/started 2026-03-01T10:00:00.000Z, closed 2026-03-01T10:01:00.000Z/);
    expect(text).not.toMatch(/progress|backfill run/);
    expect(renderStatus(workflowSummary(description), null)).toMatch(/progress: not available/);
  });
});

describe('backfill arguments', () => {
  const defaults = { batchSize: 1000, maxErrors: 250 };

  test('the config gives batch size and max errors; unset flags are left out', () => {
    expect(backfillInput({ env: 'dev', wait: true }, defaults)).toEqual({ environment: 'dev', batchSize: 1000, maxErrors: 250 });
  });

  test('flags win over the config', () => {
    expect(
      backfillInput(
        {
          env: 'production',
          wait: true,
          force: true,
          limit: 5,
          batchSize: 50,
          maxErrors: 0,
          resumeFrom: 'artifact:42',
          stateFile: 's.json',
        },
        defaults,
      ),
    ).toEqual({ environment: 'production', force: true, limit: 5, batchSize: 50, resumeFrom: 'artifact:42', maxErrors: 0 });
    expect(backfillInput({ env: 'dev', wait: false, dryRun: true }, defaults)).toMatchObject({ dryRun: true });
  });

  test('--shards takes 1..32 and goes into the input only when given', () => {
    expect(shardCount('1')).toBe(1);
    expect(shardCount('32')).toBe(32);
    for (const bad of ['0', '33', '1.5', 'two']) expect(() => shardCount(bad)).toThrow(InvalidArgumentError);
    expect(backfillInput({ env: 'dev', wait: true, shards: 4 }, defaults)).toMatchObject({ shards: 4 });
    expect(backfillInput({ env: 'dev', wait: true }, defaults)).not.toHaveProperty('shards');
  });

  test('--batch-size takes 1..50000', () => {
    expect(batchSize('1')).toBe(1);
    expect(batchSize('50000')).toBe(50000);
    for (const bad of ['0', '50001', '-3', '2.5', 'ten']) expect(() => batchSize(bad)).toThrow(InvalidArgumentError);
  });

  test('--resume-from takes a run id or artifact:<digits>', () => {
    for (const ok of ['artifact:0', 'artifact:123456', '0f8fad5b-d9cb-469f-a165-70867728950e']) expect(resumeFrom(ok)).toBe(ok);
    for (const bad of ['bad id!', 'artifact:', 'artifact:12a', 'artifact:-1', 'run-1', ''])
      expect(() => resumeFrom(bad)).toThrow(InvalidArgumentError);
  });
});

describe('a retry-errors run', () => {
  const OLD = '6d2c7f3e-1b2a-4c5d-8e9f-0a1b2c3d4e5f';
  const retry: BackfillProgress = { ...progress, retryOf: OLD };

  test('names the run it retries in the status text, the UI details and the state file', () => {
    expect(renderBackfillProgress(retry).split('\n')[0]).toBe(
      `backfill run ${progress.runId} on staging (normal, retry of the errors of run ${OLD}): running, 30% (1200/4000 artifacts, cursor 1200 of 4000)`,
    );
    expect(renderBackfillDetails(retry)).toMatch(
      `## plandb backfill — staging (normal, retry of errors)\n\nre-reads the unresolved errors of run \`${OLD}\``,
    );
    const now = new Date('2026-03-01T10:00:11.000Z');
    expect(
      backfillState({ workflowId: 'plandb-staging-backfill', environment: 'staging', mode: 'normal', progress: retry, now }).retryOf,
    ).toBe(OLD);
    // Other runs say nothing about it.
    expect(renderBackfillProgress(progress)).not.toMatch(/retry/);
    expect(
      backfillState({ workflowId: 'plandb-staging-backfill', environment: 'staging', mode: 'normal', progress, now }),
    ).not.toHaveProperty('retryOf');
  });

  test('--retry-errors becomes the input field; a bad id is refused naming what is expected', () => {
    const input = backfillInput({ env: 'staging', retryErrors: OLD, wait: true }, { batchSize: 500, maxErrors: 1000 });
    expect(input).toEqual({ environment: 'staging', retryErrors: OLD, batchSize: 500, maxErrors: 1000 });
    expect(() => retryErrors('latest')).toThrow(InvalidArgumentError);
    expect(() => retryErrors('artifact:5')).toThrow(/expected the id of a previous backfill run/);
  });
});
