/** What CLI commands share: the validated config, database pools and a Temporal client, opened lazily. */
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { loadConfig } from '../config/load';
import { cannotReachTemporal, temporalConnectOptions } from '../config/temporal-connection';
import { PlandbConfig } from '../config/schema';
import { DatabaseRegistry } from '../db/registry';

const MAX_RECONNECT_BACKOFF_MS = 5_000;
// The client's own retries of a failed call stay within about 2 s (its default is about 15 s): a
// longer outage is for the follow loop, which waits out the last retry before the connection closes.
const GRPC_ATTEMPTS = 5;

export class CliContext {
  private configValue?: PlandbConfig;
  private databasesValue?: DatabaseRegistry;
  private connection?: Connection;

  constructor(readonly configPath?: string) {}

  get config(): PlandbConfig {
    this.configValue ??= loadConfig({ path: this.configPath });
    return this.configValue;
  }

  get databases(): DatabaseRegistry {
    this.databasesValue ??= new DatabaseRegistry(this.config);
    return this.databasesValue;
  }

  async temporal(): Promise<Client> {
    const { namespace } = this.config.temporal;
    this.connection ??= await Connection.connect({
      ...temporalConnectOptions(this.config.temporal),
      connectTimeout: '10s',
      // gRPC's reconnect backoff grows to 2 minutes: a CLI following a workflow through an outage
      // (cli/follow-workflow.ts) would notice Temporal is back long after it is.
      channelArgs: { 'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS },
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: GRPC_ATTEMPTS }))],
    }).catch((err: Error) => {
      throw new Error(`${cannotReachTemporal(this.config.temporal, err).message}; is the server or \`plandb dev\` running?`);
    });
    return new Client({ connection: this.connection, namespace });
  }

  async close(): Promise<void> {
    await this.databasesValue?.close();
    await this.connection?.close();
  }
}
