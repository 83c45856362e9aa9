import fc from 'fast-check';
import { parse as losslessParse } from 'lossless-json';
import { numbersAreExactDoubles, parseJsonbText, parseLegacyPayload } from '../../db/jsonb-text';
import { jsonText } from '../../transform/canonical-json';
import { JsonNumber, jsonNumberOf } from '../../transform/json-number';

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

describe('parseJsonbText', () => {
  /** What the lossless parse alone gives: the reference the JSON.parse fast path must match. */
  const lossless = (text: string): unknown => losslessParse(text, null, jsonNumberOf);

  const EXACT = [
    '0',
    '-1',
    '0.1',
    '120.5',
    '123456789012345',
    '1234567890123456',
    '9007199254740991',
    '9007199254740992',
    '100000000000000000000',
    '0.000001',
    '5e-324',
    '1.7976931348623157e+308',
    '1e+21',
  ];
  const NOT_EXACT = [
    '-0',
    '-0.0',
    '1.50',
    '0.000',
    '9007199254740993',
    '12345678901234567',
    '1000000000000000000000',
    '0.0000001',
    '1e21',
    '1E5',
    '1.7976931348623157e308',
    '0.1000000000000000055511151231257827',
  ];

  it.each(EXACT)('takes the JSON.parse path for %s, which a double spells the same', (n) => {
    expect(numbersAreExactDoubles(`{"a": [${n}]}`)).toBe(true);
    expect(parseJsonbText(`{"a": [${n}]}`)).toEqual({ a: [Number(n)] });
  });

  it.each(NOT_EXACT)('keeps %s exactly (lossless path)', (n) => {
    expect(numbersAreExactDoubles(`{"a": [1, ${n}]}`)).toBe(false);
    expect(parseJsonbText(`{"a": [1, ${n}]}`)).toEqual({ a: [1, new JsonNumber(n)] });
    expect(jsonText(parseJsonbText(`{"a": [1, ${n}]}`))).toBe(`{"a":[1,${n}]}`);
  });

  it('ignores digits inside strings and keys, escaped quotes included', () => {
    const text = '{"at": "2026-01-01T00:07:00.000Z", "1.50": "x\\"-0\\\\", "q": "\\"", "n": 2}';
    expect(numbersAreExactDoubles(text)).toBe(true);
    expect(parseJsonbText(text)).toEqual(lossless(text));
    expect(numbersAreExactDoubles('{"s": "a\\\\", "n": 1.50}')).toBe(false);
  });

  it('stores a "__proto__" key as an own property on both paths', () => {
    for (const n of ['1', '1.50']) {
      const v = parseJsonbText(`{"__proto__": {"n": ${n}}}`) as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.keys(v)).toEqual(['__proto__']);
    }
  });

  it('equals the lossless parse on any JSON text, numbers spelled in any way', () => {
    const spelled = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.bigInt().map(String),
      fc.constantFrom('-0', '1.50', '0.000', '1e21', '9007199254740993'),
    );
    const value = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        spelled,
        fc.string().map((s) => JSON.stringify(s)),
        fc.array(tie('v')).map((xs) => `[${xs.join(', ')}]`),
        fc.dictionary(fc.string(), tie('v')).map(
          (o) =>
            `{${Object.entries(o)
              .map(([k, x]) => `${JSON.stringify(k)}: ${x}`)
              .join(', ')}}`,
        ),
      ),
    })).v;
    fc.assert(
      fc.property(value, (text) => {
        expect(parseJsonbText(text)).toEqual(lossless(text));
        expect(jsonText(parseJsonbText(text))).toBe(jsonText(lossless(text)));
      }),
      { numRuns: 500 },
    );
  });
});
