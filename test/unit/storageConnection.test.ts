import { describe, expect, it } from 'vitest';

import { resolveStorageConnection } from '../../src/storageConnection.js';

describe('the storage connection, resolved as the host resolves it', () => {
  it('takes a connection string in the setting itself first', () => {
    expect(
      resolveStorageConnection({
        EXPORT_STORAGE: 'UseDevelopmentStorage=true',
        EXPORT_STORAGE__accountName: 'x',
      }),
    ).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  });

  it('then the account name, before a service URI (StorageClientProvider.TryGetServiceUri)', () => {
    expect(
      resolveStorageConnection({
        EXPORT_STORAGE__accountName: 'byname',
        EXPORT_STORAGE__blobServiceUri: 'https://byuri.blob.core.windows.net',
        EXPORT_STORAGE__clientId: 'client',
      }),
    ).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://byname.blob.core.windows.net',
      clientId: 'client',
    });
    expect(
      resolveStorageConnection({
        EXPORT_STORAGE__blobServiceUri: 'https://byuri.blob.core.windows.net',
        EXPORT_STORAGE__serviceUri: 'https://other.blob.core.windows.net',
      }),
    ).toMatchObject({ blobServiceUri: 'https://byuri.blob.core.windows.net' });
    expect(resolveStorageConnection({})).toBeUndefined();
  });
});
