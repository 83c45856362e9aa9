/** `npm run bench -- [flags]`: what to generate and how to run the workflow. */
import { parseArgs } from 'node:util';
import { MAX_VERIFY_PARALLEL } from '../model/verify';
import { DEFAULT_BATCH_SIZE, checkBatchSize } from '../workflows/definitions';

/** The workflow scenarios, by their --scenarios name: a first load into an empty repository, a normal run over a half-filled one. */
export const SCENARIO_FLAGS = { first: 'workflowFirstLoad', half: 'workflowHalfFilled' } as const;
export type ScenarioFlag = keyof typeof SCENARIO_FLAGS;
export type ScenarioName = (typeof SCENARIO_FLAGS)[ScenarioFlag];

export interface BenchOptions {
  /** Legacy artifacts = plans x versions. */
  artifacts: number;
  plans: number;
  versions: number;
  /** Series rows per artifact. */
  series: number;
  batchSize: number;
  /** Parallel sessions of the sqlRepositoryN baseline, the workflow's shards and the parallel verify's sessions. */
  shards: number;
  /** The workflow scenarios to run, in the order they run. */
  scenarios: ScenarioName[];
  /** Worker processes polling the task queue during the workflow phase. */
  workers: number;
  /** Artifacts per batch of the verify pass (db/verification.ts). */
  verifyBatch: number;
  /** Directory for V8 CPU profiles of the workflow-phase worker children (node --cpu-prof), or null. */
  cpuProfDir: string | null;
  /** node --max-old-space-size for the workflow-phase worker children (MB), or null for Node's default. */
  workerHeapMb: number | null;
  seed: number;
  /** Cancelled force runs measuring cancel latency after the verify (0: none). */
  cancelProbes: number;
  /** The online cut-over scenario's application writes (versions/s); 0: the scenario does not run. */
  onlineRate: number;
  /** Its in-place payload rewrites per new version. */
  onlineUpdates: number;
}

export const USAGE = `usage: npm run bench -- [--artifacts N] [--versions N] [--series N] [--batch-size N] [--shards N]
                              [--scenarios first,half] [--workers N] [--verify-batch N] [--seed N]
                              [--cpu-prof DIR] [--worker-heap-mb N] [--cancel-probes N]
                              [--online-rate N] [--online-updates F]
  --artifacts N     legacy artifacts to generate (default 20000; a multiple of --versions)
  --versions N      versions per plan (default 10): plans = artifacts / versions
  --series N        series rows per artifact (default 100)
  --batch-size N    backfill batch size (default ${DEFAULT_BATCH_SIZE}, the workflow's default)
  --shards N        parallel sessions of the sqlRepositoryN baseline (each on a disjoint id range of the
                    legacy table), the workflow's shards and the parallel verify's sessions (default 2)
  --scenarios LIST  workflow scenarios to run, comma-separated (default first,half): first = a first load
                    into an empty repository (workflowFirstLoad), half = a normal run over the second half
                    of the artifacts into a repository holding the first half (workflowHalfFilled)
  --workers N       worker processes polling the task queue during the workflow phase (default 1); with
                    N > 1 each runs at most ceil(shards / N) chunks at once (PLANDB_MAX_CONCURRENT_CHUNKS)
  --verify-batch N  artifacts per batch of the verify pass (default 500)
  --seed N          demo generator seed (default 1)
  --cpu-prof DIR    write a V8 CPU profile of each workflow-phase worker process into DIR
  --worker-heap-mb N  run the workflow-phase workers with node --max-old-space-size=N (default: Node's own limit)
  --cancel-probes N cancel N force runs mid-chunk and report the cancel latency (default 5; 0: skip)
  --online-rate N   last, a whole online migration (cutover "online") into the empty repository while the
                    application appends N versions/s throughout (default 20; 0: skip); its maintenance
                    window is compared with the first scenario's backfill (needs first in --scenarios)
  --online-updates F  in-place payload rewrites per appended version during it (default 0.1)
Environment: BENCH_DATABASE_URL uses that PostgreSQL server (a scratch database is created and dropped)
instead of an embedded PostgreSQL 15.`;

export class UsageError extends Error {}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

function parseScenarios(text: string | undefined): ScenarioName[] {
  if (text === undefined) return Object.values(SCENARIO_FLAGS);
  const flags = text.split(',').map((s) => s.trim());
  const known = Object.keys(SCENARIO_FLAGS);
  const unknown = flags.filter((f) => !known.includes(f));
  if (unknown.length || !text.trim()) throw new UsageError(`--scenarios must list some of ${known.join(', ')}, got "${text}"`);
  // Always first, then half: the first load's verify and history do not depend on what the user typed first.
  return (known as ScenarioFlag[]).filter((f) => flags.includes(f)).map((f) => SCENARIO_FLAGS[f]);
}

export function parseOptions(argv: string[]): BenchOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        artifacts: { type: 'string' },
        versions: { type: 'string' },
        series: { type: 'string' },
        'batch-size': { type: 'string' },
        shards: { type: 'string' },
        scenarios: { type: 'string' },
        workers: { type: 'string' },
        'verify-batch': { type: 'string' },
        seed: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'worker-heap-mb': { type: 'string' },
        'cancel-probes': { type: 'string' },
        'online-rate': { type: 'string' },
        'online-updates': { type: 'string' },
      },
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const artifacts = positiveInt('artifacts', values.artifacts, 20_000);
  const versions = positiveInt('versions', values.versions, Math.min(10, artifacts));
  if (artifacts % versions !== 0) throw new UsageError(`--artifacts (${artifacts}) must be a multiple of --versions (${versions})`);
  const shards = positiveInt('shards', values.shards, 2);
  if (shards > MAX_VERIFY_PARALLEL)
    throw new UsageError(`--shards must be at most ${MAX_VERIFY_PARALLEL} (the parallel verify's limit), got ${shards}`);
  const batchSize = positiveInt('batch-size', values['batch-size'], DEFAULT_BATCH_SIZE);
  const problem = checkBatchSize(batchSize);
  if (problem) throw new UsageError(`--batch-size: ${problem}`);
  const scenarios = parseScenarios(values.scenarios);
  const onlineRate = values['online-rate'] === '0' ? 0 : positiveInt('online-rate', values['online-rate'], 20);
  if (onlineRate > 0 && !scenarios.includes('workflowFirstLoad'))
    throw new UsageError(
      '--online-rate compares the maintenance window with the first scenario: add first to --scenarios, or pass --online-rate 0',
    );
  const onlineUpdates = Number(values['online-updates'] ?? 0.1);
  if (!/^\d+(\.\d+)?$/.test(values['online-updates'] ?? '0.1') || onlineUpdates > 10)
    throw new UsageError(`--online-updates must be a number from 0 to 10, got "${values['online-updates']}"`);
  return {
    artifacts,
    plans: artifacts / versions,
    versions,
    series: positiveInt('series', values.series, 100),
    batchSize,
    shards,
    scenarios,
    workers: positiveInt('workers', values.workers, 1),
    verifyBatch: positiveInt('verify-batch', values['verify-batch'], 500),
    cpuProfDir: values['cpu-prof'] ?? null,
    workerHeapMb: values['worker-heap-mb'] === undefined ? null : positiveInt('worker-heap-mb', values['worker-heap-mb'], 0),
    seed: positiveInt('seed', values.seed, 1),
    cancelProbes: values['cancel-probes'] === '0' ? 0 : positiveInt('cancel-probes', values['cancel-probes'], 5),
    onlineRate,
    onlineUpdates,
  };
}
