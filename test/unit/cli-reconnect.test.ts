import { Client, Connection, ServiceError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { InvalidArgumentError } from 'commander';
import { CliFailure } from '../../cli/errors';
import { formatDuration, isTransportError, reconnectTimeout, retryDelayMs } from '../../cli/reconnect';

/** An error shaped like @grpc/grpc-js's: what the Temporal client wraps in a ServiceError. */
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });

describe('isTransportError', () => {
  test('a real client call to a port nobody listens on is a transport error', async () => {
    // No retry interceptor: the call fails at once instead of after the client's own backoff.
    const connection = Connection.lazy({ address: '127.0.0.1:1', interceptors: [] });
    try {
      const err = await new Client({ connection }).workflow.getHandle('plandb-dev-backfill').result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceError);
      expect((err as Error).message).toBe('Failed to get Workflow execution history');
      expect(isTransportError(err)).toBe(true);
    } finally {
      await connection.close();
    }
  });

  test.each([
    ['UNAVAILABLE wrapped in a ServiceError', new ServiceError('Failed to get Workflow execution history', { cause: grpcError(14, 'No connection established') })],
    ['DEADLINE_EXCEEDED', grpcError(4, 'Deadline exceeded')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7233'), { code: 'ECONNREFUSED' })],
    ['a reset socket under a wrapper', new Error('request failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) })],
  ])('%s is a transport error', (_what, err) => {
    expect(isTransportError(err)).toBe(true);
  });

  test.each([
    ['a workflow failure', new WorkflowFailedError('Workflow execution failed', ApplicationFailure.nonRetryable('boom'), RetryState.NON_RETRYABLE_FAILURE)],
    ['NOT_FOUND from the server', new ServiceError('Failed to get Workflow execution history', { cause: grpcError(5, 'workflow not found') })],
    ['INVALID_ARGUMENT', grpcError(3, 'bad request')],
    ['a CLI failure', new CliFailure('plandb-dev-backfill failed: 3 errors exceed maxErrors 0')],
    ['a plain error', new Error('something else')],
    ['a non-error', 'UNAVAILABLE'],
  ])('%s is not', (_what, err) => {
    expect(isTransportError(err)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  test('doubles from 1s up to 15s', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((attempt) => retryDelayMs(attempt, 0, 3_600_000))).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  test('the last wait ends on the deadline; past it, give up', () => {
    expect(retryDelayMs(4, 295_000, 300_000)).toBe(5000);
    expect(retryDelayMs(0, 299_999, 300_000)).toBe(1);
    expect(retryDelayMs(0, 300_000, 300_000)).toBeNull();
    expect(retryDelayMs(7, 301_000, 300_000)).toBeNull();
  });
});

describe('--reconnect-timeout', () => {
  test.each([
    ['5m', 300_000],
    ['90s', 90_000],
    ['1h', 3_600_000],
    [' 24h ', 86_400_000],
  ])('%j is %d ms', (text, ms) => {
    expect(reconnectTimeout(text)).toBe(ms);
  });

  test.each(['5', '0s', '-1m', '5 minutes', '1.5m', '25h', '2d', ''])('%j is refused', (text) => {
    expect(() => reconnectTimeout(text)).toThrow(InvalidArgumentError);
  });

  test('durations print the way they are written', () => {
    expect([300_000, 90_000, 7_200_000, 1_500, 0].map(formatDuration)).toEqual(['5m', '90s', '2h', '2s', '0s']);
  });
});
