import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  backupToolsWarning,
  checkDumpCompatible,
  locatePgTools,
  locatePgToolVersions,
  parsePgToolVersion,
  PgDumpTooOldError,
  PgToolsError,
  pgEnvFromUrl,
  redactToolOutput,
  serverVersionFromNum,
} from '../../db/pg-tools';

describe('pg tool versions', () => {
  test.each([
    ['pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)', '15.20', 15],
    ['pg_restore (PostgreSQL) 14.11', '14.11', 14],
    ['pg_dump (PostgreSQL) 17beta1', '17beta1', 17],
    ['pg_dump (PostgreSQL) 16.0\n', '16.0', 16],
  ])('%j', (output, version, major) => {
    expect(parsePgToolVersion(output)).toEqual({ version, major });
  });

  test('output without a version is an error that quotes it', () => {
    expect(() => parsePgToolVersion('command not found')).toThrow(/cannot read a PostgreSQL version from "command not found"/);
  });

  test('server_version_num', () => {
    expect(serverVersionFromNum(150018)).toEqual({ version: '15.18', major: 15 });
    expect(serverVersionFromNum(170002)).toEqual({ version: '17.2', major: 17 });
  });
});

describe('checkDumpCompatible', () => {
  test('same or newer pg_dump is fine', () => {
    expect(() => checkDumpCompatible(15, 150018)).not.toThrow();
    expect(() => checkDumpCompatible(17, 150018)).not.toThrow();
  });

  test('an older pg_dump fails naming both versions and the fix', () => {
    let error: unknown;
    try {
      checkDumpCompatible(14, 150018, 'pg_dump 14.11 (/opt/pg14/bin/pg_dump)');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PgDumpTooOldError);
    expect((error as Error).name).toBe('PgDumpTooOld');
    const message = (error as Error).message;
    expect(message).toContain('pg_dump 14.11 (/opt/pg14/bin/pg_dump)');
    expect(message).toContain('PostgreSQL 15.18 server');
    expect(message).toContain('apt-get install -y postgresql-client-15');
    expect(message).toContain('PLANDB_PG_BIN_DIR');
  });
});

describe('pgEnvFromUrl', () => {
  test('every part of the URL becomes a PG* variable, decoded', () => {
    expect(pgEnvFromUrl('postgres://app%40corp:p%40ss%2Fw0rd@db.internal:6543/plans%20db?sslmode=verify-full&sslrootcert=/etc/ca.pem')).toEqual({
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'app@corp',
      PGPASSWORD: 'p@ss/w0rd',
      PGDATABASE: 'plans db',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/ca.pem',
    });
  });

  test('IPv6 host without brackets; absent parts stay unset', () => {
    expect(pgEnvFromUrl('postgresql://[::1]/plandb')).toEqual({ PGHOST: '::1', PGDATABASE: 'plandb' });
  });

  test('a socket directory in the host parameter wins over the host part', () => {
    expect(pgEnvFromUrl('postgres://plandb@localhost/plandb?host=/var/run/postgresql')).toEqual({
      PGHOST: '/var/run/postgresql',
      PGUSER: 'plandb',
      PGDATABASE: 'plandb',
    });
  });

  test('an unparseable URL is refused without echoing it', () => {
    expect(() => pgEnvFromUrl('not a url with s3cret')).toThrow(/^the database URL cannot be parsed$/);
  });
});

describe('redactToolOutput', () => {
  test('masks the password, raw and encoded, and URLs', () => {
    const text = 'FATAL: password p@ss/w0rd rejected (p%40ss%2Fw0rd) for postgres://u:other@h/db';
    const out = redactToolOutput(text, { PGPASSWORD: 'p@ss/w0rd' });
    expect(out).not.toContain('p@ss/w0rd');
    expect(out).not.toContain('p%40ss%2Fw0rd');
    expect(out).not.toContain('other');
    expect(out).toContain('FATAL: password *** rejected');
  });
});

