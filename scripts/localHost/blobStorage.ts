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

/**
 * Writes blobs as blob output bindings do: creating the container, replacing the blob. Content
 * already written in this run (the snapshot is the latest export's bytes) is copied within the
 * account instead of sent again, which halves what a laptop uploads for a large tenant.
 */
export function createBindingWriter(service: BlobServiceClient) {
  const written = new Map<Buffer, string>();
  const blobAt = (path: string) => {
    const slash = path.indexOf('/');
    return { container: service.getContainerClient(path.slice(0, slash)), name: path.slice(slash + 1) };
  };
  return async function writeBindingBlob(path: string, content: Buffer): Promise<void> {
    const { container, name } = blobAt(path);
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient(name);
    const sameContent = written.get(content);
    if (sameContent !== undefined) {
      const source = blobAt(sameContent);
      const copy = await blob.beginCopyFromURL(source.container.getBlobClient(source.name).url);
      await copy.pollUntilDone();
    } else {
      await blob.uploadData(content, { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
    }
    written.set(content, path);
  };
}
