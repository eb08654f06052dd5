import { ManagedIdentityCredential } from '@azure/identity';
import { TelemetryClient } from 'applicationinsights';

import type { TelemetrySettings } from '../config.js';
import type { ExportManifest } from '../export/manifest.js';

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

/** Application Insights when a connection string is set; otherwise nothing at all. */
export function createRunTelemetry(settings: TelemetrySettings): RunTelemetry {
  const { connectionString, entraAuthentication: entra } = settings;
  if (connectionString === undefined) return silent;
  // Own providers, not the global ones: the export reports its runs and does not instrument the process.
  const client = new TelemetryClient(connectionString, { useGlobalProviders: false });
  client.config.samplingPercentage = 100;
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
