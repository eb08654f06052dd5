import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

import type { Env } from '../../src/settings.js';
import { resolveStorageConnection } from '../../src/storageConnection.js';

/** The blob service a Functions connection name points at, as the host's Storage extension resolves it. */
export function blobServiceFor(env: Env, connection: string): BlobServiceClient {
  const resolved = resolveStorageConnection(env, connection);
  if (resolved === undefined) {
    throw new Error(
      `Set ${connection} (a connection string) or ${connection}__blobServiceUri to say where the export goes.`,
    );
  }
  if (resolved.kind === 'connectionString')
    return BlobServiceClient.fromConnectionString(resolved.connectionString);
  return new BlobServiceClient(
    resolved.blobServiceUri,
    new DefaultAzureCredential(resolved.clientId ? { managedIdentityClientId: resolved.clientId } : {}),
  );
}

/** Reads a blob as a blob input binding does: undefined (null to the function) when it is not there. */
export function createBlobReader(env: Env) {
  const services = new Map<string, BlobServiceClient>();
  return async function readBindingBlob(connection: string, path: string): Promise<Buffer | undefined> {
    let service = services.get(connection);
    if (service === undefined) {
      service = blobServiceFor(env, connection);
      services.set(connection, service);
    }
    const slash = path.indexOf('/');
    const blob = service.getContainerClient(path.slice(0, slash)).getBlobClient(path.slice(slash + 1));
    try {
      return await blob.downloadToBuffer();
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw error;
    }
  };
}

/** Writes a blob as a blob output binding does: the container created if missing, the blob replaced. */
export function createBlobWriter(env: Env) {
  const services = new Map<string, BlobServiceClient>();
  return async function writeBindingBlob(connection: string, path: string, content: Buffer): Promise<void> {
    let service = services.get(connection);
    if (service === undefined) {
      service = blobServiceFor(env, connection);
      services.set(connection, service);
    }
    const slash = path.indexOf('/');
    const container = service.getContainerClient(path.slice(0, slash));
    await container.createIfNotExists();
    // The host stores what the worker handed over, with no content type of its own.
    await container
      .getBlockBlobClient(path.slice(slash + 1))
      .uploadData(content, { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
  };
}
