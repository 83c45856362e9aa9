import fc from 'fast-check';
import { nativeSha256 } from '../../db/native-hash';
import { sha256Hex } from '../../transform/sha256';

describe('nativeSha256', () => {
  test('gives the pure SHA-256 for any text, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(nativeSha256(text)).toBe(sha256Hex(text));
      }),
      { numRuns: 500 },
    );
    for (const text of ['', 'plan-00001', '東京 🚚', '\ud800 lone', 'x'.repeat(100_000)]) expect(nativeSha256(text)).toBe(sha256Hex(text));
  });
});
