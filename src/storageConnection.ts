import type { Env } from './settings.js';

/** The storage connection's name as the blob output bindings see it. */
export const STORAGE_CONNECTION = 'EXPORT_STORAGE';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; clientId: string | undefined };

/**
 * Where a Functions connection name points, by the Storage extension's rules: a connection string
 * in the setting itself, or an identity-based connection in `<name>__accountName` (the public
 * cloud), `<name>__blobServiceUri` or `__serviceUri`, with `__credential` and `__clientId`.
 */
export function resolveStorageConnection(env: Env, name = STORAGE_CONNECTION): StorageConnection | undefined {
  const read = (suffix: string) => {
    const value = env[`${name}${suffix}`]?.trim();
    return value === '' ? undefined : value;
  };
  const connectionString = read('');
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  // The host's order (azure-sdk-for-net Microsoft.Azure.WebJobs.Extensions.Clients
  // StorageClientProvider.TryGetServiceUri, 31ad55ab): the account name first, then the URI.
  const accountName = read('__accountName');
  const blobServiceUri =
    (accountName === undefined ? undefined : `https://${accountName}.blob.core.windows.net`) ??
    read('__blobServiceUri') ??
    read('__serviceUri');
  if (blobServiceUri === undefined) return undefined;
  return { kind: 'identity', blobServiceUri, clientId: read('__clientId') };
}
