import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { getMigrationRun } from '../../db/migration-runs';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import type { MigrationEvidence } from '../../model/migration';
import { NOTIFY_MAX_ATTEMPTS, type NotificationRecord } from '../../model/notifications';
import { approveUpdate, decideSignal, type PromotionStatus } from '../../workflows/definitions';
import { renderEvidenceMarkdown } from '../../workflows/evidence-markdown';
import { runBackfill, waitFor } from '../support/backfill';
import { maintenanceEnabled, migrationFixture, MigrationFixture, startMigration, waitForMigration } from '../support/migration';
import { parseExposition, valueOf } from '../support/prometheus-text';
import { ReceivedRequest, startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver';

// Paths shaped like real webhook URLs, whose path is the credential: none of it may leave the worker.
const JSON_PATH = '/hooks/T0001/json-s3cr3t-token';
const SLACK_PATH = '/services/T0001/B0002/slack-s3cr3t-token';
const FAILING_PATH = '/hooks/T0001/failing-s3cr3t-token';
const PROMOTE_PATH = '/services/T0001/B0003/promote-s3cr3t-token';
const SECRETS = ['json-s3cr3t-token', 'slack-s3cr3t-token', 'failing-s3cr3t-token', 'promote-s3cr3t-token'];

/** Every payload of the workflow's history, decoded (they are base64 in its JSON). */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const payloads: string[] = [];
  JSON.parse(historyToJSON(await handle.fetchHistory()), (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') payloads.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  return payloads.join('\n');
}

/** The requests `pick` selects, once there is at least one. */
const arrived = (pick: () => ReceivedRequest[], what: string) => waitFor(async () => (pick().length ? pick() : null), 30_000, what);

describe('notifications: webhooks told of gates, maintenance, failures and completion', () => {
  let receiver: WebhookReceiver;
  let f: MigrationFixture;
  beforeAll(async () => {
    receiver = await startWebhookReceiver((path) => (path === FAILING_PATH ? 500 : 200));
    const approval = { required: true, approvers: ['alice', 'bob'], timeout: '1h' };
    f = await migrationFixture(
      {
        nprod: {
          approval,
          maintenance: { mode: 'db-flag' },
          backfill: { mode: 'force' },
          notifications: [
            { kind: 'json', urlEnv: 'PLANDB_T_NOTIFY_JSON_URL' },
            { kind: 'slack', urlEnv: 'PLANDB_T_NOTIFY_SLACK_URL', events: ['gate-opened', 'migration-completed'] },
            // Fails at maintenance-on, while the backfill goes on: the migration must not wait for it, nor fail.
            { kind: 'json', urlEnv: 'PLANDB_T_NOTIFY_FAILING_URL', events: ['maintenance-on'] },
          ],
        },
        // A promotion npfirst → npsecond: its promote gate is announced to npsecond's targets.
        npfirst: { maintenance: { mode: 'none' } },
        npsecond: {
          maintenance: { mode: 'none' },
          approval: { required: false, approvers: ['bob'], timeout: '1h' },
          notifications: [{ kind: 'slack', urlEnv: 'PLANDB_T_NOTIFY_PROMOTE_URL', events: ['gate-opened'] }],
        },
        nfail: {
          maintenance: { mode: 'db-flag' },
          notifications: [{ kind: 'json', urlEnv: 'PLANDB_T_NOTIFY_JSON_URL', events: ['step-failed', 'maintenance-off'] }],
        },
      },
      {
        PLANDB_T_NOTIFY_JSON_URL: receiver.url(JSON_PATH),
        PLANDB_T_NOTIFY_SLACK_URL: receiver.url(SLACK_PATH),
        PLANDB_T_NOTIFY_FAILING_URL: receiver.url(FAILING_PATH),
        PLANDB_T_NOTIFY_PROMOTE_URL: receiver.url(PROMOTE_PATH),
      },
    );
  });
  afterAll(async () => {
    await f?.close();
    await receiver?.close();
  });

  test('gate opened (with who approves and the exact commands), maintenance on/off and completion; a 500 receiver is recorded as failed and the migration completes', async () => {
    const evidence = await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'nprod' });
      const wf = handle.workflowId;
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      const [gateJson] = await arrived(() => receiver.at(JSON_PATH), 'the gate notification');
      expect(gateJson.contentType).toBe('application/json');
      expect(gateJson.body).toEqual(
        expect.objectContaining({
          event: 'gate-opened',
          environment: 'nprod',
          workflowId: wf,
          gate: 'start',
          approvers: ['alice', 'bob'],
          timeoutSeconds: 3600,
          approve: { cli: `plandb approve ${wf} --gate start --by alice`, update: 'approve', input: { gate: 'start', approver: 'alice' } },
          reject: expect.objectContaining({ cli: `plandb reject ${wf} --gate start --by alice --comment 'why'`, update: 'reject' }),
        }),
      );
      const gateText = gateJson.body.text as string;
      expect(gateText).toContain('Who may approve: alice, bob');
      expect(gateText).toContain(`Approve: plandb approve ${wf} --gate start --by alice`);
      expect(gateText).toContain(
        `Web UI: Send an Update named "approve" (or "reject") to ${wf} with input {"gate":"start","approver":"alice"}`,
      );
      // Slack's incoming webhooks take {"text": ...} and nothing else.
      const [gateSlack] = await arrived(() => receiver.at(SLACK_PATH), 'the Slack gate message');
      expect(Object.keys(gateSlack.body)).toEqual(['text']);
      expect(gateSlack.body.text).toBe(gateText);

      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'bob' }] });
      return (await handle.result()) as MigrationEvidence;
    });

    expect(evidence.status).toBe('completed');
    expect(await maintenanceEnabled(f.dbs.nprod)).toBe(false);
    expect(receiver.at(JSON_PATH).map((r) => r.body.event)).toEqual([
      'gate-opened',
      'maintenance-on',
      'maintenance-off',
      'migration-completed',
    ]);
    expect(receiver.at(SLACK_PATH).map((r) => Object.keys(r.body))).toEqual([['text'], ['text']]);
    const [on, off, done] = receiver
      .at(JSON_PATH)
      .slice(1)
      .map((r) => r.body);
    expect(on).toEqual(expect.objectContaining({ mode: 'db-flag', enabled: true, reason: `plandb migration ${evidence.workflowId}` }));
    expect(on.text).toMatch(/maintenance ON — the Plan creation API refuses new plans \(db-flag\)/);
    expect(off).toEqual(expect.objectContaining({ enabled: false, reason: `plandb migration ${evidence.workflowId} done` }));
    // The completion carries the evidence summary the Web UI shows.
    expect(done).toEqual(expect.objectContaining({ status: 'completed', finishedAt: evidence.finishedAt }));
    expect(done.summary).toMatch(/^## plandb migration — nprod: completed/);
    expect(done.text).toContain(`plandb evidence ${evidence.workflowId} --env nprod`);
    expect(done.text).toContain('✅ verify');
    expect(receiver.at(SLACK_PATH)[1].body.text).toBe(done.text);

    // The failing receiver got every attempt, and the evidence says so; the others were delivered at once.
    expect(receiver.at(FAILING_PATH)).toHaveLength(NOTIFY_MAX_ATTEMPTS);
    const byTarget = (n: NotificationRecord) => [n.event, n.target, n.kind, n.urlEnv, n.status, n.attempts, n.httpStatus];
    expect(evidence.notifications!.map(byTarget).sort()).toEqual(
      [
        ['gate-opened', 0, 'json', 'PLANDB_T_NOTIFY_JSON_URL', 'delivered', 1, 200],
        ['gate-opened', 1, 'slack', 'PLANDB_T_NOTIFY_SLACK_URL', 'delivered', 1, 200],
        ['maintenance-on', 0, 'json', 'PLANDB_T_NOTIFY_JSON_URL', 'delivered', 1, 200],
        ['maintenance-on', 2, 'json', 'PLANDB_T_NOTIFY_FAILING_URL', 'failed', NOTIFY_MAX_ATTEMPTS, 500],
        ['maintenance-off', 0, 'json', 'PLANDB_T_NOTIFY_JSON_URL', 'delivered', 1, 200],
        ['migration-completed', 0, 'json', 'PLANDB_T_NOTIFY_JSON_URL', 'delivered', 1, 200],
        ['migration-completed', 1, 'slack', 'PLANDB_T_NOTIFY_SLACK_URL', 'delivered', 1, 200],
      ].sort(),
    );
    const failed = evidence.notifications!.find((n) => n.status === 'failed')!;
    // The receiver's 100 kB page is cut to a short excerpt.
    expect(failed.error).toMatch(/^notification target 2 \(json, PLANDB_T_NOTIFY_FAILING_URL\) answered HTTP 500: upstream exploded/);
    expect(failed.error!.length).toBeLessThan(400);

    // The stored evidence (what `plandb evidence` renders) holds the same deliveries, before the stop row.
    const stored = (await getMigrationRun(f.dbs.nprod.pool, evidence.workflowId))!;
    expect(stored).toEqual(evidence);
    const kinds = await f.dbs.nprod.pool.query<{ kind: string }>(
      `SELECT kind FROM plan_migration_steps WHERE workflow_id = $1 ORDER BY seq`,
      [evidence.workflowId],
    );
    expect(kinds.rows.map((r) => r.kind).slice(-2)).toEqual(['notification', 'stop']);
    expect(renderEvidenceMarkdown(stored)).toContain('| maintenance-on | #2 json (PLANDB_T_NOTIFY_FAILING_URL) | failed | 5 | 500 |');

    const metrics = parseExposition(await f.harness.metrics.registry.metrics());
    const count = (event: string, outcome: string) =>
      valueOf(metrics, 'plan_notifications_total', { environment: 'nprod', event, outcome });
    expect([count('gate-opened', 'delivered'), count('maintenance-on', 'delivered'), count('maintenance-on', 'failed')]).toEqual([2, 1, 1]);
    expect(count('migration-completed', 'delivered')).toBe(2);

    // The URLs are secrets: not in the history, nor in the evidence rows.
    const history = await historyText(f.harness.client.workflow.getHandle(evidence.workflowId));
    const rows = JSON.stringify((await f.dbs.nprod.pool.query(`SELECT * FROM plan_migration_steps`)).rows);
    const runs = JSON.stringify((await f.dbs.nprod.pool.query(`SELECT * FROM plan_migration_runs`)).rows);
    expect(history).toContain('PLANDB_T_NOTIFY_JSON_URL');
    for (const secret of SECRETS) for (const text of [history, rows, runs]) expect(text).not.toContain(secret);

    // The notifying path replays deterministically (a worker picking the execution up mid-way).
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.PLANDB_TEST_WORKFLOW_BUNDLE! } },
      await f.harness.client.workflow.getHandle(evidence.workflowId).fetchHistory(),
    );
  });

  test('a promotion announces its promote gate to the target environment, with who approves and the command', async () => {
    const done = await f.harness.run(async () => {
      const handle = await f.harness.client.workflow.start('promotion', {
        workflowId: `plandb-promotion-notify-${Date.now()}`,
        taskQueue: f.harness.taskQueue,
        args: [{ environments: ['npfirst', 'npsecond'] }],
      });
      const [gate] = await arrived(() => receiver.at(PROMOTE_PATH), 'the promote gate notification');
      expect(Object.keys(gate.body)).toEqual(['text']);
      expect(gate.body.text).toContain(`plandb approve ${handle.workflowId} --gate promote-to-npsecond --by bob`);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'promote-to-npsecond', approver: 'bob' }] });
      return (await handle.result()) as PromotionStatus;
    });
    expect(done.status).toBe('completed');
    expect(receiver.at(PROMOTE_PATH)).toHaveLength(1);
    expect(done.notifications).toEqual([
      expect.objectContaining({
        event: 'gate-opened',
        kind: 'slack',
        urlEnv: 'PLANDB_T_NOTIFY_PROMOTE_URL',
        status: 'delivered',
        httpStatus: 200,
      }),
    ]);
  });

  test('a failed step notifies with the decide options and their commands; the abort lifts maintenance and says so', async () => {
    // A first backfill, then one repository value altered: the migration's normal backfill skips it and verify fails.
    await withClient(f.dbs.nfail.pool, (c) => upgrade(c));
    await runBackfill(f.harness, { environment: 'nfail' });
    await f.dbs.nfail.pool.query(
      `UPDATE plan_series SET value = value + 1 WHERE (plan_id, version, item, location, period, metric) =
         (SELECT plan_id, version, item, location, period, metric FROM plan_series ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 1)`,
    );
    const before = receiver.received.length;
    const fromNfail = () => receiver.received.slice(before).filter((r) => r.body.environment === 'nfail');
    const err = await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'nfail' });
      const wf = handle.workflowId;
      await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      const [failed] = await arrived(fromNfail, 'the step-failed notification');
      expect(failed.body).toEqual(
        expect.objectContaining({
          event: 'step-failed',
          workflowId: wf,
          step: 'verify',
          attempt: 1,
          error: expect.stringMatching(/^verification failed \(report \d+\): 1 checksum mismatches/),
        }),
      );
      expect(failed.body.decide).toEqual([
        expect.objectContaining({
          action: 'retry',
          cli: `plandb decide ${wf} retry --by your-name`,
          signal: 'decide',
          input: { action: 'retry', by: 'your-name' },
        }),
        expect.objectContaining({ action: 'rollback', cli: `plandb decide ${wf} rollback --by your-name` }),
        expect.objectContaining({ action: 'abort', cli: `plandb decide ${wf} abort --by your-name` }),
      ]);
      expect(failed.body.text).toContain(`- abort (stop here; maintenance off): plandb decide ${wf} abort --by your-name`);
      expect(failed.body.text).toContain(`Web UI: Send a Signal named "decide" to ${wf} with input {"action":"retry","by":"your-name"}`);
      await handle.signal(decideSignal, { action: 'abort', by: 'dana' });
      return handle.result().catch((e: unknown) => e);
    });
    expect(String((err as { cause?: Error }).cause?.message)).toMatch(/migration of nfail aborted/);
    expect(await maintenanceEnabled(f.dbs.nfail)).toBe(false);
    // The compensation's maintenance-off is announced too, and recorded before the stop.
    expect(fromNfail().map((r) => r.body.event)).toEqual(['step-failed', 'maintenance-off']);
    expect(fromNfail()[1].body.reason).toMatch(/stopped: aborted/);
    const stored = (await getMigrationRun(f.dbs.nfail.pool, fromNfail()[0].body.workflowId as string))!;
    expect(stored.status).toBe('aborted');
    expect(stored.notifications!.map((n) => [n.event, n.status, n.attempts])).toEqual([
      ['step-failed', 'delivered', 1],
      ['maintenance-off', 'delivered', 1],
    ]);
  });

  test('a cancelled migration still delivers and records its maintenance-off notification, and closes its run', async () => {
    // The repository still holds the altered row of the previous test: verify fails again.
    const before = receiver.received.length;
    const fromNfail = () => receiver.received.slice(before).filter((r) => r.body.environment === 'nfail');
    const workflowId = await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'nfail' });
      await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      await arrived(fromNfail, 'the step-failed notification');
      await handle.cancel();
      await handle.result().catch(() => undefined);
      return handle.workflowId;
    });
    expect(await maintenanceEnabled(f.dbs.nfail)).toBe(false);
    expect(fromNfail().map((r) => [r.body.event, r.body.reason])).toEqual([
      ['step-failed', undefined],
      ['maintenance-off', expect.stringMatching(/stopped: cancelled/)],
    ]);
    const stored = (await getMigrationRun(f.dbs.nfail.pool, workflowId))!;
    expect(stored).toEqual(expect.objectContaining({ status: 'cancelled', finishedAt: expect.any(String) }));
    expect(stored.notifications!.map((n) => [n.event, n.status])).toEqual([
      ['step-failed', 'delivered'],
      ['maintenance-off', 'delivered'],
    ]);
  });
});
