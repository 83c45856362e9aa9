import { join } from 'node:path';
import { loadConfig } from '../../config/load';
import { throttleEnabled } from '../../model/throttle';

const examplePath = join(__dirname, '..', '..', 'plandb.config.example.json');

describe('plandb.config.example.json', () => {
  const config = loadConfig({ path: examplePath, env: {} });

  it('validates and defines dev, staging and production in promotion order', () => {
    expect(Object.keys(config.environments)).toEqual(['dev', 'staging', 'production']);
    expect(config.temporal).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'plan-db-migration' });
  });

  it('reads each database URL from its own variable and backs up under .plandb/backups/<env>', () => {
    for (const name of ['dev', 'staging', 'production']) {
      const environment = config.environments[name];
      expect(environment.databaseUrlEnv).toBe(`PLANDB_${name.toUpperCase()}_DATABASE_URL`);
      expect(environment.backup.enabled).toBe(true);
      expect(environment.backup.dir).toBe(`.plandb/backups/${name}`);
    }
  });

  it('dev: force backfill, backup, no approval, no maintenance', () => {
    const dev = config.environments.dev;
    expect(dev.backfill.mode).toBe('force');
    expect(throttleEnabled(dev.backfill.throttle)).toBe(false);
    expect(dev.approval.required).toBe(false);
    expect(dev.maintenance.mode).toBe('none');
    expect(dev.spotCheck.required).toBe(false);
  });

  it('staging: a limit-5 sample dry-run, then an approved full normal backfill', () => {
    const staging = config.environments.staging;
    expect(staging.backfill.sampleLimit).toBe(5);
    expect(staging.backfill.mode).toBe('normal');
    expect(staging.approval.required).toBe(true);
    expect(staging.approval.approvers.length).toBeGreaterThan(0);
    expect(staging.verify.representativePlans).toBeGreaterThanOrEqual(3);
  });

  it('production: approval, maintenance flag, S3 upload, resumable normal backfill, spot check, 24h post-check', () => {
    const production = config.environments.production;
    expect(production.approval.required).toBe(true);
    expect(production.approval.approvers.length).toBeGreaterThan(0);
    expect(production.maintenance.mode).toBe('db-flag');
    // No window in the example: `plandb dev` walks production at any hour (README: maintenance windows).
    expect(production.maintenanceWindow).toBeNull();
    // `plandb dev` serves this bucket from moto while PLANDB_S3_ENDPOINT is unset; a deployment sets it.
    expect(production.backup).toMatchObject({ s3Uri: 's3://plandb-dev-backups/production/', s3EndpointEnv: 'PLANDB_S3_ENDPOINT' });
    expect(production.backfill).toMatchObject({ mode: 'normal', resume: true, sampleLimit: null });
    // Held while lock waits, long transactions or a lagging replica say the database is busy; not for autovacuum.
    expect(production.backfill.throttle).toMatchObject({
      maxLockWaits: 5,
      maxTransactionSeconds: 300,
      autovacuum: false,
      maxReplicationLagSeconds: 30,
      query: null,
      initialWaitMs: 1_000,
      maxWaitMs: 30_000,
    });
    // Batches sized for about a second each, within 50..5000 artifacts.
    expect(production.backfill.tuning).toEqual({ targetSeconds: 1, minBatchSize: 50, maxBatchSize: 5000, enabled: true });
    expect(production.spotCheck.required).toBe(true);
    expect(production.postCheckHours).toBe(24);
    // Maintenance only for the final delta; dev and staging have no maintenance to shorten.
    expect(production.cutover).toBe('online');
  });

  it('production is capacity-trimmed (so PlanDbNoTrimIn2Days watches it); dev and staging are not', () => {
    expect(config.environments.production.capacity).toEqual({ maxRows: 5_000_000, alertThreshold: 100_000 });
    expect(config.environments.dev.capacity.maxRows).toBeNull();
    expect(config.environments.staging.capacity.maxRows).toBeNull();
  });

  it('takes capacity limits from the environment for every stage', () => {
    const overridden = loadConfig({
      path: examplePath,
      env: { PLANS_DB_MAX_ROWS: '5000000', PLANS_DB_GUARD_ALERT_THRESHOLD: '100000' },
    });
    for (const environment of Object.values(overridden.environments)) {
      expect(environment.capacity).toEqual({ maxRows: 5_000_000, alertThreshold: 100_000 });
    }
  });
});
