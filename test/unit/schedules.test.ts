import type { CalendarSpecDescription } from '@temporalio/client';
import { calendarCron, checkCron, checkScheduleId, scheduleIdFor, scheduleOptions } from '../../cli/schedules';
import { checkCapacityTrimInput } from '../../workflows/capacity-trim';

describe('cron expressions', () => {
  test.each(['0 3 * * *', '*/15 * * * *', '0 4 1 1,4,7,10 *', '30 2 * * MON-FRI', '0 0 1-7 jan,jul sun', '  5   4 * * 0  '])('accepts %j', (expr) => {
    expect(checkCron(expr)).toBeNull();
  });

  test.each([
    ['0 3 * *', /has 5 fields .* got 4/],
    ['0 0 3 * * *', /got 6/],
    ['@daily', /got 1/],
    ['60 * * * *', /minute: "60" is outside 0-59/],
    ['0 24 * * *', /hour: "24" is outside 0-23/],
    ['0 0 0 * *', /day of month: "0" is outside 1-31/],
    ['0 0 * 13 *', /month: "13" is outside 1-12 \(or JAN-DEC\)/],
    ['0 0 * * 7', /day of week: "7" is outside 0-6 \(or SUN-SAT\)/],
    ['0 0 * * FRI-MON', /ends before it starts/],
    ['*/0 * * * *', /step below 1/],
    ['0 3 ? * *', /"\?" is not a value/],
  ])('refuses %j', (expr, message) => {
    expect(checkCron(expr)).toMatch(message);
  });
});

describe('schedule ids and options', () => {
  test('one id per environment and kind; only plandb ids pass', () => {
    expect(scheduleIdFor('prod-eu', 'trim')).toBe('plandb-prod-eu-trim-schedule');
    expect(checkScheduleId('plandb-prod-eu-drill-schedule')).toBeNull();
    expect(checkScheduleId('plandb-dev-backfill-schedule')).toMatch(/expected a plandb schedule id/);
  });

  test('a trim schedule starts capacityTrim as plandb-<env>-trim, with the environment attribute and overlap SKIP', () => {
    const o = scheduleOptions({ kind: 'trim', environment: 'dev', cron: '0 3 * * *', taskQueue: 'q', input: { environment: 'dev', maxRows: 5 } });
    expect(o).toEqual({
      scheduleId: 'plandb-dev-trim-schedule',
      spec: { cronExpressions: ['0 3 * * *'] },
      action: expect.objectContaining({ type: 'startWorkflow', workflowType: 'capacityTrim', workflowId: 'plandb-dev-trim', taskQueue: 'q', args: [{ environment: 'dev', maxRows: 5 }] }),
      policies: { overlap: 'SKIP' },
    });
    expect(o.action.typedSearchAttributes).toEqual([{ key: expect.objectContaining({ name: 'PlanDbEnvironment' }), value: 'dev' }]);
    expect(scheduleOptions({ kind: 'drill', environment: 'dev', cron: '0 4 1 1 *', taskQueue: 'q', input: { environment: 'dev' } }).action.workflowType).toBe('rollbackDrill');
  });
});

describe('calendarCron: Temporal keeps cron expressions as calendars; show them as cron again', () => {
  const every = <T>(start: T, end: T, step = 1) => [{ start, end, step }];
  const daily: CalendarSpecDescription = {
    second: every(0, 0),
    minute: every(0, 0),
    hour: every(3, 3),
    dayOfMonth: every(1, 31),
    month: every('JANUARY' as const, 'DECEMBER' as const),
    year: [],
    dayOfWeek: every('SUNDAY' as const, 'SATURDAY' as const),
    comment: '',
  };

  test('full ranges are *, single values and ranges as written, steps kept, names as numbers', () => {
    expect(calendarCron(daily)).toBe('0 3 * * *');
    expect(
      calendarCron({
        ...daily,
        minute: every(0, 59, 15),
        month: [
          { start: 'JANUARY', end: 'JANUARY', step: 1 },
          { start: 'APRIL', end: 'APRIL', step: 1 },
        ],
        dayOfWeek: every('MONDAY' as const, 'FRIDAY' as const),
      }),
    ).toBe('*/15 3 * 1,4 1-5');
  });
});

describe('capacityTrim input', () => {
  test('accepts the documented fields; names each problem', () => {
    expect(checkCapacityTrimInput({ environment: 'dev', maxRows: 10, dryRun: true })).toEqual([]);
    expect(checkCapacityTrimInput('dev')).toEqual(['the input must be a JSON object such as {"environment":"dev"}']);
    expect(checkCapacityTrimInput({ environment: 'Dev', maxRows: 1.5, dryRun: 'yes', batch: 1 })).toEqual([
      'unknown field "batch" (known: environment, maxRows, dryRun)',
      expect.stringMatching(/"environment" must be an environment name/),
      '"maxRows" must be a positive whole number, got 1.5',
      '"dryRun" must be true or false',
    ]);
  });
});
