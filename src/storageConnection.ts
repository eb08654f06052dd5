import type { Env } from './settings.js';

/** The storage connection's name as the blob output bindings see it. */
export const STORAGE_CONNECTION = 'EXPORT_STORAGE';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; clientId: string | undefined };

/**
 * Where a Functions connection name points, by the Storage extension's rules: a connection string
 * in the setting itself, or an identity-based connection in `<name>__blobServiceUri` (also
 * `__serviceUri`, or `__accountName` for the public cloud) with `__credential` and `__clientId`.
 */
export function resolveStorageConnection(env: Env, name = STORAGE_CONNECTION): StorageConnection | undefined {
  const read = (suffix: string) => {
    const value = env[`${name}${suffix}`]?.trim();
    return value === '' ? undefined : value;
  };
  const connectionString = read('');
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  const accountName = read('__accountName');
  const blobServiceUri =
    read('__blobServiceUri') ??
    read('__serviceUri') ??
    (accountName === undefined ? undefined : `https://${accountName}.blob.core.windows.net`);
  if (blobServiceUri === undefined) return undefined;
  return { kind: 'identity', blobServiceUri, clientId: read('__clientId') };
}
