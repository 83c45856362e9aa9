import fc from 'fast-check';
import { parseIsoDateTime } from '../../transform/iso-datetime';

describe('parseIsoDateTime', () => {
  it.each([
    ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01t00:00:00z', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01 00:00:00+00', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T09:00:00+09:00', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T09:00:00+0900', '2026-01-01T00:00:00.000Z'],
    ['2025-12-31T19:30:00-04:30', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00-00:00', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00', '2026-01-01T00:00:00.000Z'], // no offset: UTC, whatever the machine's zone
    ['2026-01-01T00:00:00.5Z', '2026-01-01T00:00:00.500Z'],
    ['2026-01-01T00:00:00,25Z', '2026-01-01T00:00:00.250Z'],
    ['2026-01-01T00:00:00.123999999Z', '2026-01-01T00:00:00.123999Z'], // truncated to microseconds, not rounded
    ['2026-01-01T00:00:00.123456Z', '2026-01-01T00:00:00.123456Z'], // timestamptz keeps microseconds
    ['2026-01-01T09:00:00.000001+09:00', '2026-01-01T00:00:00.000001Z'],
    ['2026-01-01T00:00:00.1234Z', '2026-01-01T00:00:00.123400Z'],
    ['2026-01-01T00:00:00.123000Z', '2026-01-01T00:00:00.123Z'], // no microseconds: toISOString's text
    ['2026-01-01T00:00:00.123456', '2026-01-01T00:00:00.123456Z'], // PostgreSQL's JSON for timestamp (UTC)
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'], // not mapped to 1950
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %j as %j', (text, iso) => {
    expect(parseIsoDateTime(text)).toBe(iso);
  });

  it.each([
    '',
    'yesterday',
    'January 1, 2026',
    '2026-01-01',
    '2026-1-01T00:00:00Z',
    '26-01-01T00:00:00Z',
    '2026-01-01T0:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    '2026-01-01T00:00:00+1',
    '2026-01-01T00:00:00 Z',
    ' 2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Z ',
    '2026-01-01T00:00:00ZZ',
    '0001-01-01T00:00:00+01:00', // year 0 in UTC
    '9999-12-31T23:00:00-05:00', // year 10000 in UTC
    '+002026-01-01T00:00:00Z',
  ])('refuses %j', (text) => {
    expect(parseIsoDateTime(text)).toBeNull();
  });

  it('round-trips every toISOString output in years 0001-9999', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) =>
        parseIsoDateTime(d.toISOString()) === d.toISOString(),
      ),
    );
  });

  it('agrees with Date.parse on offset date-times it accepts', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-02T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (d, offset) => {
          const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 23);
          const abs = Math.abs(offset);
          const text = `${local}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          return parseIsoDateTime(text) === new Date(Date.parse(text)).toISOString() && parseIsoDateTime(text) === d.toISOString();
        },
      ),
    );
  });
});
