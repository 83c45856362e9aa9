import fc from 'fast-check';
import { parseJsonbText } from '../../db/jsonb-text';
import { canonicalJson, isPlainObject, jsonText } from '../../transform/canonical-json';
import { canonicalNumberText, JsonNumber, jsonNumberOf } from '../../transform/json-number';
import { accepted, rejected, specExamplePayload } from './transform-fixtures';

describe('canonicalNumberText', () => {
  it('writes any double exactly as String() does, from any of its spellings', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const expected = x === 0 ? '0' : String(x);
        expect(canonicalNumberText(String(x))).toBe(expected);
        expect(canonicalNumberText(x.toExponential())).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['120.50', '120.5'],
    ['0.00000015', '1.5e-7'],
    ['1000000000000000000000', '1e+21'],
    ['-0.0', '0'],
    ['0e10', '0'],
    ['007.10', '7.1'],
    ['9007199254740993', '9007199254740993'], // 2^53 + 1: no double has it
    ['12345678901234567890123', '1.2345678901234567890123e+22'],
    ['0.' + '0'.repeat(399) + '1', '1e-400'],
    ['1' + '0'.repeat(400), '1e+400'],
    ['-1.5E-400', '-1.5e-400'],
  ])('writes the exact value of %s as %s', (text, canonical) => {
    expect(canonicalNumberText(text)).toBe(canonical);
  });

  it('refuses text that is not a number', () => {
    for (const text of ['', '-', '.', 'e5', '1x', 'NaN']) expect(() => canonicalNumberText(text)).toThrow(TypeError);
  });
});

describe('jsonNumberOf', () => {
  it('gives a double where its text is the same, a JsonNumber where a double would change the number or its spelling', () => {
    expect([jsonNumberOf('1.5'), jsonNumberOf('-3'), jsonNumberOf('0')]).toEqual([1.5, -3, 0]);
    for (const text of ['9007199254740993', '12345678901234567890123', '1.50', '0.00000015', '1e400'.replace('e400', '0'.repeat(400))]) {
      expect(jsonNumberOf(text)).toEqual(new JsonNumber(text));
    }
  });
});

describe('JSON with exact numbers', () => {
  const text = '{"b": [9007199254740993, 1.50, 2], "a": {"n": 12345678901234567890123, "s": "x"}}';

  it('parses jsonb text losslessly and writes it back with every digit, in its own key order', () => {
    const value = parseJsonbText(text);
    expect(jsonText(value)).toBe('{"b":[9007199254740993,1.50,2],"a":{"n":12345678901234567890123,"s":"x"}}');
  });

  it('canonicalizes by exact value: 1.50 and 1.5 agree, a changed last digit does not', () => {
    expect(canonicalJson(parseJsonbText('{"a": 1.50}'))).toBe(canonicalJson({ a: 1.5 }));
    expect(canonicalJson(parseJsonbText(text))).toBe('{"a":{"n":1.2345678901234567890123e+22,"s":"x"},"b":[9007199254740993,1.5,2]}');
    expect(canonicalJson(parseJsonbText('[9007199254740993]'))).not.toBe(canonicalJson(parseJsonbText('[9007199254740992]')));
  });

  it('does not take a JsonNumber for an object', () => {
    expect(isPlainObject(new JsonNumber('1.50'))).toBe(false);
  });
});

describe('transformArtifact with exact numbers', () => {
  it('keeps summary and event detail numbers exact, and the checksum sees a changed digit', () => {
    const payload = (digit: string) =>
      parseJsonbText(
        JSON.stringify({
          ...specExamplePayload(),
          summary: { total: '__N__' },
          events: [{ at: '2026-01-01T00:00:00.123456Z', type: 'created', detail: { big: '__N__' } }],
        }).replaceAll('"__N__"', `900719925474099${digit}`),
      );
    const a = accepted(payload('3'));
    expect(a.version.summary).toEqual({ total: new JsonNumber('9007199254740993') });
    expect(jsonText(a.version.events[0].detail)).toBe('{"big":9007199254740993}');
    expect(a.version.events[0].at).toBe('2026-01-01T00:00:00.123456Z');
    expect(accepted(payload('2')).checksum).not.toBe(a.checksum);
  });

  it('reads series and KPI values from their exact text, refusing what float8 cannot hold', () => {
    const withValue = (value: string) =>
      parseJsonbText(`{"series": [{"item": "A", "location": "L", "period": "P", "metric": "m", "value": ${value}}]}`);
    expect(accepted(withValue('120.50')).version.series[0].value).toBe(120.5);
    expect(accepted(withValue('12345678901234567890123')).version.series[0].value).toBe(1.2345678901234568e22);
    // jsonb writes 1e-400 and 1e400 out in full; JSON.parse would make them 0 and Infinity.
    expect(rejected(withValue('0.' + '0'.repeat(399) + '1'))).toMatchObject({ reason: 'number_out_of_range', detail: { range: 'underflow' } });
    expect(rejected(withValue('1' + '0'.repeat(400)))).toMatchObject({ reason: 'number_out_of_range', detail: { range: 'overflow' } });
  });
});
