/** A config loaded through the real loader from a temporary file, for tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load';
import type { PlandbConfig } from '../../config/schema';

export function testConfig(environments: Record<string, Record<string, unknown>>, env: NodeJS.ProcessEnv = {}): PlandbConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-config-'));
  const file = path.join(dir, 'plandb.config.json');
  fs.writeFileSync(file, JSON.stringify({ environments }));
  try {
    return loadConfig({ path: file, env: { TEMPORAL_ADDRESS: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, ...env } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
