import fc from 'fast-check';
import { locateJsonError } from '../../config/json-position';

describe('locateJsonError', () => {
  it('finds no error in anything JSON.stringify produces', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        expect(locateJsonError(JSON.stringify(value, null, pretty ? 2 : undefined))).toBeNull();
      }),
    );
  });

  it('agrees with JSON.parse on whether a text is valid', () => {
    const texts = ['{}', '[]', ' 1 ', '-0.5e+3', '"\\u00e9\\n"', 'true', 'null', '{"a":[1,{"b":null}]}',
      '', '01', '-', '1.', '.5', '+1', "'a'", '{a:1}', '[1,]', '{"a":1,}', '"\t"', '"\\x"', '"\\u12G4"', 'nul', '[1 2]', '{"a" 1}', '{} {}'];
    for (const text of texts) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect({ text, valid: locateJsonError(text) === null }).toEqual({ text, valid });
    }
  });

  it('gives a 1-based line and column with a reason', () => {
    expect(locateJsonError('{\n  "a": 1\n  "b": 2\n}')).toEqual({
      line: 3,
      column: 3,
      reason: 'unexpected "\\"", expected "," or "}"',
    });
    expect(locateJsonError('[1, 2')).toEqual({ line: 1, column: 6, reason: 'unexpected end of input, expected "," or "]"' });
    expect(locateJsonError('{"a": "x\ny"}')).toEqual({
      line: 1,
      column: 9,
      reason: 'unescaped control character (such as a line break) in string',
    });
    expect(locateJsonError('{"a": 1} x')).toEqual({
      line: 1,
      column: 10,
      reason: 'unexpected "x", expected the end of the file after the JSON value',
    });
  });
});
