import { parseLegacyPayload } from '../../db/jsonb-text';
import { jsonText } from '../../transform/canonical-json';
import { JsonNumber } from '../../transform/json-number';

/** The two columns as legacyPayloadSql selects them, from jsonb text (numbers written out in full). */
const columns = (payload: string, exact: string) => ({ payload, payload_exact: exact });

describe('parseLegacyPayload', () => {
  const ODD = '9007199254740993';

  it('takes summary and events from their lossless parse, the rest from JSON.parse', () => {
    const summary = `{"odd": ${ODD}, "scale": 1.50}`;
    const events = `[{"at": "2026-01-01T00:00:00Z", "type": "t", "detail": {"n": ${ODD}}}]`;
    const p = parseLegacyPayload(
      columns(`{"events": ${events}, "series": [{"value": 120.5}], "summary": ${summary}}`, `[${summary}, ${events}]`),
    ) as Record<string, unknown>;
    expect(jsonText(p.summary)).toBe(`{"odd":${ODD},"scale":1.50}`);
    expect(jsonText(p.events)).toBe(`[{"at":"2026-01-01T00:00:00Z","type":"t","detail":{"n":${ODD}}}]`);
    expect(p.series).toEqual([{ value: 120.5 }]);
  });

  it('leaves summary and events missing when the document has none', () => {
    expect(parseLegacyPayload(columns('{"series": []}', '[null, null]'))).toEqual({ series: [] });
    expect(parseLegacyPayload(columns('{"series": [], "summary": null}', '[null, null]'))).toEqual({ series: [], summary: null });
  });

  it('parses everything losslessly when a number may be too small for a double, so the transform can refuse it', () => {
    const tiny = `0.${'0'.repeat(399)}1`;
    const p = parseLegacyPayload(columns(`{"series": [{"value": ${tiny}}]}`, '[null, null]')) as { series: { value: unknown }[] };
    expect(p.series[0].value).toEqual(new JsonNumber(tiny));
  });

  it('passes documents that are not objects through', () => {
    expect(parseLegacyPayload(columns('[1, 2]', '[null, null]'))).toEqual([1, 2]);
    expect(parseLegacyPayload(columns('"plan"', '[null, null]'))).toBe('plan');
  });
});
