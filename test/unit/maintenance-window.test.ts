import {
  checkTimeZone,
  estimateMaintenanceSeconds,
  formatInZone,
  instantOfWallTime,
  nextWindow,
  parseWindowDays,
  parseWindowHours,
  windowFit,
  type MaintenanceWindowSpec,
} from '../../model/maintenance-window';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const spec = (s: Partial<MaintenanceWindowSpec>): MaintenanceWindowSpec => ({
  timeZone: 'UTC',
  days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
  hours: '01:00-05:00',
  maxLengthMs: null,
  ...s,
});
const window = (s: Partial<MaintenanceWindowSpec>, now: string) => {
  const w = nextWindow(spec(s), at(now));
  return [iso(w.opensAtMs), iso(w.closesAtMs)];
};

describe('parsing', () => {
  test('hours, with and without seconds, and crossing midnight', () => {
    expect(parseWindowHours('01:00-05:00')).toEqual({ startSec: 3600, endSec: 18000, crossesMidnight: false });
    expect(parseWindowHours('23:30-02:00')).toEqual({ startSec: 84600, endSec: 7200, crossesMidnight: true });
    expect(parseWindowHours('10:00:05-10:00:15')).toEqual({ startSec: 36005, endSec: 36015, crossesMidnight: false });
  });

  test.each(['1:00-5:00', '01:00', '01:00-24:00', '01:60-02:00', '01:00-02:00-03:00', ''])('hours %j are refused', (text) => {
    expect(() => parseWindowHours(text)).toThrow('must be a range of wall times such as "01:00-05:00"');
  });

  test('a window of no length is refused', () => {
    expect(() => parseWindowHours('03:00-03:00')).toThrow('starts and ends at the same time');
  });

  test('days as names, ranges (wrapping over the weekend) and "*", in week order', () => {
    expect(parseWindowDays(['sun', 'sat'])).toEqual(['sun', 'sat']);
    expect(parseWindowDays('mon-fri')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parseWindowDays('fri-mon')).toEqual(['sun', 'mon', 'fri', 'sat']);
    expect(parseWindowDays('Sat, sun,sat')).toEqual(['sun', 'sat']);
    expect(parseWindowDays('*')).toHaveLength(7);
  });

  test.each([['funday'], [['mon', 'xyz']], ['mon-xyz'], [[]]])('days %j are refused', (days) => {
    expect(() => parseWindowDays(days)).toThrow(/not a day|at least one day/);
  });

  test('time zones are IANA names known to Intl', () => {
    expect(checkTimeZone('Europe/Berlin')).toBeNull();
    expect(checkTimeZone('Asia/Tokyo')).toBeNull();
    expect(checkTimeZone('UTC')).toBeNull();
    expect(checkTimeZone('Mars/Olympus')).toMatch(/must be an IANA time zone/);
  });
});

describe('next window', () => {
  test("before today's window: today's", () => {
    expect(window({}, '2026-12-02T00:30:00Z')).toEqual(['2026-12-02T01:00:00.000Z', '2026-12-02T05:00:00.000Z']);
  });

  test('already inside a window: that window, from its opening', () => {
    expect(window({}, '2026-12-02T03:00:00Z')).toEqual(['2026-12-02T01:00:00.000Z', '2026-12-02T05:00:00.000Z']);
  });

  test("at the close: the next day's", () => {
    expect(window({}, '2026-12-02T05:00:00Z')).toEqual(['2026-12-03T01:00:00.000Z', '2026-12-03T05:00:00.000Z']);
  });

  test('a window crossing midnight that opened yesterday is still open', () => {
    expect(window({ hours: '22:00-02:00' }, '2026-12-02T01:00:00Z')).toEqual(['2026-12-01T22:00:00.000Z', '2026-12-02T02:00:00.000Z']);
    expect(window({ hours: '22:00-02:00' }, '2026-12-02T03:00:00Z')).toEqual(['2026-12-02T22:00:00.000Z', '2026-12-03T02:00:00.000Z']);
  });

  test('a midnight-crossing window belongs to the day it opens', () => {
    // 2026-12-05 is a Saturday: Friday night's window does not count, Saturday's runs into Sunday.
    expect(window({ hours: '23:00-03:00', days: ['sat'] }, '2026-12-05T01:00:00Z')).toEqual([
      '2026-12-05T23:00:00.000Z',
      '2026-12-06T03:00:00.000Z',
    ]);
    expect(window({ hours: '23:00-03:00', days: ['sat'] }, '2026-12-06T02:00:00Z')).toEqual([
      '2026-12-05T23:00:00.000Z',
      '2026-12-06T03:00:00.000Z',
    ]);
  });

  test("weekend-only: from a Wednesday, Saturday's", () => {
    expect(window({ days: ['sat', 'sun'] }, '2026-12-02T12:00:00Z')).toEqual(['2026-12-05T01:00:00.000Z', '2026-12-05T05:00:00.000Z']);
  });

  test("weekdays from a Saturday: Monday's", () => {
    expect(window({ days: parseWindowDays('mon-fri') }, '2026-12-05T12:00:00Z')).toEqual([
      '2026-12-07T01:00:00.000Z',
      '2026-12-07T05:00:00.000Z',
    ]);
  });

  test("the day is the zone's day: Tokyo's Saturday 01:00 is Friday 16:00 UTC", () => {
    expect(window({ timeZone: 'Asia/Tokyo', days: ['sat'] }, '2026-12-02T00:00:00Z')).toEqual([
      '2026-12-04T16:00:00.000Z',
      '2026-12-04T20:00:00.000Z',
    ]);
  });

  test('a window after a refused one: pass its close', () => {
    const first = nextWindow(spec({ days: ['sat', 'sun'] }), at('2026-12-05T02:00:00Z'));
    const second = nextWindow(spec({ days: ['sat', 'sun'] }), first.closesAtMs);
    expect([iso(second.opensAtMs), iso(second.closesAtMs)]).toEqual(['2026-12-06T01:00:00.000Z', '2026-12-06T05:00:00.000Z']);
  });
});

