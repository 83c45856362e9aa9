/**
 * The worker's scrape endpoint (SPEC §9): `GET /metrics` (the registry, with default process metrics) and
 * `GET /healthz`. Bound to 127.0.0.1 unless PLANDB_METRICS_HOST says otherwise: metrics name environments
 * and table sizes, which should not be public by accident.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const DEFAULT_METRICS_PORT = 9464;

export interface MetricsListen {
  host: string;
  /** 0: any free port. */
  port: number;
}

/** PLANDB_METRICS_HOST and PLANDB_METRICS_PORT, with an error that names the bad variable. */
export function metricsListenFromEnv(env: NodeJS.ProcessEnv): MetricsListen {
  const host = env.PLANDB_METRICS_HOST || DEFAULT_METRICS_HOST;
  const raw = env.PLANDB_METRICS_PORT;
  if (raw === undefined || raw === '') return { host, port: DEFAULT_METRICS_PORT };
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535)
    throw new Error(`PLANDB_METRICS_PORT: must be a port number 0-65535 (0: any free port), got "${raw}"`);
  return { host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface MetricsServer {
  /** The bound `host:port` (the real port when 0 was asked for). */
  address: string;
  url: string;
  close(): Promise<void>;
}

// prom-client refuses to register the default metrics twice on one registry.
const withDefaultMetrics = new WeakSet<Registry>();

export async function startMetricsServer(registry: Registry, listen: MetricsListen): Promise<MetricsServer> {
  if (!withDefaultMetrics.has(registry)) {
    collectDefaultMetrics({ register: registry });
    withDefaultMetrics.add(registry);
  }
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') return reply(res, 404, 'text/plain', 'not found: try /metrics or /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'text/plain', 'method not allowed\n');
    }
    if (path === '/healthz') return reply(res, 200, 'text/plain', 'ok\n');
    registry.metrics().then(
      (body) => reply(res, 200, registry.contentType, body),
      (err: Error) => reply(res, 500, 'text/plain', `collecting metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const address = formatHostPort(listen.host, port);
  return {
    address,
    url: `http://${address}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // A scraper's keep-alive connection would otherwise hold the shutdown up.
        server.closeAllConnections();
      }),
  };
}

function reply(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
