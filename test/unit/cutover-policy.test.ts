/** The online cut-over's policy (config/policy.ts), its delta plan (transform/backfill-plan.ts) and its window (model/migration.ts). */
import { ConfigError } from '../../config/errors';
import { resolvePolicy } from '../../config/policy';
import { closeWindow, defaultCutover, type CutoverMode } from '../../model/migration';
import { planBatch } from '../../transform/backfill-plan';
import { checkBackfillInput } from '../../workflows/definitions';
import type { LegacyArtifact, TransformResult } from '../../transform/types';
import { overridesFrom } from '../../cli/commands/migrate';
import { runCli } from '../support/cli';
import { testConfig } from '../support/config';

const config = testConfig({
  production: { databaseUrlEnv: 'P', maintenance: { mode: 'db-flag' }, approval: { required: true, approvers: ['sre'] } },
  staging: { databaseUrlEnv: 'S', maintenance: { mode: 'db-flag' } },
  quiet: { databaseUrlEnv: 'Q', maintenance: { mode: 'none' }, cutover: 'online' },
});
const policyOf = (environment: string, overrides = {}) => resolvePolicy(environment, config.environments[environment], overrides);

describe('cutover policy', () => {
  test('production cuts over online by default, every other environment offline', () => {
    expect(defaultCutover('production')).toBe('online');
    expect(defaultCutover('staging')).toBe('offline');
    expect(policyOf('production').cutover).toBe('online');
    expect(policyOf('staging').cutover).toBe('offline');
  });

  test('the start input overrides it', () => {
    expect(policyOf('production', { cutover: 'offline' }).cutover).toBe('offline');
    expect(policyOf('staging', { cutover: 'online' }).cutover).toBe('online');
  });

  test('without maintenance there is no window to shorten: offline, whatever is asked', () => {
    expect(policyOf('quiet').cutover).toBe('offline');
    expect(policyOf('quiet', { cutover: 'online' }).cutover).toBe('offline');
  });

  test('a bad override names the field and the choices', () => {
    expect(() => policyOf('production', { cutover: 'fast' as CutoverMode })).toThrow(ConfigError);
    expect(() => policyOf('production', { cutover: 'fast' as CutoverMode })).toThrow(
      /^cutover: must be "online" or "offline", got "fast"$/,
    );
  });
});

describe('the maintenance window', () => {
  test('closes with its length in seconds', () => {
    expect(closeWindow({ on: '2026-12-02T08:00:00.000Z', off: null, seconds: null }, '2026-12-02T08:01:30.500Z')).toEqual({
      on: '2026-12-02T08:00:00.000Z',
      off: '2026-12-02T08:01:30.500Z',
      seconds: 90.5,
    });
  });
});

describe('planBatch in delta mode', () => {
  const key = (planId: string, version: number) => `${planId}/${version}`;
  const artifact = (id: number, planId: string, version: number): LegacyArtifact => ({
    id,
    planId,
    version,
    payload: null,
    createdAt: new Date(0),
  });
  const ok = (a: LegacyArtifact, checksum: string): TransformResult => ({
    ok: true,
    checksum,
    version: { planId: a.planId, version: a.version, name: null, status: null, runId: null, summary: {}, series: [], kpis: [], events: [] },
  });
  const changed = artifact(1, 'p', 1);
  const unchanged = artifact(2, 'p', 2);
  const appended = artifact(9, 'p', 3);
  const duplicate = artifact(10, 'p', 1);
  const artifacts = [changed, unchanged, appended];
  const results = [ok(changed, 'new'), ok(unchanged, 'same'), ok(appended, 'fresh')];
  const existing = new Map([
    [key('p', 1), 'old'],
    [key('p', 2), 'same'],
  ]);
  const sources = new Map([
    [key('p', 1), 1],
    [key('p', 2), 2],
  ]);

  test('rewrites a version whose own artifact changed, writes what is new, skips what is equal', () => {
    const plan = planBatch(artifacts, results, existing, 'delta', key, sources);
    expect(plan.writes.map((w) => [w.artifact.id, w.replaces])).toEqual([
      [1, true],
      [9, false],
    ]);
    expect(plan.skipped).toBe(1);
    expect(plan.conflicts).toEqual([]);
  });

  test('another artifact claiming a stored key stays a conflict', () => {
    const plan = planBatch([duplicate], [ok(duplicate, 'other')], existing, 'delta', key, sources);
    expect(plan.writes).toEqual([]);
    expect(plan.conflicts.map((c) => c.artifact.id)).toEqual([10]);
  });

  test('normal mode never rewrites: the changed version is a conflict', () => {
    const plan = planBatch(artifacts, results, existing, 'normal', key, sources);
    expect(plan.writes.map((w) => w.artifact.id)).toEqual([9]);
    expect(plan.conflicts.map((c) => c.artifact.id)).toEqual([1]);
  });
});

describe('plandb migrate --cutover', () => {
  test('a mode other than online or offline prints usage and exits 2', async () => {
    const run = await runCli(['migrate', '--env', 'production', '--cutover', 'fast']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/expected online or offline, got "fast"/);
    expect(run.stderr).toMatch(/Usage: plandb migrate/);
  });

  test('the flag becomes the start input override', () => {
    expect(overridesFrom({ cutover: 'offline' })).toEqual({ cutover: 'offline' });
    expect(overridesFrom({})).toEqual({});
  });
});

describe('backfill input: delta', () => {
  test('is a flag of its own, not combined with a dry run, force, a resume point or a limit', () => {
    expect(checkBackfillInput({ environment: 'production', delta: true })).toEqual([]);
    expect(checkBackfillInput({ environment: 'production', delta: 'yes' })).toEqual(['"delta" must be true or false']);
    for (const extra of [{ dryRun: true }, { force: true }, { resumeFrom: 'artifact:5' }, { limit: 10 }]) {
      expect(checkBackfillInput({ environment: 'production', delta: true, ...extra })).toEqual([
        '"delta" covers the whole range: it cannot be combined with "dryRun", "force", "resumeFrom" or "limit"',
      ]);
    }
  });
});
