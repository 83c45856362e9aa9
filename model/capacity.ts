/** The PLANS_DB_MAX_ROWS recommendation (checklist: record plan_series rows, update the estimate). Pure. */

export const MAX_ROWS_RULE =
  'plan_series rows x 2, rounded up to 2 significant digits: room to double before trims start, ' +
  'and always above the current rows, so adopting it never trims at once';

/** `n` rounded up to `digits` significant digits (n >= 0 integer). */
export function roundUpSignificant(n: number, digits: number): number {
  const magnitude = 10 ** Math.max(0, String(Math.ceil(n)).length - digits);
  return Math.ceil(n / magnitude) * magnitude;
}

/** Null while plan_series is empty: there is nothing to base an estimate on. */
export function recommendMaxRows(planSeriesRows: number): number | null {
  return planSeriesRows > 0 ? roundUpSignificant(planSeriesRows * 2, 2) : null;
}
