/**
 * temporal-dev.yml against the Compose specification's essentials (no Docker here to run
 * `docker compose config`): Compose v2's top-level keys, every service runnable (image or build),
 * ports in the short syntax, depends_on naming services that exist (healthy ones with a healthcheck),
 * volumes declared or present in the repository, and the worker image built from this repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../platform/project-root';

const root = projectRoot();
const compose = parse(fs.readFileSync(path.join(root, 'temporal-dev.yml'), 'utf8')) as Record<string, unknown>;
type Service = Record<string, unknown>;
const services = compose.services as Record<string, Service>;

// The Compose spec's top-level properties; `version` is obsolete in v2 and only draws a warning.
const TOP_LEVEL = new Set(['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include']);
// [[ip:]host:]container[/protocol], ports or ranges.
const PORT = /^((\d{1,3}\.){3}\d{1,3}:)?(\d{1,5}(-\d{1,5})?:)?\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/;
const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

function dependencies(service: Service): Record<string, { condition: string }> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps)
    ? Object.fromEntries(deps.map((d: string) => [d, { condition: 'service_started' }]))
    : (deps as Record<string, { condition: string }>);
}

describe('temporal-dev.yml', () => {
  test('Compose v2: a project name and only the specification top-level keys', () => {
    expect(compose.name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect(Object.keys(compose).filter((k) => !TOP_LEVEL.has(k) && !k.startsWith('x-'))).toEqual([]);
    expect(Object.keys(services).length).toBeGreaterThan(0);
  });

  test('every service has an image with a pinned tag, or a build whose context and Dockerfile exist', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, Boolean(service.image || service.build)]).toEqual([name, true]);
      if (service.image) expect([name, service.image]).toEqual([name, expect.stringMatching(/^[a-z0-9./_-]+:[\w][\w.-]*$/)]);
      if (service.build) {
        const build =
          typeof service.build === 'string' ? { context: service.build } : (service.build as { context: string; dockerfile?: string });
        expect(fs.existsSync(path.join(root, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
      }
    }
  });

  test('ports in the short syntax, no host port used twice', () => {
    const hostPorts = Object.values(services).flatMap((s) => (s.ports as string[] | undefined) ?? []);
    for (const port of hostPorts) expect(port).toMatch(PORT);
    const hosts = hostPorts.map((p) => p.split(':').slice(-2, -1)[0]);
    expect(new Set(hosts).size).toBe(hosts.length);
  });

  test('depends_on names existing services; service_healthy ones have a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(dependencies(service))) {
        expect([name, dep, dep in services, CONDITIONS.has(condition)]).toEqual([name, dep, true, true]);
        if (condition === 'service_healthy') expect([dep, Boolean(services[dep].healthcheck)]).toEqual([dep, true]);
      }
    }
  });

  test('named volumes are declared at the top level; bind mounts point at files in the repository', () => {
    const declared = Object.keys((compose.volumes as Record<string, unknown>) ?? {});
    for (const service of Object.values(services)) {
      for (const volume of (service.volumes as string[] | undefined) ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.') || source.startsWith('/')) expect(fs.existsSync(path.join(root, source))).toBe(true);
        else expect(declared).toContain(source);
      }
    }
  });

  test('current images: the Temporal CLI image running start-dev (not auto-setup), PostgreSQL 15, and the worker', () => {
    const images = Object.values(services).map((s) => s.image as string | undefined);
    expect(images.filter((i) => i?.startsWith('temporalio/auto-setup') || i?.startsWith('temporalio/admin-tools'))).toEqual([]);
    const temporal = Object.values(services).find((s) => (s.image as string | undefined)?.startsWith('temporalio/temporal:'))!;
    expect((temporal.command as string[]).slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(services['app-postgresql'].image).toBe('postgres:15');
    const worker = services['plandb-worker'];
    expect(Object.keys(dependencies(worker)).sort()).toEqual(['app-postgresql', 'temporal']);
    expect(worker.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  test('node 20, npm ci, npm run build, and the worker as the command', () => {
    expect(dockerfile).toMatch(/^FROM node:20\S*/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile.trim().split('\n').pop()).toBe('CMD ["node", "bin/plandb.js", "worker"]');
  });

  test('.dockerignore keeps the host node_modules, dist and local state out of the build context', () => {
    const ignored = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.plandb', '.tools', 'plandb.config.json']));
  });
});