describe('DST in Europe/Berlin', () => {
  const berlin = { timeZone: 'Europe/Berlin' };

  test('a normal winter night is CET (UTC+1), a summer night CEST (UTC+2)', () => {
    expect(window(berlin, '2026-01-10T12:00:00Z')).toEqual(['2026-01-11T00:00:00.000Z', '2026-01-11T04:00:00.000Z']);
    expect(window(berlin, '2026-07-10T12:00:00Z')).toEqual(['2026-07-10T23:00:00.000Z', '2026-07-11T03:00:00.000Z']);
  });

  test('spring forward (2026-03-29 02:00 → 03:00): 01:00-05:00 lasts three hours', () => {
    expect(window(berlin, '2026-03-28T12:00:00Z')).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T03:00:00.000Z']);
  });

  test('spring forward: an opening in the skipped hour moves forward by the gap', () => {
    // 02:30 does not exist that night: it opens at 03:30 CEST (01:30Z), the close 04:00 CEST is 02:00Z.
    expect(window({ ...berlin, hours: '02:30-04:00' }, '2026-03-28T12:00:00Z')).toEqual([
      '2026-03-29T01:30:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  test('fall back (2026-10-25 03:00 → 02:00): 01:00-05:00 lasts five hours', () => {
    expect(window(berlin, '2026-10-24T12:00:00Z')).toEqual(['2026-10-24T23:00:00.000Z', '2026-10-25T04:00:00.000Z']);
  });

  test('fall back: a repeated wall time is its first occurrence', () => {
    expect(iso(instantOfWallTime('Europe/Berlin', Date.UTC(2026, 9, 25, 2, 30)))).toBe('2026-10-25T00:30:00.000Z');
    expect(window({ ...berlin, hours: '02:30-03:30' }, '2026-10-24T12:00:00Z')).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T02:30:00.000Z',
    ]);
  });

  test('a window crossing midnight over the spring change', () => {
    expect(window({ ...berlin, hours: '23:00-04:00' }, '2026-03-28T12:00:00Z')).toEqual([
      '2026-03-28T22:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  test('formatted in the zone with its offset of the day', () => {
    expect(formatInZone(at('2026-03-29T00:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T01:00:00+01:00 Europe/Berlin');
    expect(formatInZone(at('2026-03-29T03:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T05:00:00+02:00 Europe/Berlin');
    expect(formatInZone(at('2026-12-04T16:00:00Z'), 'Asia/Tokyo')).toBe('2026-12-05T01:00:00+09:00 Asia/Tokyo');
    expect(formatInZone(at('2026-12-04T16:00:00Z'), 'America/St_Johns')).toBe('2026-12-04T12:30:00-03:30 America/St_Johns');
  });
});

describe('whether the work fits', () => {
  const w = { opensAtMs: at('2026-12-02T01:00:00Z'), closesAtMs: at('2026-12-02T05:00:00Z') };

  test('the estimate: pending artifacts at the measured rate, none without a rate', () => {
    expect(estimateMaintenanceSeconds({ pendingArtifacts: 1000, artifactsPerSecond: 300 })).toBe(4);
    expect(estimateMaintenanceSeconds({ pendingArtifacts: 0, artifactsPerSecond: null })).toBe(0);
    expect(estimateMaintenanceSeconds({ pendingArtifacts: 5, artifactsPerSecond: null })).toBeNull();
    expect(estimateMaintenanceSeconds({ pendingArtifacts: 5, artifactsPerSecond: 0 })).toBeNull();
  });

  test('before the window: its whole length, capped by maxLength', () => {
    expect(windowFit(w, at('2026-12-01T12:00:00Z'), null, 14_400)).toEqual({ budgetSeconds: 14_400, estimateSeconds: 14_400, fits: true });
    expect(windowFit(w, at('2026-12-01T12:00:00Z'), 3_600_000, 3_601)).toEqual({
      budgetSeconds: 3_600,
      estimateSeconds: 3_601,
      fits: false,
    });
  });

  test('inside the window: what is left of it', () => {
    expect(windowFit(w, at('2026-12-02T04:00:00Z'), null, 3_601)).toEqual({ budgetSeconds: 3_600, estimateSeconds: 3_601, fits: false });
  });

  test('no estimate: it cannot judge and lets the migration go ahead', () => {
    expect(windowFit(w, at('2026-12-02T04:00:00Z'), null, null).fits).toBe(true);
  });
});
