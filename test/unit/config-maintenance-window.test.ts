import { configErrorMap, formatIssues } from '../../config/errors';
import { resolvePolicy } from '../../config/policy';
import { plandbConfigFileSchema } from '../../config/schema';

const parse = (environment: Record<string, unknown>) =>
  plandbConfigFileSchema.safeParse(
    { environments: { production: { databaseUrlEnv: 'X', maintenance: { mode: 'db-flag' }, ...environment } } },
    { error: configErrorMap },
  );
const problems = (environment: Record<string, unknown>) => {
  const result = parse(environment);
  return result.success ? [] : formatIssues(result.error.issues);
};

describe('maintenanceWindow', () => {
  test('absent by default: maintenance goes on as soon as the migration gets there', () => {
    expect(parse({}).data?.environments.production.maintenanceWindow).toBeNull();
  });

  test('days, hours, time zone and maximum length, resolved into the policy', () => {
    const result = parse({ maintenanceWindow: { timeZone: 'Asia/Tokyo', days: 'fri-sun', hours: '23:00-05:00', maxLength: '4h' } });
    const window = { timeZone: 'Asia/Tokyo', days: ['sun', 'fri', 'sat'], hours: '23:00-05:00', maxLengthMs: 14_400_000 };
    expect(result.data?.environments.production.maintenanceWindow).toEqual(window);
    expect(resolvePolicy('production', result.data!.environments.production).maintenanceWindow).toEqual(window);
  });

  test('days default to every day; a list of names is fine', () => {
    expect(
      parse({ maintenanceWindow: { timeZone: 'UTC', hours: '01:00-02:00' } }).data?.environments.production.maintenanceWindow?.days,
    ).toHaveLength(7);
    expect(
      parse({ maintenanceWindow: { timeZone: 'UTC', days: ['sat', 'sun'], hours: '01:00-02:00' } }).data?.environments.production
        .maintenanceWindow,
    ).toMatchObject({
      days: ['sun', 'sat'],
      maxLengthMs: null,
    });
  });

  test.each([
    [{ timeZone: 'Mars/Olympus', hours: '01:00-02:00' }, 'environments.production.maintenanceWindow.timeZone: must be an IANA time zone'],
    [{ timeZone: 'UTC', hours: '1am-2am' }, 'environments.production.maintenanceWindow.hours: must be a range of wall times'],
    [{ timeZone: 'UTC', hours: '02:00-02:00' }, 'environments.production.maintenanceWindow.hours: starts and ends at the same time'],
    [
      { timeZone: 'UTC', hours: '01:00-02:00', days: 'weekends' },
      'environments.production.maintenanceWindow.days: has an entry that is not a day',
    ],
    [{ timeZone: 'UTC', hours: '01:00-02:00', days: 6 }, 'environments.production.maintenanceWindow.days: must be day names'],
    [
      { timeZone: 'UTC', hours: '01:00-02:00', maxLength: '4 hours' },
      'environments.production.maintenanceWindow.maxLength: must be a duration',
    ],
    [{ timeZone: 'UTC', hours: '01:00-02:00', length: '4h' }, 'environments.production.maintenanceWindow'],
    [{ hours: '01:00-02:00' }, 'environments.production.maintenanceWindow.timeZone: is required'],
  ])('%j is refused, naming the key', (maintenanceWindow, message) => {
    const found = problems({ maintenanceWindow });
    expect(found.some((p) => p.startsWith(message))).toBe(true);
  });

  test('with no maintenance switch there is nothing to time', () => {
    expect(problems({ maintenance: { mode: 'none' }, maintenanceWindow: { timeZone: 'UTC', hours: '01:00-02:00' } })).toEqual([
      'environments.production.maintenanceWindow: is only used when maintenance.mode is "db-flag" or "http"',
    ]);
  });

  test('messages never repeat the value typed', () => {
    const secret = 'postgres://user:s3cret@db/prod';
    for (const key of ['timeZone', 'hours', 'days'])
      expect(problems({ maintenanceWindow: { timeZone: 'UTC', hours: '01:00-02:00', [key]: secret } }).join('\n')).not.toContain('s3cret');
  });
});