describe('locatePgTools', () => {
  let root: string;
  const bin = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const tool of ['pg_dump', 'pg_restore']) fs.writeFileSync(path.join(dir, tool), '#!/bin/sh\n', { mode: 0o755 });
    return dir;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-pgtools-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('PLANDB_PG_BIN_DIR comes first', () => {
    const custom = bin(path.join(root, 'custom'));
    bin(path.join(root, 'debian', '16', 'bin'));
    const tools = locatePgTools({ PLANDB_PG_BIN_DIR: custom, PATH: '' }, path.join(root, 'debian'));
    expect(tools).toEqual({ pgDump: path.join(custom, 'pg_dump'), pgRestore: path.join(custom, 'pg_restore') });
  });

  test('a PLANDB_PG_BIN_DIR without the tools is an error, not a fallback', () => {
    bin(path.join(root, 'debian', '16', 'bin'));
    expect(() => locatePgTools({ PLANDB_PG_BIN_DIR: path.join(root, 'nothing'), PATH: '' }, path.join(root, 'debian'))).toThrow(PgToolsError);
  });

  test("then Debian's highest major (numerically), then PATH", () => {
    for (const major of ['9', '15', '16']) bin(path.join(root, 'debian', major, 'bin'));
    fs.mkdirSync(path.join(root, 'debian', 'common'));
    const onPath = bin(path.join(root, 'path'));
    expect(locatePgTools({ PATH: onPath }, path.join(root, 'debian')).pgDump).toBe(path.join(root, 'debian', '16', 'bin', 'pg_dump'));
    expect(locatePgTools({ PATH: onPath }, path.join(root, 'none')).pgDump).toBe(path.join(onPath, 'pg_dump'));
  });

  test('nothing found: says where it looked and how to fix it', () => {
    expect(() => locatePgTools({ PATH: root }, path.join(root, 'none'))).toThrow(/postgresql-client-15.*PLANDB_PG_BIN_DIR/);
  });
});

describe('backupToolsWarning: what a start says about pg_dump/pg_restore', () => {
  const envs = { dev: { backup: { enabled: true } }, staging: { backup: { enabled: true } }, qa: { backup: { enabled: false } } };
  const tools = { pgDump: '/opt/pg/bin/pg_dump', pgRestore: '/opt/pg/bin/pg_restore' };
  const v = (version: string) => parsePgToolVersion(`pg_dump (PostgreSQL) ${version}`);

  test('nothing when both are at least 15', () => {
    expect(backupToolsWarning(envs, { tools, dump: v('15.20'), restore: v('17.2') })).toBeNull();
  });

  test('nothing when no environment backs up, even without the tools', () => {
    expect(backupToolsWarning({ qa: envs.qa }, { error: 'pg_dump/pg_restore not found' })).toBeNull();
  });

  test('missing tools: the environments whose backups will be refused, and why', () => {
    expect(backupToolsWarning(envs, { error: 'pg_dump/pg_restore not found (...): install ...' })).toBe(
      'backups of dev, staging will be refused: pg_dump/pg_restore not found (...): install ...',
    );
  });

  test('an old pg_dump: which one, and what to install', () => {
    expect(backupToolsWarning(envs, { tools, dump: v('14.11'), restore: v('15.20') })).toBe(
      'backups of dev, staging will be refused: pg_dump 14.11 (/opt/pg/bin/pg_dump) older than PostgreSQL 15; ' +
        'install postgresql-client-15 (apt-get install -y postgresql-client-15) or set PLANDB_PG_BIN_DIR to a directory holding pg_dump and pg_restore 15 or newer',
    );
  });

  test('both old, against a newer required major', () => {
    expect(backupToolsWarning(envs, { tools, dump: v('15.20'), restore: v('15.20') }, 16)).toMatch(
      /^backups of dev, staging will be refused: pg_dump 15\.20 \(\/opt\/pg\/bin\/pg_dump\) and pg_restore 15\.20 \(\/opt\/pg\/bin\/pg_restore\) older than PostgreSQL 16; install postgresql-client-16/,
    );
  });
});

describe('locatePgToolVersions', () => {
  test('a PLANDB_PG_BIN_DIR without the tools comes back as the reason, not a throw', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-no-pg-'));
    try {
      expect(await locatePgToolVersions({ PLANDB_PG_BIN_DIR: empty, PATH: '' })).toEqual({
        error: `PLANDB_PG_BIN_DIR=${empty} does not hold executable pg_dump and pg_restore`,
      });
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });
});
