import { recommendMaxRows, roundUpSignificant } from '../../model/capacity';

describe('PLANS_DB_MAX_ROWS recommendation', () => {
  test('rounds up to 2 significant digits', () => {
    expect(roundUpSignificant(400_000, 2)).toBe(400_000);
    expect(roundUpSignificant(400_001, 2)).toBe(410_000);
    expect(roundUpSignificant(1_234_567, 2)).toBe(1_300_000);
    expect(roundUpSignificant(99, 2)).toBe(99);
    expect(roundUpSignificant(7, 2)).toBe(7);
    expect(roundUpSignificant(1001, 2)).toBe(1100);
  });

  test('is twice the plan_series rows, rounded up; null while there are none', () => {
    expect(recommendMaxRows(2_000_000)).toBe(4_000_000);
    expect(recommendMaxRows(123_456)).toBe(250_000);
    expect(recommendMaxRows(1)).toBe(2);
    expect(recommendMaxRows(0)).toBeNull();
    for (const rows of [1, 9, 10, 11, 99, 12_345, 987_654_321]) expect(recommendMaxRows(rows)!).toBeGreaterThanOrEqual(2 * rows);
  });
});
