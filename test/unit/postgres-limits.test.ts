import fc from 'fast-check';
import { float8FromText, hasNul, utf8Length } from '../../transform/postgres-limits';

describe('utf8Length', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['東京', 6],
    ['\u{1F69A}', 4],
    ['\ud800', 3], // a lone surrogate goes out as U+FFFD
    ['a\udc00b', 5],
  ])('%j is %d bytes', (s, n) => {
    expect(utf8Length(s)).toBe(n);
  });

  it('agrees with node:buffer for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('hasNul', () => {
  it('finds U+0000 anywhere, and only it', () => {
    expect(['\u0000', 'a\u0000', '\u0000b'].map(hasNul)).toEqual([true, true, true]);
    expect(['', '0', '\\u0000', '\u0001'].map(hasNul)).toEqual([false, false, false, false]);
  });
});

describe('float8FromText', () => {
  it.each([
    ['1e400', 'overflow'],
    ['-1e309', 'overflow'],
    ['1' + '0'.repeat(309), 'overflow'],
    ['1e-400', 'underflow'],
    ['-2.5e-330', 'underflow'],
    ['0.' + '0'.repeat(400) + '1', 'underflow'],
  ])('refuses %s (%s), as PostgreSQL float8 input does', (text, why) => {
    expect(float8FromText(text)).toBe(why);
  });

  it.each([
    ['0', 0],
    ['-0.000', -0],
    ['0e-999', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['5e-324', 5e-324], // denormals are accepted, as PostgreSQL does
    ['120.50', 120.5],
  ])('reads %s as %p', (text, n) => {
    expect(float8FromText(text)).toBe(n);
  });
});
