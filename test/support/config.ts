/** A config loaded through the real loader from a temporary file, for tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load';
import type { PlandbConfig } from '../../config/schema';

/**
 * Tests steer batches with small sizes (2–7) to control what a pause or a crash meets; the batch size tuner
 * would raise them to its minimum at once, so it is off unless a test sets backfill.tuning itself.
 */
export function withoutTuning(environments: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(environments).map(([name, e]) => {
      const backfill = (e.backfill ?? {}) as Record<string, unknown>;
      return [name, { ...e, backfill: { ...backfill, tuning: { enabled: false, ...(backfill.tuning as object | undefined) } } }];
    }),
  );
}

export function testConfig(environments: Record<string, Record<string, unknown>>, env: NodeJS.ProcessEnv = {}): PlandbConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-config-'));
  const file = path.join(dir, 'plandb.config.json');
  fs.writeFileSync(file, JSON.stringify({ environments: withoutTuning(environments) }));
  try {
    return loadConfig({ path: file, env: { TEMPORAL_ADDRESS: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, ...env } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
