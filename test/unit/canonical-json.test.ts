import fc from 'fast-check';
import { canonicalJson, isPlainObject } from '../../transform/canonical-json';
import { mulberry32 } from '../../transform/demo-payloads';
import { reorderKeys } from './transform-fixtures';

describe('canonicalJson', () => {
  it('sorts object keys recursively by UTF-16 code unit, keeping array order', () => {
    const value = { b: 1, a: { z: [3, { y: 1, x: 2 }], B: null }, '10': true, '9': false, é: 'e', Z: 'z' };
    expect(canonicalJson(value)).toBe('{"10":true,"9":false,"Z":"z","a":{"B":null,"z":[3,{"x":2,"y":1}]},"b":1,"é":"e"}');
  });

  it('sorts astral characters by code unit, not code point (U+1F600 is \\uD83D.., below U+FF01)', () => {
    expect(canonicalJson({ '\u{1F600}': 1, '\uFF01': 2 })).toBe('{"😀":1,"！":2}');
  });

  it('keeps a "__proto__" key that JSON.parse created as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"b":1},"a":2}'))).toBe('{"__proto__":{"b":1},"a":2}');
  });

  it.each([
    [-0, '0'],
    [0, '0'],
    [120.5, '120.5'],
    [1.205e2, '120.5'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [0.1 + 0.2, '0.30000000000000004'],
    [5e-324, '5e-324'],
    [-1.7976931348623157e308, '-1.7976931348623157e+308'],
  ])('writes the number %p as %s', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
    expect(canonicalJson([n])).toBe(`[${text}]`);
  });

  it('escapes strings as JSON does, lone surrogates included', () => {
    expect(canonicalJson('a"b\\c\n\u2028\u0001\ud800')).toBe('"a\\"b\\\\c\\n\u2028\\u0001\\ud800"');
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity in an array', [1, -Infinity]],
    ['undefined', undefined],
    ['an undefined property', { a: undefined }],
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['a function', { f: () => 1 }],
    ['a bigint', 1n],
    ['a symbol', Symbol('s')],
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map()],
  ])('throws on %s', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('is JSON that parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (v, seed) => canonicalJson(reorderKeys(mulberry32(seed), v)) === canonicalJson(v)),
    );
  });
});

describe('isPlainObject', () => {
  it('accepts plain and null-prototype objects only', () => {
    expect([{}, Object.create(null), JSON.parse('{"a":1}')].map(isPlainObject)).toEqual([true, true, true]);
    expect([null, [], 'x', 1, new Date(0), new Map(), () => 1].map(isPlainObject)).toEqual([false, false, false, false, false, false, false]);
  });
});
