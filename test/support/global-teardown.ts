import fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __plandbTestStops?: (() => Promise<void>)[]; __plandbTestScratch?: string };
  for (const stop of g.__plandbTestStops ?? []) await stop();
  if (g.__plandbTestScratch) fs.rmSync(g.__plandbTestScratch, { recursive: true, force: true });
}
