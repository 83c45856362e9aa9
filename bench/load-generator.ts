/**
 * Plays the application during a migration: inserts new artifact versions into `plan_artifacts` at a set
 * rate (the bench's documents, transform/demo-payloads.ts) and, with `updateFraction`, rewrites some
 * existing payloads in place, on its own connection (named like the application, not plandb: the bulk path's check sees it). Each write is its own statement and commits at once,
 * as the application's do. For tests (test/support/load-generator.ts) and the bench.
 */
import pg from 'pg';
import { getMaintenance } from '../db/maintenance';
import { generatePayload, mulberry32, type Rng } from '../transform/demo-payloads';

export interface LoadGeneratorOptions {
  /** New artifact versions per second. */
  rate: number;
  /** In-place payload updates per inserted version (0.1: one update for every ten inserts); default 0. */
  updateFraction?: number;
  /** Series rows per new document (default 20). */
  series?: number;
  seed?: number;
  /** How often it writes what is due (ms, default 50): a tick inserts all versions due since the last. */
  tickMs?: number;
  /**
   * Sessions writing at once (default 1), as several application servers do: their inserts overlap, so an
   * id taken earlier may commit after a later one.
   */
  connections?: number;
  /**
   * Plays an application that honours plandb's db-flag maintenance switch (db/maintenance.ts): while it is
   * on, the writes due are refused (not queued), as the Plan creation API refuses them; once it is lifted
   * again the application has cut over to the repository, so it writes `plan_artifacts` no more. Default false.
   */
  honourMaintenance?: boolean;
}

export interface LoadGeneratorCounts {
  /** Ids of the artifacts it inserted, in id order. */
  insertedIds: number[];
  /** Ids of the artifacts whose payload it rewrote (an id updated twice appears twice). */
  updatedIds: number[];
  /** Inserts refused while maintenance was on (honourMaintenance). */
  refusedInMaintenance: number;
  /** When maintenance was lifted after it had been on (honourMaintenance): the writes stopped then; null before. */
  cutOverAtSeconds: number | null;
  seconds: number;
}

export interface LoadGenerator {
  /** What it wrote so far. */
  counts(): LoadGeneratorCounts;
  /** Stops after the write in flight and closes its connection; rejects if a write failed. */
  stop(): Promise<LoadGeneratorCounts>;
  /** Settles when it stopped writing by itself: cut over (honourMaintenance) or a write failed. */
  ended: Promise<void>;
}

/** Checks options before anything connects: the CLI prints these as usage errors. */
export function checkLoadGeneratorOptions(o: LoadGeneratorOptions): string[] {
  const problems: string[] = [];
  if (!(Number.isFinite(o.rate) && o.rate > 0 && o.rate <= 100_000))
    problems.push(`rate must be a number of rows/s > 0 and <= 100000, got ${o.rate}`);
  const f = o.updateFraction ?? 0;
  if (!(Number.isFinite(f) && f >= 0 && f <= 10)) problems.push(`updateFraction must be a number from 0 to 10, got ${f}`);
  const series = o.series ?? 20;
  if (!(Number.isInteger(series) && series >= 0 && series <= 10_000))
    problems.push(`series must be a whole number from 0 to 10000, got ${series}`);
  const tick = o.tickMs ?? 50;
  if (!(Number.isInteger(tick) && tick >= 1)) problems.push(`tickMs must be a whole number >= 1, got ${tick}`);
  const connections = o.connections ?? 1;
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= 32))
    problems.push(`connections must be a whole number from 1 to 32, got ${connections}`);
  return problems;
}

/** The next version of each plan (the generator is the only writer of new versions while it runs). */
async function nextVersions(client: pg.Client): Promise<Map<string, number>> {
  const res = await client.query<{ plan_id: string; v: number }>(
    `SELECT plan_id, max(version) + 1 AS v FROM plan_artifacts GROUP BY plan_id`,
  );
  return new Map(res.rows.map((r) => [r.plan_id, r.v]));
}

