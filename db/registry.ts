import pg from 'pg';
import { PlandbConfig } from '../config/schema';
import { getEnvironment, resolveDatabaseUrl } from '../config/environment';
import { createPool } from './connection';

/** One pool per environment, created on first use from the URL in that environment's named variable. */
export class DatabaseRegistry {
  private readonly pools = new Map<string, pg.Pool>();

  constructor(
    private readonly config: PlandbConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  pool(environment: string): pg.Pool {
    let pool = this.pools.get(environment);
    if (!pool) {
      const url = resolveDatabaseUrl(getEnvironment(this.config, environment), environment, this.env);
      pool = createPool(url, { applicationName: `plandb-${environment}` });
      this.pools.set(environment, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }
}
