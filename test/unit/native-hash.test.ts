import { nativeSha256 } from '../../db/native-hash';

describe('nativeSha256', () => {
  test.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('is SHA-256 (FIPS 180-4 test vector %j)', (text, hex) => {
    expect(nativeSha256(text)).toBe(hex);
  });

  test('hashes the UTF-8 bytes, a lone surrogate as U+FFFD (what PostgreSQL would receive)', () => {
    expect(nativeSha256('東京 🚚')).toBe(nativeSha256(Buffer.from('東京 🚚', 'utf8').toString('utf8')));
    expect(nativeSha256('\ud800 lone')).toBe(nativeSha256('\ufffd lone'));
    expect(nativeSha256('a')).not.toBe(nativeSha256('b'));
  });
});
