import { s3Settings, s3Target, sha256Sidecar } from '../../activities/backup-s3';
import { ConfigError } from '../../config/errors';
import type { BackupConfig } from '../../config/schema';

const FILE = 'plan_db_production_20261127T103000Z.dump';

describe('S3 target and sidecar', () => {
  test.each([
    ['s3://backups', 'backups', FILE],
    ['s3://backups/', 'backups', FILE],
    ['s3://backups/plandb/prod/', 'backups', `plandb/prod/${FILE}`],
  ])('%s', (uri, bucket, key) => {
    expect(s3Target(uri, FILE)).toEqual({ bucket, key, uri: `s3://${bucket}/${key}` });
  });

  test("the sidecar is sha256sum's format, so `sha256sum -c` checks a download", () => {
    expect(sha256Sidecar('ab'.repeat(32), FILE)).toBe(`${'ab'.repeat(32)}  ${FILE}\n`);
  });
});

describe('s3Settings', () => {
  const backup = (extra: Partial<BackupConfig> = {}): BackupConfig => ({ enabled: true, dir: '/b', s3Uri: 's3://b', ...extra });
  const named: Partial<BackupConfig> = {
    s3EndpointEnv: 'T_S3_ENDPOINT',
    s3RegionEnv: 'T_S3_REGION',
    s3AccessKeyIdEnv: 'T_S3_KEY',
    s3SecretAccessKeyEnv: 'T_S3_SECRET',
  };

  test('values come from the named variables; a custom endpoint uses path-style URLs', () => {
    const settings = s3Settings(backup(named), 'production', {
      T_S3_ENDPOINT: 'http://127.0.0.1:9000',
      T_S3_REGION: 'eu-west-3',
      T_S3_KEY: 'AKIAEXAMPLE',
      T_S3_SECRET: 'wJalrXUtnFEMI',
    });
    expect(settings.config).toEqual(
      expect.objectContaining({
        endpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        region: 'eu-west-3',
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' },
      }),
    );
    expect(settings.secrets).toEqual(['AKIAEXAMPLE', 'wJalrXUtnFEMI']);
  });

  test('nothing named: AWS endpoint, default credential chain, AWS_REGION or us-east-1', () => {
    expect(s3Settings(backup(), 'production', {}).config).toEqual(
      expect.objectContaining({ endpoint: undefined, forcePathStyle: false, region: 'us-east-1', credentials: undefined }),
    );
    expect(s3Settings(backup(), 'production', { AWS_REGION: 'ap-northeast-1' }).config.region).toBe('ap-northeast-1');
  });

  test('a named variable that is not set is a config error naming the key and the variable', () => {
    expect(() => s3Settings(backup(named), 'production', { T_S3_ENDPOINT: 'http://x', T_S3_REGION: 'r', T_S3_KEY: 'k' })).toThrow(
      new ConfigError('environments.production.backup.s3SecretAccessKeyEnv: environment variable T_S3_SECRET is not set'),
    );
  });

  test('one key variable without the other is refused', () => {
    expect(() => s3Settings(backup({ s3AccessKeyIdEnv: 'T_S3_KEY' }), 'production', { T_S3_KEY: 'k' })).toThrow(/set together or not at all/);
  });
});
