import type { Readable } from 'node:stream';

import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

import { ExportError } from '../errors.js';
import type { Env } from '../settings.js';
import { resolveStorageConnection } from '../storageConnection.js';

/**
 * Each try of a Storage request asks the service to give up after 100 s, the Azure SDKs' network
 * timeout (Azure.Core RetryOptions.NetworkTimeout), as for Key Vault and the token endpoint. This
 * is the service's `timeout` parameter only (@azure/storage-common StorageRetryPolicyV2 sets it on
 * the URL), not a client-side deadline: each call here also carries an abort signal of its own
 * (BLOB_READ_DEADLINE_MS; stream mode's block and silence deadlines).
 */
const STORAGE_OPTIONS = { retryOptions: { tryTimeoutInMs: 100_000 } };

/** How long one read of a small blob (the manifest) may take before the run gives up on it. */
export const BLOB_READ_DEADLINE_MS = 30_000;

/**
 * The blob service a Functions connection name points at, as the host's Storage extension resolves
 * it (Microsoft.Extensions.Azure, "Create token credentials from configuration", dotnet/docs
 * docs/azure/sdk/authentication/create-token-credentials-from-configuration.md):
 * `__credential=managedidentity` with `__clientId` is a ManagedIdentityCredential for that
 * identity; no credential setting is DefaultAzureCredential.
 */
export function blobServiceFor(env: Env, connection: string): BlobServiceClient {
  const resolved = resolveStorageConnection(env, connection);
  if (resolved === undefined) {
    throw new ExportError(`Set ${connection} (a connection string) or ${connection}__blobServiceUri.`, {
      remedy: `Say where the export goes: ${connection} or ${connection}__blobServiceUri with ${connection}__credential=managedidentity.`,
      code: 'ConfigInvalid',
    });
  }
  if (resolved.kind === 'connectionString')
    return BlobServiceClient.fromConnectionString(resolved.connectionString, STORAGE_OPTIONS);
  const managedIdentity = env[`${connection}__credential`]?.trim().toLowerCase() === 'managedidentity';
  const credential = managedIdentity
    ? new ManagedIdentityCredential(resolved.clientId === undefined ? {} : { clientId: resolved.clientId })
    : new DefaultAzureCredential(
        resolved.clientId === undefined ? {} : { managedIdentityClientId: resolved.clientId },
      );
  return new BlobServiceClient(resolved.blobServiceUri, credential, STORAGE_OPTIONS);
}

/** Reads one blob of a binding path (`container/name`): its bytes, or undefined when there is none. */
export function createBindingBlobReader(env: Env, connection: string) {
  let service: BlobServiceClient | undefined;
  return async function readBlob(path: string): Promise<Buffer | undefined> {
    service ??= blobServiceFor(env, connection);
    const slash = path.indexOf('/');
    const blob = service.getContainerClient(path.slice(0, slash)).getBlobClient(path.slice(slash + 1));
    try {
      // One request (one version of the blob): downloadToBuffer asks for the length first and then
      // the bytes, so a blob rewritten between the two comes back torn (@azure/storage-blob 12.34
      // BlobClient.downloadToBuffer); download() pins the ETag on its own retries.
      const deadline = AbortSignal.timeout(BLOB_READ_DEADLINE_MS);
      const response = await blob.download(0, undefined, { abortSignal: deadline });
      const body = response.readableStreamBody as Readable | undefined;
      if (body === undefined) return Buffer.alloc(0);
      // The deadline covers the body too: a stall between chunks ends the read.
      const stop = () =>
        body.destroy(new Error(`no answer from Storage within ${BLOB_READ_DEADLINE_MS / 1000} s`));
      deadline.addEventListener('abort', stop, { once: true });
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
        return Buffer.concat(chunks);
      } finally {
        deadline.removeEventListener('abort', stop);
      }
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw error;
    }
  };
}
