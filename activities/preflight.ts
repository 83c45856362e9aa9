import { getEnvironment } from '../config/environment';
import { withClient } from '../db/connection';
import { scanLegacyInventory } from '../db/legacy-inventory';
import { legacyTableExists } from '../db/legacy-reader';
import { getMaintenance, MaintenanceState } from '../db/maintenance';
import { migrationStatus } from '../db/migrator';
import { repositoryCounts, RepositoryCounts } from '../db/repository-stats';
import { serverInfo, ServerInfo, tableExists } from '../db/server-info';
import type { LegacyInventory } from '../transform/inventory';
import type { EtaPrediction } from '../model/backfill-eta';
import { predictBackfillEta } from './backfill-eta';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';

export interface PreflightInput {
  environment: string;
}

export interface PreflightReport {
  environment: string;
  server: ServerInfo;
  migrations: {
    head: string | null;
    current: string | null;
    pending: string[];
    drift: string[];
    atHead: boolean;
  };
  /** Null when the database has no plan_artifacts table. */
  legacy: LegacyInventory | null;
  repository: RepositoryCounts | null;
  /** Null until migrations create plan_db_maintenance. */
  maintenance: MaintenanceState | null;
  /**
   * The backfill's ETA from the previous environment's measured rate (model/backfill-eta.ts); null for the
   * first environment or without a legacy table; absent from reports of older workers.
   */
  eta?: EtaPrediction | null;
  checkedAt: string;
}

/** Connects, reads migration status, takes the dry-run inventory and the maintenance state. Read-only. */
export function createPreflight(deps: ActivityDeps) {
  return async function preflight(input: PreflightInput): Promise<PreflightReport> {
    getEnvironment(deps.config, input.environment);
    const pool = deps.databases.pool(input.environment);
    return withClient(pool, async (db) => {
      const status = await migrationStatus(db);
      const legacy = (await legacyTableExists(db))
        ? await scanLegacyInventory(db, { onProgress: (cursor) => heartbeat({ cursor }) })
        : null;
      const report: PreflightReport = {
        environment: input.environment,
        server: await serverInfo(db),
        migrations: {
          head: status.head,
          current: status.current,
          pending: status.pending.map((m) => m.name),
          drift: status.drift.map((d) => d.message),
          atHead: status.atHead,
        },
        legacy,
        repository: await repositoryCounts(db),
        maintenance: (await tableExists(db, 'plan_db_maintenance')) ? await getMaintenance(db) : null,
        eta: legacy ? await predictBackfillEta(deps, input.environment, legacy.artifacts) : null,
        checkedAt: new Date().toISOString(),
      };
      deps.logger.info({ event: 'preflight', environment: input.environment, atHead: status.atHead, legacy });
      return report;
    });
  };
}
