/**
 * The load generator playing an application that honours the maintenance flag: it writes while maintenance
 * is off, refuses what falls due while it is on, and once it is lifted again has cut over to the repository,
 * so it writes the legacy table no more.
 */
import { setMaintenanceFlag } from '../../db/maintenance';
import { seededDatabase, waitFor } from '../support/backfill';
import type { TestDatabase } from '../support/database';
import { startApplicationWrites } from '../support/load-generator';

const artifacts = async (db: TestDatabase) =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM plan_artifacts')).rows[0].n;
const maintenance = (db: TestDatabase, enabled: boolean) => setMaintenanceFlag(db.pool, { enabled, reason: 'test', actor: 'test' });

describe('load generator honouring maintenance', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seededDatabase({ plans: 5, versions: 2, series: 2, bad: 0, seed: 3 });
  });
  afterAll(() => db?.drop());

  test('writes while off, refuses while on, and stops for good once maintenance is lifted (cut over)', async () => {
    const before = await artifacts(db);
    const app = await startApplicationWrites(db, { rate: 100, updateFraction: 0.2, series: 2, tickMs: 10, honourMaintenance: true });
    try {
      await waitFor(async () => app.counts().insertedIds.length >= 5 || null, 10_000, 'inserts before maintenance');
      await maintenance(db, true);
      await waitFor(async () => app.counts().refusedInMaintenance >= 5 || null, 10_000, 'refusals in maintenance');
      const during = app.counts();
      expect(during.cutOverAtSeconds).toBeNull();
      // Once it has refused, nothing more lands while maintenance stays on.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const inMaintenance = await artifacts(db);
      expect(inMaintenance - before).toBe(during.insertedIds.length);
      expect(app.counts().refusedInMaintenance).toBeGreaterThan(during.refusedInMaintenance);

      await maintenance(db, false);
      await app.ended;
      const after = app.counts();
      expect(after.cutOverAtSeconds).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await artifacts(db)).toBe(inMaintenance);
      expect(after.insertedIds.length).toBe(inMaintenance - before);
      expect(after.updatedIds.length).toBeGreaterThan(0);
    } finally {
      await app.stop();
    }
  });
});
