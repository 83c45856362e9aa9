import fc from 'fast-check';
import { copyField } from '../../db/repository-writer';

/** PostgreSQL's COPY text decoding of the escapes copyField writes. */
const decode = (field: string): string =>
  field.replace(/\\(.)/gs, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));

describe('copyField', () => {
  it('escapes backslash, tab, newline and carriage return, wherever they are', () => {
    expect(copyField('\\')).toBe('\\\\');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\t\t\n\n')).toBe('\\t\\t\\n\\n');
    expect(copyField('\\N')).toBe('\\\\N');
  });

  it('leaves every other character as it is: other controls, unicode, quotes', () => {
    for (const s of ['', 'SKU-1', '\u0001\u001f\u007f\b\f\u000b', '東京 😀 e\u0301', '"quoted" \'single\'', '\ud800']) {
      expect(copyField(s)).toBe(s);
    }
  });

  it('writes null as \\N and numbers as JavaScript writes them', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(120.5)).toBe('120.5');
    expect(copyField(1e21)).toBe('1e+21');
  });

  it('round-trips any string through COPY decoding, with no raw tab, newline or carriage return left', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '😀', '\\', '\t', '\n', '\r', 'N', 't', '\u0001') });
    fc.assert(
      fc.property(text, (s) => {
        const field = copyField(s);
        expect(field).not.toMatch(/[\t\n\r]/);
        expect(decode(field)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});