export async function startLoadGenerator(connectionString: string, opts: LoadGeneratorOptions): Promise<LoadGenerator> {
  const problems = checkLoadGeneratorOptions(opts);
  if (problems.length) throw new RangeError(`load generator: ${problems.join('; ')}`);
  const { rate, updateFraction = 0, series = 20, seed = 1, tickMs = 50, connections = 1, honourMaintenance = false } = opts;
  const clients: pg.Client[] = [];
  const closeAll = () => Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  let next: Map<string, number>;
  try {
    for (let i = 0; i < connections; i++) {
      const client = new pg.Client({ connectionString, application_name: 'plan-app-load-generator' });
      clients.push(client);
      await client.connect();
    }
    next = await nextVersions(clients[0]);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const plans = [...next.keys()];
  if (!plans.length) {
    await closeAll();
    throw new Error('load generator: plan_artifacts holds no plan to write new versions of');
  }
  const rng: Rng = mulberry32(seed);
  const insertedIds: number[] = [];
  const updatedIds: number[] = [];
  // Claimed before a write is sent, so sessions writing at once do not take the same rows due.
  let insertsClaimed = 0;
  let updatesClaimed = 0;
  let refusedInMaintenance = 0;
  let sawMaintenance = false;
  let cutOverAtSeconds: number | null = null;
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const counts = (): LoadGeneratorCounts => ({
    insertedIds: [...insertedIds].sort((a, b) => a - b),
    updatedIds: [...updatedIds],
    refusedInMaintenance,
    cutOverAtSeconds,
    seconds: seconds(),
  });
  const document = () => generatePayload(rng, { series, legacyFormat: rng() < 0.25, name: `Live plan ${Math.floor(rng() * 1000)}` });

  const insert = async (client: pg.Client, n: number) => {
    const planIds: string[] = [];
    const versions: number[] = [];
    const payloads: string[] = [];
    for (let i = 0; i < n; i++) {
      const planId = plans[Math.floor(rng() * plans.length)];
      const version = next.get(planId)!;
      next.set(planId, version + 1);
      planIds.push(planId);
      versions.push(version);
      payloads.push(JSON.stringify(document()));
    }
    const res = await client.query<{ id: number }>(
      `INSERT INTO plan_artifacts (plan_id, version, payload)
       SELECT * FROM unnest($1::text[], $2::int4[], $3::jsonb[]) RETURNING id`,
      [planIds, versions, payloads],
    );
    insertedIds.push(...res.rows.map((r) => Number(r.id)));
  };

  const update = async (client: pg.Client) => {
    // Any existing artifact, uniformly by id: the first at or after a random point of the id range.
    const res = await client.query<{ id: number }>(
      `UPDATE plan_artifacts SET payload = $2::jsonb WHERE id = (
         SELECT id FROM plan_artifacts WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id) + 1))::int8 FROM plan_artifacts)
          ORDER BY id LIMIT 1)
       RETURNING id`,
      [rng(), JSON.stringify(document())],
    );
    if (res.rows[0]) updatedIds.push(Number(res.rows[0].id));
  };

  let stopping = false;
  let failure: unknown = null;
  const session = async (client: pg.Client) => {
    while (!stopping && failure === null && cutOverAtSeconds === null) {
      const due = Math.floor(rate * seconds()) - insertsClaimed;
      const inMaintenance = honourMaintenance && (await getMaintenance(client)).enabled;
      if (inMaintenance) sawMaintenance = true;
      else if (sawMaintenance) {
        cutOverAtSeconds ??= seconds();
        break;
      }
      if (due > 0 && inMaintenance) {
        // Refused by the application, not delayed: nothing of it reaches the table later.
        insertsClaimed += due;
        refusedInMaintenance += due;
        updatesClaimed = Math.floor(updateFraction * insertsClaimed);
      } else if (due > 0) {
        insertsClaimed += due;
        await insert(client, due);
      }
      while (!stopping && Math.floor(updateFraction * insertsClaimed) > updatesClaimed) {
        updatesClaimed++;
        await update(client);
      }
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  };
  const loop = Promise.all(
    clients.map((client) =>
      session(client).catch((err: unknown) => {
        failure ??= err;
      }),
    ),
  ).finally(closeAll);

  return {
    counts,
    ended: loop.then(() => undefined),
    stop: async () => {
      stopping = true;
      await loop;
      if (failure) throw failure;
      return counts();
    },
  };
}
