/**
 * Upload of a backup to S3-compatible storage: the dump, a `<key>.sha256` sidecar in sha256sum's
 * format, and a HeadObject check that the stored size is the local size. Endpoint, region and keys
 * come from the environment variables the config names; their values never reach a message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError } from '../config/errors';
import type { BackupConfig } from '../config/schema';
import { redactSecrets } from '../logging/redact';

export interface S3Target {
  bucket: string;
  key: string;
  /** `s3://bucket/key` */
  uri: string;
}

/** `s3://bucket/some/prefix` + file name → bucket and key `some/prefix/<file>`. */
export function s3Target(s3Uri: string, fileName: string): S3Target {
  const match = /^s3:\/\/([^/\s]+)\/?(\S*)$/.exec(s3Uri);
  if (!match) throw new ConfigError(`backup.s3Uri must be an s3://bucket[/prefix] URI`);
  const prefix = match[2].replace(/^\/+|\/+$/g, '');
  const key = prefix ? `${prefix}/${fileName}` : fileName;
  return { bucket: match[1], key, uri: `s3://${match[1]}/${key}` };
}

export function sha256Sidecar(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}

export interface S3Settings {
  config: S3ClientConfig;
  /** Values to mask in any message. */
  secrets: string[];
}

/**
 * The client settings for one environment. A variable the config names must be set; with no key
 * variables named, the SDK's default credential chain applies (instance roles, AWS_* variables).
 */
export function s3Settings(backup: BackupConfig, environment: string, env: NodeJS.ProcessEnv): S3Settings {
  const read = (key: 's3EndpointEnv' | 's3RegionEnv' | 's3AccessKeyIdEnv' | 's3SecretAccessKeyEnv'): string | undefined => {
    const variable = backup[key];
    if (variable === undefined) return undefined;
    const value = env[variable];
    if (!value) throw new ConfigError(`environments.${environment}.backup.${key}: environment variable ${variable} is not set`);
    return value;
  };
  const endpoint = read('s3EndpointEnv');
  const accessKeyId = read('s3AccessKeyIdEnv');
  const secretAccessKey = read('s3SecretAccessKeyEnv');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(`environments.${environment}.backup: s3AccessKeyIdEnv and s3SecretAccessKeyEnv are set together or not at all`);
  }
  return {
    config: {
      endpoint,
      // A custom endpoint (MinIO, Ceph, ...) usually serves path-style URLs only.
      forcePathStyle: endpoint !== undefined,
      region: read('s3RegionEnv') ?? env.AWS_REGION ?? 'us-east-1',
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      // Checksums only where S3 requires them: not every S3-compatible store accepts the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    },
    secrets: [accessKeyId, secretAccessKey].filter((s): s is string => s !== undefined),
  };
}

export interface UploadInput {
  settings: S3Settings;
  target: S3Target;
  file: string;
  sha256: string;
  bytes: number;
  onProgress?: (uploadedBytes: number) => void;
}

const PART_SIZE = 16 * 1024 * 1024;

async function checkStoredSize(client: S3Client, bucket: string, key: string, expected: number): Promise<void> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== expected) {
    throw new Error(`s3://${bucket}/${key} holds ${head.ContentLength ?? 'no'} bytes, expected ${expected}`);
  }
}

/** Uploads and checks; on failure removes what it stored, so a retry starts clean. */
export async function uploadBackup(input: UploadInput): Promise<void> {
  const { settings, target } = input;
  const client = new S3Client(settings.config);
  const sidecarKey = `${target.key}.sha256`;
  const sidecar = sha256Sidecar(input.sha256, path.basename(input.file));
  try {
    const upload = new Upload({
      client,
      params: { Bucket: target.bucket, Key: target.key, Body: fs.createReadStream(input.file), Metadata: { sha256: input.sha256 } },
      partSize: PART_SIZE,
      queueSize: 2,
    });
    upload.on('httpUploadProgress', (p) => input.onProgress?.(p.loaded ?? 0));
    await upload.done();
    await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: sidecarKey, Body: sidecar, ContentType: 'text/plain' }));
    await checkStoredSize(client, target.bucket, target.key, input.bytes);
    await checkStoredSize(client, target.bucket, sidecarKey, Buffer.byteLength(sidecar));
  } catch (err) {
    await Promise.allSettled([target.key, sidecarKey].map((Key) => client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key }))));
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Error(`upload of the backup to ${target.uri} failed: ${redactSecrets(detail, settings.secrets)}`);
  } finally {
    client.destroy();
  }
}
