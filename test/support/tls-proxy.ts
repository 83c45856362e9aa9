/**
 * A TLS-terminating gRPC proxy (Debian's nginx) in front of the shared Temporal dev server, requiring
 * a client certificate: what a secured self-hosted cluster looks like to plandb. Certificates are made
 * with the openssl CLI (node:crypto cannot issue them).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../runtime/embedded-postgres';
import { waitFor } from './backfill';

export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface TlsProxy {
  /** `127.0.0.1:<port>`: TLS, client certificate required. */
  address: string;
  files: TlsFiles;
  /** nginx's error log so far (why it refused a handshake). */
  errorLog(): string;
  stop(): Promise<void>;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, both signed by the CA. */
export function makeCertificates(dir: string): TlsFiles {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=plandb test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = (name: string, subject: string, extensions: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      String(randomInt(1, 2 ** 47)),
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  issue('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=plandb-worker', 'extendedKeyUsage=clientAuth\n');
  const at = (f: string) => path.join(dir, f);
  return {
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
}

/** nginx from $NGINX, PATH or Debian's /usr/sbin (not on a non-root PATH). */
function nginxBinary(): string {
  const candidates = [process.env.NGINX, ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'nginx')), '/usr/sbin/nginx'];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Error('nginx not found: install it (Debian: apt-get install --no-install-recommends nginx-light) or set NGINX');
  return found;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function startTlsProxy(upstream: string): Promise<TlsProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-tls-'));
  const files = makeCertificates(dir);
  const port = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  const conf = `
user ${os.userInfo().username};
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 128; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${files.serverCert};
    ssl_certificate_key ${files.serverKey};
    ssl_client_certificate ${files.caCert};
    ssl_verify_client on;
    # Workers long-poll for about a minute: nginx's 60 s default would cut every poll.
    keepalive_timeout 600s;
    client_body_timeout 600s;
    location / {
      grpc_pass grpc://${upstream};
      grpc_read_timeout 600s;
      grpc_send_timeout 600s;
    }
  }
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const child: ChildProcess = spawn(nginxBinary(), ['-p', dir, '-e', errorLog, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readLog = () => (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}${readLog()}`);
        return listening(port);
      },
      30_000,
      'nginx to listen',
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    address: `127.0.0.1:${port}`,
    files,
    errorLog: readLog,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
