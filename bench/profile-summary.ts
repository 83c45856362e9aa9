/**
 * `npm run bench:profile -- DIR|FILE... [--top N]`: sums the V8 CPU profiles that `npm run bench -- --cpu-prof DIR`
 * wrote (one per worker thread) into self and total milliseconds per function and self milliseconds per file,
 * so a change's effect on the worker's CPU can be read without DevTools.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileTotals {
  /** Sampled milliseconds, idle included. */
  sampledMs: number;
  /** Function key -> milliseconds spent in the function itself. */
  selfMs: Map<string, number>;
  /** Function key -> milliseconds with the function anywhere on the stack (recursion counted once). */
  totalMs: Map<string, number>;
  /** Script (file, or a V8 pseudo-node such as "(garbage collector)") -> self milliseconds. */
  fileMs: Map<string, number>;
}

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/dist\//, '');

function frameKey(f: CallFrame): string {
  return f.url ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}` : f.functionName;
}

const add = (m: Map<string, number>, key: string, ms: number): void => void m.set(key, (m.get(key) ?? 0) + ms);

export function emptyTotals(): ProfileTotals {
  return { sampledMs: 0, selfMs: new Map(), totalMs: new Map(), fileMs: new Map() };
}

/** Adds one profile to `into`: each sample is charged its time delta (V8 records the gap before it). */
export function addProfile(into: ProfileTotals, profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf || ms <= 0) continue;
    into.sampledMs += ms;
    add(into.selfMs, frameKey(leaf.callFrame), ms);
    add(into.fileMs, leaf.callFrame.url ? shortUrl(leaf.callFrame.url) : leaf.callFrame.functionName, ms);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = frameKey(byId.get(id)!.callFrame);
      if (!seen.has(key)) {
        seen.add(key);
        add(into.totalMs, key, ms);
      }
    }
  }
}

function top(m: Map<string, number>, n: number): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, ms]) => `${ms.toFixed(0).padStart(9)} ms  ${key}`)
    .join('\n');
}

export function formatTotals(t: ProfileTotals, n: number): string {
  const idle = t.selfMs.get('(idle)') ?? 0;
  return [
    `sampled ${t.sampledMs.toFixed(0)} ms, of which (idle) ${idle.toFixed(0)} ms: busy ${(t.sampledMs - idle).toFixed(0)} ms`,
    `\nself time by function (top ${n}):\n${top(t.selfMs, n)}`,
    `\ntotal time by function (top ${n}):\n${top(t.totalMs, n)}`,
    `\nself time by file (top ${n}):\n${top(t.fileMs, n)}`,
  ].join('\n');
}

function profileFiles(args: string[]): string[] {
  return args.flatMap((a) =>
    fs.statSync(a).isDirectory()
      ? fs
          .readdirSync(a)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(a, f))
      : [a],
  );
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
  const files = profileFiles(positionals);
  if (!files.length) {
    console.error('usage: npm run bench:profile -- DIR|FILE... [--top N]   (DIR as given to npm run bench -- --cpu-prof DIR)');
    process.exitCode = 2;
    return;
  }
  const totals = emptyTotals();
  for (const f of files) addProfile(totals, JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile);
  console.log(`${files.length} profile(s)\n${formatTotals(totals, Number(values.top))}`);
}

if (require.main === module) main();
