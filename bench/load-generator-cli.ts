/**
 * `node dist/bench/load-generator-cli.js --url-env VAR --rate N [--update-fraction F] [--series N] [--seconds N]`:
 * the load generator (bench/load-generator.ts) against the database whose URL is in $VAR, until --seconds
 * pass or SIGINT/SIGTERM; then one JSON line with what it wrote. The URL is read from the variable so it
 * never appears in a process list.
 */
import { parseArgs } from 'node:util';
import { ENV_VAR_NAME_PATTERN } from '../config/schema';
import { checkLoadGeneratorOptions, startLoadGenerator, type LoadGeneratorOptions } from './load-generator';

const USAGE = `usage: node dist/bench/load-generator-cli.js --url-env VAR --rate N [--update-fraction F] [--connections N] [--series N]
                                               [--seed N] [--seconds N] [--honour-maintenance]
  --url-env VAR        environment variable holding the database URL (e.g. PLANDB_STAGING_DATABASE_URL)
  --rate N             new artifact versions per second
  --update-fraction F  in-place payload updates per inserted version (default 0)
  --connections N      sessions writing at once, like several application servers (default 1)
  --series N           series rows per new document (default 20)
  --seed N             random seed (default 1)
  --seconds N          stop after N seconds (default: at SIGINT or SIGTERM)
  --honour-maintenance refuse the writes due while plandb's db-flag maintenance is on, as the application does;
                       once it is lifted again the application has cut over: it stops and reports`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]): { urlEnv: string; seconds: number | null; options: LoadGeneratorOptions } {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        'url-env': { type: 'string' },
        rate: { type: 'string' },
        'update-fraction': { type: 'string' },
        series: { type: 'string' },
        connections: { type: 'string' },
        seed: { type: 'string' },
        seconds: { type: 'string' },
        'honour-maintenance': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    usage((err as Error).message);
  }
  const urlEnv = values['url-env'];
  if (!urlEnv || !ENV_VAR_NAME_PATTERN.test(urlEnv)) usage('--url-env must name an environment variable (A-Z, 0-9, _)');
  if (values.rate === undefined) usage('--rate is required');
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) usage(`--${flag} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const options: LoadGeneratorOptions = {
    rate: num('rate', values.rate)!,
    updateFraction: num('update-fraction', values['update-fraction']),
    series: num('series', values.series),
    connections: num('connections', values.connections),
    seed: num('seed', values.seed),
    honourMaintenance: values['honour-maintenance'] ?? false,
  };
  const problems = checkLoadGeneratorOptions(options);
  if (problems.length) usage(problems.join('; '));
  const seconds = num('seconds', values.seconds) ?? null;
  if (seconds !== null && !(seconds > 0)) usage('--seconds must be > 0');
  return { urlEnv, seconds, options };
}

async function main(): Promise<void> {
  const { urlEnv, seconds, options } = parse(process.argv.slice(2));
  const url = process.env[urlEnv];
  if (!url) usage(`${urlEnv} is not set`);
  const generator = await startLoadGenerator(url, options);
  await new Promise<void>((resolve) => {
    if (seconds !== null) setTimeout(resolve, seconds * 1000);
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    void generator.ended.then(resolve, resolve);
  });
  const counts = await generator.stop();
  const ids = counts.insertedIds;
  process.stdout.write(
    `${JSON.stringify({
      inserted: ids.length,
      updated: counts.updatedIds.length,
      refusedInMaintenance: counts.refusedInMaintenance,
      cutOverAtSeconds: counts.cutOverAtSeconds,
      firstInsertedId: ids[0] ?? null,
      lastInsertedId: ids.at(-1) ?? null,
      seconds: Math.round(counts.seconds * 10) / 10,
    })}\n`,
  );
  // The timer or the other signal listener would keep the process alive.
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`load generator failed: ${(err as Error).message}\n`);
  process.exit(1);
});
