/** Helpers for environmentMigration tests: a seeded database per environment and a worker over them. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowHandle } from '@temporalio/client';
import type { MigrationEvidence } from '../../model/migration';
import { statusQuery } from '../../workflows/definitions';
import { waitFor } from './backfill';
import type { PlandbConfig } from '../../config/schema';
import { testConfig } from './config';
import { createTestDatabase, TestDatabase } from './database';
import { seedDemo } from '../../db/seed';
import { createTemporalHarness, TemporalHarness } from './temporal';

export const MIGRATION_DEMO = { plans: 5, versions: 3, series: 6, bad: 10, seed: 9 };

export interface MigrationFixture {
  dbs: Record<string, TestDatabase>;
  config: PlandbConfig;
  env: NodeJS.ProcessEnv;
  backupRoot: string;
  harness: TemporalHarness;
  close(): Promise<void>;
}

/** One seeded (not migrated) database per environment, configured with the given policies; `extraEnv`: more variables for the worker. */
export async function migrationFixture(
  environments: Record<string, Record<string, unknown>>,
  extraEnv: Record<string, string> = {},
): Promise<MigrationFixture> {
  const backupRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-backups-'));
  const dbs: Record<string, TestDatabase> = {};
  const env: Record<string, string> = { ...extraEnv };
  const config: Record<string, Record<string, unknown>> = {};
  for (const [name, policy] of Object.entries(environments)) {
    dbs[name] = await createTestDatabase();
    await seedDemo(dbs[name].pool, MIGRATION_DEMO);
    const urlVar = `PLANDB_T_MIG_${name.toUpperCase()}_URL`;
    env[urlVar] = dbs[name].url;
    config[name] = { databaseUrlEnv: urlVar, backup: { dir: path.join(backupRoot, name) }, ...policy };
  }
  const loaded = testConfig(config);
  const harness = await createTemporalHarness(loaded, env);
  return {
    dbs,
    config: loaded,
    env,
    backupRoot,
    harness,
    close: async () => {
      await harness.close();
      for (const db of Object.values(dbs)) await db.drop();
      fs.rmSync(backupRoot, { recursive: true, force: true });
    },
  };
}

export async function startMigration(h: TemporalHarness, input: Record<string, unknown>): Promise<WorkflowHandle> {
  return h.client.workflow.start('environmentMigration', {
    workflowId: `plandb-${String(input.environment)}-migration-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`,
    taskQueue: h.taskQueue,
    args: [input],
  });
}

/** Waits until the migration's status query satisfies `pred`. */
export async function waitForMigration(
  handle: WorkflowHandle,
  pred: (e: MigrationEvidence) => boolean,
  what: string,
): Promise<MigrationEvidence> {
  let last: MigrationEvidence | null = null;
  try {
    return await waitFor(
      async () => {
        last = await handle.query(statusQuery).catch(() => last);
        return last && pred(last) ? last : null;
      },
      90_000,
      what,
    );
  } catch (err) {
    // Say where the migration was instead, so a failure explains itself.
    const e = last as MigrationEvidence | null;
    const step = e?.steps.at(-1);
    throw new Error(
      `${(err as Error).message}; the migration is ${e?.status ?? 'unknown'} at ${step?.name ?? '-'} (${step?.status ?? '-'}): ${step?.error ?? ''}`,
    );
  }
}

export async function maintenanceEnabled(db: TestDatabase): Promise<boolean> {
  const res = await db.pool
    .query(`SELECT enabled FROM plan_db_maintenance WHERE scope = 'plan_create'`)
    .catch(() => ({ rows: [] as { enabled: boolean }[] }));
  return res.rows[0]?.enabled ?? false;
}
