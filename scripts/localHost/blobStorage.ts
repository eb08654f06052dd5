import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

import { type Env, STORAGE_CONNECTION } from '../../src/config.js';

/** The blob service a Functions connection name points at, as the host resolves it. */
export function blobServiceFor(env: Env, connection = STORAGE_CONNECTION): BlobServiceClient {
  const connectionString = env[connection]?.trim();
  if (connectionString) return BlobServiceClient.fromConnectionString(connectionString);
  const serviceUri = env[`${connection}__blobServiceUri`]?.trim() ?? env[`${connection}__serviceUri`]?.trim();
  const accountName = env[`${connection}__accountName`]?.trim();
  const url = serviceUri ?? (accountName ? `https://${accountName}.blob.core.windows.net` : undefined);
  if (url === undefined) {
    throw new Error(
      `Set ${connection} (a connection string) or ${connection}__blobServiceUri to say where the export goes.`,
    );
  }
  const clientId = env[`${connection}__clientId`]?.trim();
  return new BlobServiceClient(
    url,
    new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
  );
}

/** Writes one blob as a blob output binding does: creating the container, replacing the blob. */
export async function writeBindingBlob(
  service: BlobServiceClient,
  path: string,
  content: Buffer,
): Promise<void> {
  const slash = path.indexOf('/');
  const container = service.getContainerClient(path.slice(0, slash));
  await container.createIfNotExists();
  await container.getBlockBlobClient(path.slice(slash + 1)).uploadData(content, {
    blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
  });
}
