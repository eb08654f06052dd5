import type { BlobServiceClient } from '@azure/storage-blob';

import { blobServiceFor } from '../../src/azure/blobStorage.js';
import {
  notAnsweringCode,
  untrustedCertificateCode,
  untrustedCertificateHint,
} from '../../src/azure/networkFailure.js';
import type { Env } from '../../src/settings.js';

/**
 * A storage failure a newcomer can act on: the setting, the endpoint, and what to check. The
 * SDK's own message for a missing Azurite is a bare `connect ECONNREFUSED 127.0.0.1:10000`.
 */
export function explainStorageError(error: unknown, connection: string, endpoint: string): Error {
  const host = new URL(endpoint).host;
  const untrusted = untrustedCertificateCode(error);
  if (untrusted !== undefined) {
    return new Error(
      `Blob storage at ${endpoint} (${connection}): ${untrustedCertificateHint(host, untrusted)}`,
      {
        cause: error,
      },
    );
  }
  const refused = notAnsweringCode(error);
  if (refused === undefined) return error instanceof Error ? error : new Error(String(error));
  const local = /^(127\.0\.0\.1|localhost|\[::1\])(:|$)/.test(host);
  return new Error(
    `Blob storage at ${endpoint} did not answer (${refused}); ${connection} points there.` +
      (local
        ? ' Is Azurite running? Start it with `npx azurite-blob --skipApiVersionCheck`, or set ' +
          `${connection} to your storage account's connection string.`
        : ` Check ${connection} and that this machine can reach the account.`),
    { cause: error },
  );
}

/** The container and blob name a binding path (`container/name`) points at, one client per connection. */
function createBlobLocator(env: Env) {
  const services = new Map<string, BlobServiceClient>();
  return (connection: string, path: string) => {
    let service = services.get(connection);
    if (service === undefined) {
      service = blobServiceFor(env, connection);
      services.set(connection, service);
    }
    const slash = path.indexOf('/');
    return { container: service.getContainerClient(path.slice(0, slash)), name: path.slice(slash + 1) };
  };
}

/** Reads a blob as a blob input binding does: undefined (null to the function) when it is not there. */
export function createBlobReader(env: Env) {
  const locate = createBlobLocator(env);
  return async function readBindingBlob(connection: string, path: string): Promise<Buffer | undefined> {
    const { container, name } = locate(connection, path);
    try {
      return await container.getBlobClient(name).downloadToBuffer();
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw explainStorageError(error, connection, container.url);
    }
  };
}

/** Writes a blob as a blob output binding does: the container created if missing, the blob replaced. */
export function createBlobWriter(env: Env) {
  const locate = createBlobLocator(env);
  return async function writeBindingBlob(connection: string, path: string, content: Buffer): Promise<void> {
    const { container, name } = locate(connection, path);
    try {
      await container.createIfNotExists();
      // The host stores what the worker handed over, with no content type of its own.
      await container
        .getBlockBlobClient(name)
        .uploadData(content, { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
    } catch (error) {
      throw explainStorageError(error, connection, container.url);
    }
  };
}
