import { checkText, excerpt, MAX_TEXT } from '../../model/text';
import { checkDecision, checkGateDecision } from '../../workflows/definitions';

describe('untrusted text', () => {
  test('accepts ordinary text, tabs and newlines in comments', () => {
    expect(checkText('comment', 'looks good\n\tsee ticket 12')).toBeNull();
    expect(checkText('comment', undefined)).toBeNull();
  });
  test.each([
    ['NUL', 'ok\u0000', '"comment" contains control characters'],
    ['escape', 'x\u001b[31m', '"comment" contains control characters'],
    ['C1', 'x\u0085', '"comment" contains control characters'],
    ['too long', 'x'.repeat(MAX_TEXT + 1), `"comment" is ${MAX_TEXT + 1} characters long (at most ${MAX_TEXT})`],
    ['not text', 42, '"comment" must be text, got number'],
  ])('refuses %s', (_what, value, message) => {
    expect(checkText('comment', value)).toBe(message);
  });
  test('names must be one line and present when required', () => {
    expect(checkText('approver', 'a\nb', { singleLine: true })).toBe('"approver" contains control characters');
    expect(checkText('approver', '  ', { required: true })).toBe('"approver" must not be empty');
    expect(checkText('approver', undefined, { required: true })).toBe('"approver" is required');
  });
  test('excerpt escapes controls and cuts long text, saying how long it was', () => {
    expect(excerpt('a\u0000b')).toBe('a\\u0000b');
    expect(excerpt('y'.repeat(100_000), 10)).toBe('yyyyyyyyyy… (100000 characters)');
    expect(excerpt({ n: 1 })).toBe('{"n":1}');
  });
});

describe('gate and decide requests', () => {
  test('a gate decision with a NUL, an oversized comment or a stranger is refused with the reason', () => {
    expect(checkGateDecision({ gate: 'start', approver: 'alice', comment: 'ok\u0000' }, 'start', ['alice'])).toBe(
      '"comment" contains control characters',
    );
    expect(checkGateDecision({ gate: 'start', approver: 'alice', comment: 'x'.repeat(100_000) }, 'start', [])).toMatch(
      /100000 characters long/,
    );
    expect(checkGateDecision({ gate: 'start', approver: 'mallory' }, 'start', ['alice', 'bob'])).toBe(
      '"mallory" may not decide gate "start" (allowed: alice, bob)',
    );
    expect(checkGateDecision({ gate: 'start', approver: 'alice' }, null, [])).toBe('gate "start" is not open (no gate is open)');
    expect(checkGateDecision('approve', 'start', [])).toMatch(/^expected \{"gate"/);
    expect(checkGateDecision({ gate: 'start', approver: 'alice', comment: 'fine' }, 'start', ['alice'])).toBeNull();
  });
  test('decide validates its action and text', () => {
    expect(checkDecision({ action: 'retry', by: 'ops' })).toBeNull();
    expect(checkDecision({ action: 'explode' })).toBe('"action" must be retry, rollback or abort');
    expect(checkDecision({ action: 'abort', by: 'o\u0000ps' })).toBe('"by" contains control characters');
    expect(checkDecision(null)).toMatch(/^expected/);
  });
});
