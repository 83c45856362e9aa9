import { chunkTaskQueue } from '../../model/backfill';
import { maxConcurrentChunksFromEnv } from '../../worker/create-worker';

describe('worker chunk settings', () => {
  test('PLANDB_MAX_CONCURRENT_CHUNKS is a whole number of chunks; unset or empty leaves the SDK default', () => {
    expect(maxConcurrentChunksFromEnv({})).toBeUndefined();
    expect(maxConcurrentChunksFromEnv({ PLANDB_MAX_CONCURRENT_CHUNKS: '' })).toBeUndefined();
    expect(maxConcurrentChunksFromEnv({ PLANDB_MAX_CONCURRENT_CHUNKS: '1' })).toBe(1);
    expect(maxConcurrentChunksFromEnv({ PLANDB_MAX_CONCURRENT_CHUNKS: '16' })).toBe(16);
  });

  test.each(['0', '-1', '1.5', 'two', '1001'])('PLANDB_MAX_CONCURRENT_CHUNKS=%s is refused, naming the variable', (value) => {
    expect(() => maxConcurrentChunksFromEnv({ PLANDB_MAX_CONCURRENT_CHUNKS: value })).toThrow(
      `PLANDB_MAX_CONCURRENT_CHUNKS must be an integer from 1 to 1000, got ${JSON.stringify(value)}`,
    );
  });

  test('chunks have a queue of their own beside the workflow queue', () => {
    expect(chunkTaskQueue('plandb')).toBe('plandb.backfill-chunks');
    expect(chunkTaskQueue('plandb')).not.toBe('plandb');
  });
});
