import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256Hex } from '../../transform/sha256';

/** node:crypto hashes a JS string as UTF-8 with lone surrogates replaced by U+FFFD, the contract here. */
const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
    ['The quick brown fox jumps over the lazy dog', 'd7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592'],
  ])('matches the published vector for %j', (input, expected) => {
    expect(sha256Hex(input)).toBe(expected);
  });

  it('matches the one-million-"a" vector', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('matches node:crypto at every length around the padding boundaries', () => {
    const text = Array.from({ length: 300 }, (_, i) => String.fromCharCode(32 + ((i * 37) % 95))).join('');
    for (let len = 0; len <= 300; len++) expect(sha256Hex(text.slice(0, len))).toBe(nodeSha256(text.slice(0, len)));
  });

  it('matches node:crypto when multi-byte characters straddle block boundaries', () => {
    for (let pad = 0; pad < 70; pad++) {
      const text = `${'x'.repeat(pad)}é€😀東京\u0080\u07ff\u0800\uffff`;
      expect(sha256Hex(text)).toBe(nodeSha256(text));
    }
  });

  it('hashes a multi-megabyte string like node:crypto', () => {
    const text = JSON.stringify(Array.from({ length: 60_000 }, (_, i) => ({ item: `SKU-${i}`, location: '東京', value: i / 7 })));
    expect(text.length).toBeGreaterThan(3_000_000);
    expect(sha256Hex(text)).toBe(nodeSha256(text));
  });

  it('hashes as UTF-8 like node:crypto, lone surrogates as U+FFFD', () => {
    for (const s of ['\ud800', '\udc00', 'a\ud800', '\ud800x\udc00', '\udc00\ud800', '\ud83d\ude00']) {
      expect(sha256Hex(s)).toBe(nodeSha256(s));
    }
    expect(sha256Hex('\ud800')).toBe(sha256Hex('\ufffd'));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => sha256Hex(s) === nodeSha256(s)), { numRuns: 500 });
  });
});
