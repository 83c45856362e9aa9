import { parseDuration, plandbConfigFileSchema } from '../../config/schema';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0m', '1.5h', '10', 'h', '1w', ' 1h', '-1h'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});

describe('plandbConfigFileSchema', () => {
  it('accepts any lowercase environment name, not only the usual three', () => {
    const result = plandbConfigFileSchema.safeParse({
      environments: { qa: { databaseUrlEnv: 'QA_URL' }, 'eu-west-2': { databaseUrlEnv: 'EU_URL' } },
    });
    expect(result.success).toBe(true);
    expect(result.data?.environments['eu-west-2'].backup.dir).toBe('.plandb/backups/eu-west-2');
  });

  it.each(['Dev', '1dev', 'dev_1', 'a'.repeat(32), ''])('rejects the environment name %j', (name) => {
    const result = plandbConfigFileSchema.safeParse({ environments: { [name]: { databaseUrlEnv: 'X' } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['environments', name]);
  });
});

describe('backfill.bulkLoad', () => {
  const backfillOf = (backfill: Record<string, unknown>) => plandbConfigFileSchema.safeParse({ environments: { dev: { databaseUrlEnv: 'X', backfill } } });

  it('defaults to auto with 512MB of maintenance_work_mem', () => {
    const result = backfillOf({});
    expect(result.data?.environments.dev.backfill).toMatchObject({ bulkLoad: 'auto', bulkLoadMaintenanceWorkMem: '512MB' });
  });

  it('accepts off and a memory size in kB, MB or GB', () => {
    const result = backfillOf({ bulkLoad: 'off', bulkLoadMaintenanceWorkMem: '2GB' });
    expect(result.data?.environments.dev.backfill).toMatchObject({ bulkLoad: 'off', bulkLoadMaintenanceWorkMem: '2GB' });
  });

  it.each([
    [{ bulkLoad: 'on' }, 'bulkLoad'],
    [{ bulkLoad: true }, 'bulkLoad'],
    [{ bulkLoadMaintenanceWorkMem: '512' }, 'bulkLoadMaintenanceWorkMem'],
    [{ bulkLoadMaintenanceWorkMem: "512MB'; DROP TABLE plans; --" }, 'bulkLoadMaintenanceWorkMem'],
    [{ bulkLoadMaintenanceWorkMem: '0MB' }, 'bulkLoadMaintenanceWorkMem'],
  ])('rejects %j', (backfill, key) => {
    const result = backfillOf(backfill);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['environments', 'dev', 'backfill', key]);
  });
});
