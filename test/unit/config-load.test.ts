import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import type { TunerConfig } from '../../model/batch-tuner';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plandb-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(content: unknown): string {
  const path = join(dir, `config-${counter++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

function loadError(content: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  const path = writeConfig(content);
  try {
    loadConfig({ path, env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to fail');
}

const minimal = (extra: Record<string, unknown> = {}) => ({
  environments: { dev: { databaseUrlEnv: 'PLANDB_DEV_DATABASE_URL', ...extra } },
});

describe('loadConfig: file and JSON errors', () => {
  it('explains how to create a missing file from the example', () => {
    const path = join(dir, 'absent.json');
    expect(() => loadConfig({ path, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ path, env: {} })).toThrow(/absent\.json not found.*plandb\.config\.example\.json.*PLANDB_CONFIG/);
  });

  it('takes the path from PLANDB_CONFIG when no path option is given', () => {
    const path = writeConfig(minimal());
    expect(Object.keys(loadConfig({ env: { PLANDB_CONFIG: path } }).environments)).toEqual(['dev']);
    expect(() => loadConfig({ env: { PLANDB_CONFIG: join(dir, 'nope.json') } })).toThrow(/nope\.json not found/);
  });

  it('reports the line and column of invalid JSON without quoting the file', () => {
    const error = loadError('{\n  "environments": {\n    "dev": { "databaseUrlEnv": "X", }\n  }\n}');
    expect(error.message).toMatch(/is not valid JSON at line 3, column 37: unexpected "}", expected a property name/);
    expect(error.message).not.toContain('databaseUrlEnv');
  });

  it('reports truncated JSON at the end of the file', () => {
    expect(loadError('{"environments": {').message).toMatch(/at line 1, column 19: unexpected end of input/);
  });

  it('accepts a file saved with a byte-order mark', () => {
    const path = writeConfig(`\uFEFF${JSON.stringify(minimal())}`);
    expect(loadConfig({ path, env: {} }).environments.dev.databaseUrlEnv).toBe('PLANDB_DEV_DATABASE_URL');
  });
});

describe('loadConfig: schema errors name the key', () => {
  it('rejects batchSize 0 and above 50000 with the dotted path first', () => {
    expect(loadError(minimal({ backfill: { batchSize: 0 } })).issues).toEqual(['environments.dev.backfill.batchSize: must be >= 1']);
    const error = loadError({
      environments: { staging: { databaseUrlEnv: 'S', backfill: { batchSize: 50001 } } },
    });
    expect(error.issues).toEqual(['environments.staging.backfill.batchSize: must be <= 50000']);
    expect(error.message).toContain('is invalid:\nenvironments.staging.backfill.batchSize: must be <= 50000');
  });

  it('takes backfill.shards as "auto" or 1..32, and names the key otherwise', () => {
    expect(
      loadConfig({ path: writeConfig(JSON.stringify(minimal({ backfill: { shards: 4 } }))), env: {} }).environments.dev.backfill.shards,
    ).toBe(4);
    for (const bad of [0, 33, 1.5, 'many']) {
      expect(loadError(minimal({ backfill: { shards: bad } })).issues).toEqual([
        'environments.dev.backfill.shards: must be "auto" or a whole number from 1 to 32',
      ]);
    }
  });

  it('requires approvers when approval is required', () => {
    expect(loadError(minimal({ approval: { required: true } })).issues).toEqual([
      'environments.dev.approval.approvers: must list at least one approver when approval.required is true',
    ]);
    expect(loadError(minimal({ approval: { required: true, approvers: ['amy', 'amy'] } })).issues).toEqual([
      'environments.dev.approval.approvers[1]: is listed twice',
    ]);
  });

  it('rejects a URL in databaseUrlEnv without echoing it', () => {
    const error = loadError({ environments: { production: { databaseUrlEnv: 'postgres://app:s3cret@db:5432/plans' } } });
    expect(error.issues).toEqual(['environments.production.databaseUrlEnv: must name an environment variable, not contain the URL']);
    expect(error.message).not.toContain('s3cret');
  });

  it('rejects a lowercase variable name with an example of a valid one', () => {
    expect(loadError({ environments: { dev: { databaseUrlEnv: 'dev_url' } } }).issues).toEqual([
      'environments.dev.databaseUrlEnv: must be an environment variable name such as PLANDB_DEV_DATABASE_URL (A-Z, 0-9, _)',
    ]);
  });

  it('names a misspelt key and lists the allowed ones', () => {
    const issues = loadError(minimal({ backfil: { batchSize: 10 } })).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^environments\.dev\.backfil: unknown key \(allowed: databaseUrlEnv, backup, .*backfill/);
    expect(loadError(minimal({ backfill: { batchsize: 10 } })).issues[0]).toMatch(
      /^environments\.dev\.backfill\.batchsize: unknown key \(allowed: mode, batchSize,/,
    );
    expect(loadError({ ...minimal(), temporl: {} }).issues[0]).toMatch(/^temporl: unknown key \(allowed: temporal, environments\)/);
  });

  it('backfill.throttle: names an unknown key, checks thresholds, the replica variable and the waits', () => {
    expect(loadError(minimal({ backfill: { throttle: { maxLag: 5 } } })).issues[0]).toMatch(
      /^environments\.dev\.backfill\.throttle\.maxLag: unknown key \(allowed: maxLockWaits, maxTransactionSeconds,/,
    );
    expect(
      loadError(
        minimal({
          backfill: {
            throttle: { maxLockWaits: -1, maxTransactionSeconds: 'long', replicaUrlEnv: 'postgres://replica/db' },
          },
        }),
      ).issues,
    ).toEqual([
      'environments.dev.backfill.throttle.maxLockWaits: must be >= 0',
      'environments.dev.backfill.throttle.maxTransactionSeconds: must be a number (got string)',
      'environments.dev.backfill.throttle.replicaUrlEnv: must name an environment variable, not contain the URL',
    ]);
    expect(loadError(minimal({ backfill: { throttle: { replicaUrlEnv: 'REPLICA_URL' } } })).issues).toEqual([
      'environments.dev.backfill.throttle.replicaUrlEnv: is only used with maxReplicationLagSeconds or maxReplicationLagBytes',
    ]);
    expect(loadError(minimal({ backfill: { throttle: { initialWait: '1m', maxWait: '30s' } } })).issues).toEqual([
      'environments.dev.backfill.throttle.maxWait: must be at least initialWait',
    ]);
    const config = loadConfig({
      path: writeConfig(
        minimal({
          backfill: { throttle: { query: 'SELECT 1', maxReplicationLagBytes: 1024, replicaUrlEnv: 'REPLICA_URL', maxWait: '1m' } },
        }),
      ),
      env: {},
    });
    expect(config.environments.dev.backfill.throttle).toMatchObject({
      query: 'SELECT 1',
      maxReplicationLagBytes: 1024,
      replicaUrlEnv: 'REPLICA_URL',
      initialWaitMs: 1_000,
      maxWaitMs: 60_000,
    });
  });

  it('backfill.tuning: checks the target and the bounds, and that batchSize lies within them while tuning is on', () => {
    expect(loadError(minimal({ backfill: { tuning: { target: 1 } } })).issues[0]).toMatch(
      /^environments\.dev\.backfill\.tuning\.target: unknown key \(allowed: targetSeconds, minBatchSize, maxBatchSize, enabled\)/,
    );
    expect(
      loadError(minimal({ backfill: { tuning: { targetSeconds: 0, minBatchSize: 0.5, maxBatchSize: 50_001, enabled: 'yes' } } })).issues,
    ).toEqual([
      'environments.dev.backfill.tuning.targetSeconds: must be > 0',
      'environments.dev.backfill.tuning.minBatchSize: must be an integer',
      'environments.dev.backfill.tuning.maxBatchSize: must be <= 50000',
      'environments.dev.backfill.tuning.enabled: must be true or false (got string)',
    ]);
    expect(loadError(minimal({ backfill: { tuning: { targetSeconds: 61 } } })).issues).toEqual([
      'environments.dev.backfill.tuning.targetSeconds: must be <= 60',
    ]);
    // Only the bounds are reported: batchSize cannot be judged against bounds that are wrong.
    expect(loadError(minimal({ backfill: { tuning: { minBatchSize: 1000, maxBatchSize: 100 } } })).issues).toEqual([
      'environments.dev.backfill.tuning.maxBatchSize: must be at least minBatchSize',
    ]);
    const outside = 'must be within tuning.minBatchSize..tuning.maxBatchSize while tuning is enabled (or set tuning.enabled to false)';
    expect(loadError(minimal({ backfill: { batchSize: 10 } })).issues).toEqual([`environments.dev.backfill.batchSize: ${outside}`]);
    expect(loadError(minimal({ backfill: { batchSize: 600, tuning: { maxBatchSize: 550 } } })).issues).toEqual([
      `environments.dev.backfill.batchSize: ${outside}`,
    ]);
    // Without tuning, batchSize is the size of every batch, as before tuning existed.
    const untuned = loadConfig({ path: writeConfig(minimal({ backfill: { batchSize: 10, tuning: { enabled: false } } })), env: {} });
    expect(untuned.environments.dev.backfill).toMatchObject({ batchSize: 10, tuning: { enabled: false, minBatchSize: 50 } });
    const tuned = loadConfig({
      path: writeConfig(minimal({ backfill: { batchSize: 20, tuning: { targetSeconds: 0.5, minBatchSize: 20, maxBatchSize: 20_000 } } })),
      env: {},
    });
    const tuning: TunerConfig = tuned.environments.dev.backfill.tuning;
    expect(tuning).toEqual({ targetSeconds: 0.5, minBatchSize: 20, maxBatchSize: 20_000, enabled: true });
  });

  it('reports every problem, one per line', () => {
    const error = loadError({
      environments: {
        dev: { databaseUrlEnv: 'D', backfill: { mode: 'fast' }, postCheckHours: -1 },
        Prod: { databaseUrlEnv: 'P' },
        qa: {},
      },
    });
    expect(error.issues).toEqual([
      'environments.dev.backfill.mode: must be one of "normal", "force"',
      'environments.dev.postCheckHours: must be >= 0',
      'environments.Prod: environment names must be lowercase identifiers matching /^[a-z][a-z0-9-]{0,30}$/',
      'environments.qa.databaseUrlEnv: is required',
    ]);
    expect(error.message.split('\n').slice(1)).toEqual(error.issues);
  });

  it('checks types, maintenance, backup, verify and duration rules', () => {
    expect(
      loadError(
        minimal({
          backup: { enabled: 'yes', s3Uri: 'https://bucket', s3RegionEnv: 'R' },
          maintenance: { mode: 'http' },
          approval: { timeout: '2 hours' },
          verify: { sample: 1.5, representativePlans: 2, httpBaseUrl: 'ftp://app' },
          capacity: { maxRows: 1.5, alertThreshold: 0 },
        }),
      ).issues,
    ).toEqual([
      'environments.dev.backup.enabled: must be true or false (got string)',
      'environments.dev.backup.s3Uri: must be an s3://bucket[/prefix] URI',
      'environments.dev.maintenance.url: is required when mode is "http"',
      'environments.dev.approval.timeout: must be a duration like "30m", "24h" or "7d" (units s, m, h, d)',
      'environments.dev.verify.sample: must be "all" or a fraction of versions (0 < x <= 1)',
      'environments.dev.verify.representativePlans: must be >= 3',
      'environments.dev.verify.httpBaseUrl: must be an http:// or https:// URL',
      'environments.dev.capacity.maxRows: must be an integer',
      'environments.dev.capacity.alertThreshold: must be > 0',
    ]);
    for (const sample of ['some', 0, true]) {
      expect(loadError(minimal({ verify: { sample } })).issues).toEqual([
        'environments.dev.verify.sample: must be "all" or a fraction of versions (0 < x <= 1)',
      ]);
    }
    for (const parallel of [0, 1.5, 33, '2']) {
      expect(loadError(minimal({ verify: { parallel } })).issues).toEqual([
        expect.stringMatching(/^environments\.dev\.verify\.parallel: must be /),
      ]);
    }
    expect(loadConfig({ path: writeConfig(minimal({ verify: { parallel: 32 } })), env: {} }).environments.dev.verify.parallel).toBe(32);
    expect(loadError(minimal({ approval: { timeout: '400d' } })).issues).toEqual([
      'environments.dev.approval.timeout: must be at most 365d',
    ]);
  });

  it('rejects settings that would be ignored by the chosen mode', () => {
    expect(loadError(minimal({ maintenance: { mode: 'db-flag', url: 'https://app/maint' }, backup: { s3RegionEnv: 'R' } })).issues).toEqual(
      [
        'environments.dev.backup.s3RegionEnv: is only used with backup.s3Uri, which is not set',
        'environments.dev.maintenance.url: is only used when mode is "http"',
      ],
    );
  });

  it('requires at least one environment and an object at the top', () => {
    expect(loadError({ environments: {} }).issues).toEqual(['environments: must define at least one environment']);
    expect(loadError({}).issues).toEqual(['environments: is required']);
    expect(loadError([]).issues).toEqual(['(root): must be an object (got array)']);
  });
});

describe('loadConfig: defaults', () => {
  it('fills every field of a minimal environment', () => {
    const config = loadConfig({ path: writeConfig(minimal()), env: {} });
    expect(config).toEqual({
      temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'plan-db-migration' },
      environments: {
        dev: {
          databaseUrlEnv: 'PLANDB_DEV_DATABASE_URL',
          backup: { enabled: true, dir: '.plandb/backups/dev' },
          maintenance: { mode: 'none' },
          maintenanceWindow: null,
          approval: { required: false, approvers: [], timeout: '24h', timeoutMs: 86_400_000 },
          backfill: {
            mode: 'normal',
            batchSize: 500,
            sampleLimit: null,
            resume: false,
            maxErrors: 1000,
            bulkLoad: 'auto',
            bulkLoadMaintenanceWorkMem: '512MB',
            catchUp: { enabled: true, maxPasses: 5, untilRows: 1000, untilSeconds: 30 },
            throttle: {
              maxLockWaits: null,
              maxTransactionSeconds: null,
              autovacuum: false,
              maxReplicationLagSeconds: null,
              maxReplicationLagBytes: null,
              query: null,
              initialWait: '1s',
              maxWait: '30s',
              initialWaitMs: 1_000,
              maxWaitMs: 30_000,
            },
            shards: 'auto',
            tuning: { targetSeconds: 1, minBatchSize: 50, maxBatchSize: 5000, enabled: true },
          },
          verify: { sample: 'all', representativePlans: 3, parallel: 2 },
          capacity: { maxRows: null, alertThreshold: null },
          spotCheck: { required: false },
          postCheckHours: 0,
          notifications: [],
          cutover: 'offline',
        },
      },
    });
  });

  it('cuts over online by default in production only, and keeps an explicit cutover', () => {
    const config = loadConfig({
      path: writeConfig({
        environments: {
          dev: { databaseUrlEnv: 'PLANDB_DEV_DATABASE_URL' },
          production: { databaseUrlEnv: 'PLANDB_PRODUCTION_DATABASE_URL' },
          staging: { databaseUrlEnv: 'PLANDB_STAGING_DATABASE_URL', cutover: 'online' },
        },
      }),
      env: {},
    });
    expect(Object.fromEntries(Object.entries(config.environments).map(([name, e]) => [name, e.cutover]))).toEqual({
      dev: 'offline',
      production: 'online',
      staging: 'online',
    });
  });

  it('names a bad cutover value', () => {
    expect(loadError(minimal({ cutover: 'fast' })).issues).toEqual([
      expect.stringMatching(/^environments\.dev\.cutover: .*"online".*"offline"/),
    ]);
  });

  it('keeps explicit values and converts the approval timeout to milliseconds', () => {
    const config = loadConfig({
      path: writeConfig(
        minimal({
          backup: { dir: '/var/backups/plandb' },
          approval: { required: true, approvers: [' amy '], timeout: '30m' },
          verify: { sample: 0.25 },
          maintenance: { mode: 'http', url: 'https://app.example/maintenance', tokenEnv: 'MAINT_TOKEN' },
        }),
      ),
      env: {},
    });
    const dev = config.environments.dev;
    expect(dev.backup.dir).toBe('/var/backups/plandb');
    expect(dev.approval).toEqual({ required: true, approvers: ['amy'], timeout: '30m', timeoutMs: 1_800_000 });
    expect(dev.verify.sample).toBe(0.25);
    expect(dev.maintenance).toEqual({ mode: 'http', url: 'https://app.example/maintenance', tokenEnv: 'MAINT_TOKEN' });
  });
});

describe('loadConfig: environment overrides', () => {
  const twoEnvironments = {
    temporal: { address: 'temporal.internal:7233', namespace: 'plans', taskQueue: 'custom-queue' },
    environments: {
      dev: { databaseUrlEnv: 'D', capacity: { maxRows: 10, alertThreshold: 5 } },
      production: { databaseUrlEnv: 'P' },
    },
  };

  it('applies PLANS_DB_MAX_ROWS and PLANS_DB_GUARD_ALERT_THRESHOLD to every environment', () => {
    const config = loadConfig({
      path: writeConfig(twoEnvironments),
      env: { PLANS_DB_MAX_ROWS: '2000000', PLANS_DB_GUARD_ALERT_THRESHOLD: ' 50000 ' },
    });
    for (const name of ['dev', 'production']) {
      expect(config.environments[name].capacity).toEqual({ maxRows: 2_000_000, alertThreshold: 50_000 });
    }
  });

  it('keeps the file values when the variables are unset or empty', () => {
    const config = loadConfig({ path: writeConfig(twoEnvironments), env: { PLANS_DB_MAX_ROWS: '' } });
    expect(config.environments.dev.capacity).toEqual({ maxRows: 10, alertThreshold: 5 });
    expect(config.environments.production.capacity).toEqual({ maxRows: null, alertThreshold: null });
  });

  it.each([
    ['PLANS_DB_MAX_ROWS', 'abc'],
    ['PLANS_DB_MAX_ROWS', '0'],
    ['PLANS_DB_MAX_ROWS', '-5'],
    ['PLANS_DB_GUARD_ALERT_THRESHOLD', '1.5'],
    ['PLANS_DB_GUARD_ALERT_THRESHOLD', '1e3'],
    ['PLANS_DB_GUARD_ALERT_THRESHOLD', '99999999999999999999'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    const error = loadError(twoEnvironments, { [name]: value });
    expect(error.message).toBe(`environment variable ${name} must be a positive integer (got ${JSON.stringify(value)})`);
  });

  it('takes Temporal settings from the file, overridden by TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE', () => {
    const path = writeConfig(twoEnvironments);
    expect(loadConfig({ path, env: {} }).temporal).toEqual({
      address: 'temporal.internal:7233',
      namespace: 'plans',
      taskQueue: 'custom-queue',
    });
    expect(loadConfig({ path, env: { TEMPORAL_ADDRESS: 'cloud.tmprl:7233', TEMPORAL_NAMESPACE: 'prod.acct' } }).temporal).toEqual({
      address: 'cloud.tmprl:7233',
      namespace: 'prod.acct',
      taskQueue: 'custom-queue',
    });
  });

  it('uses TEMPORAL_* variables over the defaults when the file has no temporal section', () => {
    const config = loadConfig({ path: writeConfig(minimal()), env: { TEMPORAL_ADDRESS: 'remote:7233' } });
    expect(config.temporal).toEqual({ address: 'remote:7233', namespace: 'default', taskQueue: 'plan-db-migration' });
  });
});
