import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import { webhookVariablesWarning } from '../../config/notifications';
import { resolvePolicy } from '../../config/policy';
import type { MigrationEvidence } from '../../model/migration';
import { NOTIFICATION_EVENTS, retryableHttpStatus, targetsFor } from '../../model/notifications';
import { buildNotification, notificationBody } from '../../workflows/notification-messages';

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plandb-notify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (notifications: unknown) => {
  const path = join(dir, `config-${counter++}.json`);
  writeFileSync(
    path,
    JSON.stringify({ environments: { production: { databaseUrlEnv: 'PLANDB_PRODUCTION_DATABASE_URL', notifications } } }),
  );
  return loadConfig({ path, env: {} });
};
const issuesOf = (notifications: unknown): readonly string[] => {
  try {
    load(notifications);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
};

describe('config: environments.<env>.notifications', () => {
  it('defaults to no targets, and a policy without targets has no notifications field (histories stay as they were)', () => {
    const config = load(undefined);
    expect(config.environments.production.notifications).toEqual([]);
    expect(resolvePolicy('production', config.environments.production)).not.toHaveProperty('notifications');
  });

  it('a target without events gets every event; the policy names targets by index, kind and variable', () => {
    const config = load([
      { kind: 'slack', urlEnv: 'PLANDB_PRODUCTION_SLACK_WEBHOOK_URL' },
      { kind: 'json', urlEnv: 'PLANDB_PRODUCTION_WEBHOOK_URL', events: ['gate-opened', 'step-failed'] },
    ]);
    expect(resolvePolicy('production', config.environments.production).notifications).toEqual([
      { index: 0, kind: 'slack', urlEnv: 'PLANDB_PRODUCTION_SLACK_WEBHOOK_URL', events: [...NOTIFICATION_EVENTS] },
      { index: 1, kind: 'json', urlEnv: 'PLANDB_PRODUCTION_WEBHOOK_URL', events: ['gate-opened', 'step-failed'] },
    ]);
  });

  it('refuses a URL in urlEnv without echoing it, and a bad variable name', () => {
    expect(issuesOf([{ kind: 'json', urlEnv: 'https://hooks.example/T1/secret' }])).toEqual([
      'environments.production.notifications[0].urlEnv: must name an environment variable, not contain the URL',
    ]);
    expect(issuesOf([{ kind: 'json', urlEnv: 'webhook-url' }])).toEqual([
      'environments.production.notifications[0].urlEnv: must be an environment variable name such as PLANDB_PRODUCTION_WEBHOOK_URL (A-Z, 0-9, _)',
    ]);
    expect(issuesOf([{ kind: 'json' }])).toEqual(['environments.production.notifications[0].urlEnv: is required']);
  });

  it('refuses an unknown kind, an unknown or repeated event, an unknown key and a repeated target', () => {
    expect(issuesOf([{ kind: 'teams', urlEnv: 'A' }])).toEqual([
      'environments.production.notifications[0].kind: must be one of "json", "slack"',
    ]);
    expect(issuesOf([{ kind: 'json', urlEnv: 'A', events: ['gate-opened', 'backfill-done'] }])).toEqual([
      `environments.production.notifications[0].events[1]: must be one of ${NOTIFICATION_EVENTS.map((e) => JSON.stringify(e)).join(', ')}`,
    ]);
    expect(issuesOf([{ kind: 'json', urlEnv: 'A', events: ['step-failed', 'step-failed'] }])).toEqual([
      'environments.production.notifications[0].events[1]: is listed twice',
    ]);
    expect(issuesOf([{ kind: 'json', urlEnv: 'A', events: [] }])).toEqual([
      'environments.production.notifications[0].events: must not be empty',
    ]);
    expect(issuesOf([{ kind: 'json', urlEnv: 'A', url: 'https://x' }])).toEqual([
      'environments.production.notifications[0].url: unknown key (allowed: kind, urlEnv, events)',
    ]);
    expect(
      issuesOf([
        { kind: 'json', urlEnv: 'A' },
        { kind: 'slack', urlEnv: 'A' },
      ]),
    ).toEqual(['environments.production.notifications[1].urlEnv: names the same variable as an earlier target']);
    expect(issuesOf({ kind: 'json', urlEnv: 'A' })).toEqual(['environments.production.notifications: must be an array (got object)']);
  });
});

describe('notification messages', () => {
  const wf = 'plandb-production-migration';

  it('targetsFor keeps the targets that want the event; none configured means none', () => {
    const targets = [
      { index: 0, kind: 'json' as const, urlEnv: 'A', events: [...NOTIFICATION_EVENTS] },
      { index: 1, kind: 'slack' as const, urlEnv: 'B', events: ['gate-opened' as const] },
    ];
    expect(targetsFor(targets, 'gate-opened').map((t) => t.index)).toEqual([0, 1]);
    expect(targetsFor(targets, 'maintenance-on').map((t) => t.index)).toEqual([0]);
    expect(targetsFor(undefined, 'gate-opened')).toEqual([]);
  });

  it('retries only what a retry may fix', () => {
    expect([408, 429, 500, 503].map(retryableHttpStatus)).toEqual([true, true, true, true]);
    expect([400, 401, 403, 404, 410].map(retryableHttpStatus)).toEqual([false, false, false, false, false]);
  });

  it('a gate message names who may approve and the commands; approver names are shell-quoted', () => {
    const m = buildNotification('production', wf, {
      event: 'gate-opened',
      gate: 'spot-check',
      approvers: ['Jane Doe', 'sre'],
      timeoutMs: 86_400_000,
    });
    expect(m.details.approve).toEqual({
      cli: `plandb approve ${wf} --gate spot-check --by 'Jane Doe'`,
      update: 'approve',
      input: { gate: 'spot-check', approver: 'Jane Doe' },
    });
    expect(m.text.split('\n')).toEqual([
      `plandb production (${wf}): waiting for approval at gate "spot-check" (times out in 24 h).`,
      'Who may approve: Jane Doe, sre (--by is who decides).',
      `Approve: plandb approve ${wf} --gate spot-check --by 'Jane Doe'`,
      `Reject: plandb reject ${wf} --gate spot-check --by 'Jane Doe' --comment 'why'`,
      `Web UI: Send an Update named "approve" (or "reject") to ${wf} with input {"gate":"spot-check","approver":"Jane Doe"}`,
    ]);
  });

  it('a gate message carries the backfill ETA predicted at preflight', () => {
    const eta = {
      fromEnvironment: 'staging',
      fromRunId: 'r9',
      artifactsPerSecond: 250,
      artifacts: 90_000,
      etaSeconds: 360,
      measuredAt: '2026-12-01T09:00:00.000Z',
    };
    const m = buildNotification('production', wf, { event: 'gate-opened', gate: 'start', approvers: ['sre'], timeoutMs: 3_600_000, eta });
    expect(m.details.backfillEta).toEqual(eta);
    expect(m.text.split('\n').at(-1)).toBe(
      'Backfill: predicted ETA 6m 00s for 90000 artifacts at 250 artifacts/s (measured on staging, run r9)',
    );
    const none = buildNotification('production', wf, {
      event: 'gate-opened',
      gate: 'start',
      approvers: ['sre'],
      timeoutMs: 3_600_000,
      eta: null,
    });
    expect(none.details).not.toHaveProperty('backfillEta');
    expect(none.text).not.toMatch(/ETA/);
  });

  it('the Slack body is {"text"} only; the generic body has event, environment, workflowId, the details and the same text', () => {
    const m = buildNotification('production', wf, { event: 'maintenance-on', mode: 'db-flag', reason: `plandb migration ${wf}` });
    expect(notificationBody('slack', 'production', wf, m)).toEqual({ text: m.text });
    expect(notificationBody('json', 'production', wf, m)).toEqual({
      event: 'maintenance-on',
      environment: 'production',
      workflowId: wf,
      mode: 'db-flag',
      enabled: true,
      reason: `plandb migration ${wf}`,
      text: m.text,
    });
  });

  it('a step failure lists the decide options with commands and the signal input; a long error is cut', () => {
    const m = buildNotification('production', wf, { event: 'step-failed', step: 'verify', attempt: 2, error: 'x'.repeat(2000) });
    expect((m.details.decide as { action: string }[]).map((d) => d.action)).toEqual(['retry', 'rollback', 'abort']);
    expect(m.details.error).toMatch(/^x{500}… \(2000 characters\)$/);
    expect(m.text).toContain(`- retry (run the step again): plandb decide ${wf} retry --by your-name`);
    expect(m.text).toContain('Send a Signal named "decide"');
  });

  it('the completion carries the evidence summary', () => {
    const evidence = {
      workflowId: wf,
      environment: 'production',
      status: 'completed',
      steps: [{ name: 'verify', status: 'completed', attempt: 1, startedAt: 'a', finishedAt: 'b', output: null, error: null }],
      approvals: [],
      refusedSignals: 0,
      openGate: null,
      stopReason: 'completed',
      startedAt: '2026-12-02T06:00:00.000Z',
      finishedAt: '2026-12-02T07:00:00.000Z',
    } as unknown as MigrationEvidence;
    const m = buildNotification('production', wf, { event: 'migration-completed', evidence });
    expect(m.details).toEqual(
      expect.objectContaining({ status: 'completed', steps: [{ name: 'verify', status: 'completed', attempt: 1 }] }),
    );
    expect(m.text).toMatch(
      /migration completed\. Full evidence: plandb evidence plandb-production-migration --env production\n\n## plandb migration — production: completed/,
    );
    expect(m.text).toContain('- ✅ verify');
  });
});

describe('worker start-up: webhook variables', () => {
  const environments = {
    staging: { notifications: [] },
    production: {
      notifications: [
        { kind: 'json' as const, urlEnv: 'HOOK_A', events: [...NOTIFICATION_EVENTS] },
        { kind: 'slack' as const, urlEnv: 'HOOK_B', events: [...NOTIFICATION_EVENTS] },
      ],
    },
  };

  it('names unset variables and values that are not http(s) URLs, never the values', () => {
    const warning = webhookVariablesWarning(environments, { HOOK_B: 'ftp://secret-token@host/x' });
    expect(warning).toBe(
      'notifications will fail: production target 0 (json): HOOK_A is not set; production target 1 (slack): HOOK_B does not hold an http(s) URL',
    );
    expect(warning).not.toContain('secret-token');
  });

  it('says nothing when every variable holds a URL, or no target is configured', () => {
    expect(webhookVariablesWarning(environments, { HOOK_A: 'https://hooks.example/a', HOOK_B: 'http://127.0.0.1:9/b' })).toBeNull();
    expect(webhookVariablesWarning({ staging: { notifications: [] } }, {})).toBeNull();
  });
});
