/**
 * moto's S3-compatible server on 127.0.0.1: the local stand-in for backup storage in `plandb dev` and
 * the tests. moto keeps everything in memory, so buckets and objects are gone once it stops.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { projectRoot } from '../platform/project-root';
import { freePort } from './embedded-postgres';

type Installer = typeof import('../scripts/install-moto');
// The installer is plain JS under scripts/ (it runs before any build), so load it from the project root.
const installer = (): Installer => require(path.join(projectRoot(), 'scripts', 'install-moto.js'));

/** moto accepts any keys; these only have to be the same on both sides. */
export const MOTO_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'moto-dummy-key-id', secretAccessKey: 'moto-dummy-secret' };

export interface MotoOptions {
  /** Random free port when omitted. */
  port?: number;
  log?: (msg: string) => void;
}

export interface RunningMoto {
  endpoint: string;
  createBucket(bucket: string): Promise<void>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

async function waitUntilServing(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ok = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`moto's S3 server did not start on ${endpoint} (npm run setup:moto installs it):\n${output().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts moto (installing the pinned version into .tools/moto first when it is not there). */
export async function startMoto(opts: MotoOptions = {}): Promise<RunningMoto> {
  const log = opts.log ?? (() => undefined);
  if (installer().installedVersion() !== installer().MOTO_VERSION) {
    log(`moto not found; installing moto ${installer().MOTO_VERSION} from the Python package index into .tools/moto`);
  }
  const { python, pythonPath } = installer().installMoto({ quiet: true });
  const port = opts.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: [pythonPath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
  });
  // Kept for the start error only: moto logs every request.
  const keep = (c: Buffer) => (output = (output + c.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  // A process that exits without stop() (embedded-postgres's exit hook ends it on SIGINT) takes moto along.
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    process.off('exit', kill);
    kill();
    await exited;
  };
  try {
    await waitUntilServing(endpoint, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    createBucket: async (bucket) => {
      const s3 = new S3Client({ endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: MOTO_CREDENTIALS });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        s3.destroy();
      }
    },
    stop,
  };
}
