/** Runs the CLI in-process (cli/main.ts) and captures what it prints. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import { withoutTuning } from './config';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `onStderr` sees each stderr write as it happens, for tests that watch a command while it runs. */
export async function runCli(args: string[], onStderr?: (text: string) => void): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    onStderr?.(chunk.toString());
    return true;
  });
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    stdout += `${parts.join(' ')}\n`;
  });
  const error = jest.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    stderr += `${parts.join(' ')}\n`;
    onStderr?.(`${parts.join(' ')}\n`);
  });
  try {
    const code = await main(['node', 'plandb', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
    error.mockRestore();
  }
}

/**
 * A config file for CLI runs against a test harness: its Temporal address and task queue, and these
 * environments. The caller removes `dir` when done.
 */
export function writeCliConfig(
  prefix: string,
  temporal: { address: string | undefined; taskQueue: string },
  environments: Record<string, unknown>,
): { dir: string; configPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const configPath = path.join(dir, 'plandb.config.json');
  fs.writeFileSync(
    configPath,
    JSON.stringify({ temporal, environments: withoutTuning(environments as Record<string, Record<string, unknown>>) }),
  );
  return { dir, configPath };
}
