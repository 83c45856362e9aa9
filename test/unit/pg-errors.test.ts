import { isDataError, sqlstateOf } from '../../db/pg-errors';

const pgError = (code: string) => Object.assign(new Error('boom'), { code });

describe('isDataError', () => {
  it.each([
    ['54000', 'index row too large'],
    ['22001', 'string data right truncation'],
    ['22003', 'numeric value out of range'],
    ['22P02', 'invalid text representation'],
    ['22P05', 'untranslatable character (\\u0000)'],
    ['23505', 'unique violation'],
    ['23514', 'check violation'],
    ['23502', 'not-null violation'],
  ])('%s (%s) is a data error: the batch is bisected', (code) => {
    expect(isDataError(pgError(code))).toBe(true);
  });

  it.each([
    ['08006', 'connection failure'],
    ['08P01', 'protocol violation'],
    ['57P01', 'admin shutdown'],
    ['57014', 'query canceled (statement timeout)'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock detected'],
    ['53100', 'disk full'],
    ['53200', 'out of memory'],
    ['55P03', 'lock not available'],
    ['42P01', 'undefined table'],
    ['XX000', 'internal error'],
  ])('%s (%s) is not: it is rethrown and retried', (code) => {
    expect(isDataError(pgError(code))).toBe(false);
  });

  it('is false for errors that carry no SQLSTATE', () => {
    for (const err of [new Error('ECONNRESET'), Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), null, undefined, 'text', 42]) {
      expect(isDataError(err)).toBe(false);
      expect(sqlstateOf(err)).toBeNull();
    }
  });
});
