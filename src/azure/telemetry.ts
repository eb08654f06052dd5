import { ManagedIdentityCredential } from '@azure/identity';
import { TelemetryClient } from 'applicationinsights';

import type { Env } from '../config.js';
import type { ExportManifest } from '../export/runExport.js';

/** What a run reports to Application Insights. */
export interface RunTelemetry {
  trackCompleted(manifest: ExportManifest): void;
  trackFailed(error: Error): void;
  flush(): Promise<void>;
}

export const EXPORT_COMPLETED_EVENT = 'EntraUserExportCompleted';

const silent: RunTelemetry = {
  trackCompleted: () => undefined,
  trackFailed: () => undefined,
  flush: async () => undefined,
};

/**
 * Reads `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` as the Functions host does
 * (`Authorization=AAD[;ClientId=<user-assigned identity>]`), for resources with local auth disabled.
 */
export function entraAuthentication(value: string | undefined): { clientId: string | undefined } | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parts = new Map(
    value.split(';').map((part) => {
      const [key = '', ...rest] = part.split('=');
      return [key.trim().toLowerCase(), rest.join('=').trim()] as const;
    }),
  );
  if (parts.get('authorization')?.toUpperCase() !== 'AAD') return undefined;
  return { clientId: parts.get('clientid') || undefined };
}

/** Application Insights when a connection string is set; otherwise nothing at all. */
export function createRunTelemetry(env: Env): RunTelemetry {
  const connectionString = env['APPLICATIONINSIGHTS_CONNECTION_STRING']?.trim();
  if (!connectionString) return silent;
  // Own providers, not the global ones: the export reports its runs and does not instrument the process.
  const client = new TelemetryClient(connectionString, { useGlobalProviders: false });
  client.config.samplingPercentage = 100;
  const entra = entraAuthentication(env['APPLICATIONINSIGHTS_AUTHENTICATION_STRING']);
  if (entra) {
    client.config.aadTokenCredential = entra.clientId
      ? new ManagedIdentityCredential({ clientId: entra.clientId })
      : new ManagedIdentityCredential();
  }
  client.initialize();
  return {
    trackCompleted(manifest) {
      client.trackEvent({
        name: EXPORT_COMPLETED_EVENT,
        properties: {
          format: manifest.format,
          compression: manifest.compression,
          blobName: manifest.blobName,
          sha256: manifest.sha256,
          tenant: manifest.tenant,
        },
        measurements: {
          userCount: manifest.userCount,
          pages: manifest.pages,
          retries: manifest.retries,
          bytes: manifest.bytes,
          durationMs: manifest.durationMs,
        },
      });
    },
    trackFailed(error) {
      client.trackException({ exception: error, properties: { operation: 'exportUsers' } });
    },
    flush: () => client.flush(),
  };
}
