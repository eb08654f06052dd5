import { ManagedIdentityCredential } from '@azure/identity';
import { TelemetryClient } from 'applicationinsights';

import type { TelemetrySettings } from '../config.js';
import type { ErrorCode } from '../errors.js';
import type { ExportManifest } from '../export/manifest.js';
import type { NewerRun } from '../export/runIdentity.js';
import { TELEMETRY_FLUSH_TIMEOUT_MS, withDeadline } from './deadlines.js';

/** What a run reports to Application Insights. */
export interface RunTelemetry {
  trackCompleted(manifest: ExportManifest): void;
  /** `code` is stable (see ERROR_CODES) so that an alert can be written on it. */
  trackFailed(error: Error, code: ErrorCode): void;
  /** The run published nothing: a run that started later had published meanwhile. */
  /** A run that published nothing (more) because another run's blobs are newer; `newer` when it names itself. */
  trackSuperseded(runId: string, newer: NewerRun | undefined, message: string): void;
  flush(): Promise<void>;
}

export const EXPORT_COMPLETED_EVENT = 'EntraUserExportCompleted';
export const EXPORT_SUPERSEDED_EVENT = 'EntraUserExportSuperseded';

const silent: RunTelemetry = {
  trackCompleted: () => undefined,
  trackFailed: () => undefined,
  trackSuperseded: () => undefined,
  flush: async () => undefined,
};

/**
 * Application Insights when a connection string is set; otherwise nothing at all. The flush ends
 * by its deadline even when the ingestion endpoint accepts the connection and never answers.
 */
export function createRunTelemetry(
  settings: TelemetrySettings,
  flushTimeoutMs = TELEMETRY_FLUSH_TIMEOUT_MS,
): RunTelemetry {
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
      client.trackEvent(completedEvent(manifest));
    },
    trackFailed(error, code) {
      client.trackException({ exception: error, properties: { operation: 'exportUsers', errorCode: code } });
    },
    trackSuperseded(runId, newer, message) {
      client.trackEvent({
        name: EXPORT_SUPERSEDED_EVENT,
        properties: {
          runId,
          outcome: 'superseded',
          ...(newer === undefined ? {} : { newerRunId: newer.runId, newerRunStartedAt: newer.startedAt }),
          message,
        },
      });
    },
    flush: () =>
      withDeadline(
        {
          service: 'Application Insights',
          host: ingestionHost(connectionString),
          waitingFor: "the run's telemetry was not accepted",
          timeoutMs: flushTimeoutMs,
        },
        () => client.flush(),
      ),
  };
}

/** The connection string's IngestionEndpoint host (the SDK's default when it names none). */
function ingestionHost(connectionString: string): string {
  const endpoint = /(?:^|;)\s*IngestionEndpoint\s*=\s*([^;]+)/i.exec(connectionString)?.[1]?.trim();
  try {
    return new URL(endpoint ?? 'https://dc.services.visualstudio.com').host;
  } catch {
    return 'the ingestion endpoint';
  }
}

/** The completion event: what was exported, how the listing went, and what the guard decided. */
export function completedEvent(manifest: ExportManifest) {
  const { listing, guard } = manifest;
  const measurements: Record<string, number> = {
    userCount: manifest.userCount,
    pages: manifest.pages,
    retries: manifest.retries,
    throttledRetries: listing.retries.throttled,
    transientRetries: listing.retries.transient,
    partitions: listing.partitions,
    bytes: manifest.bytes,
    durationMs: manifest.durationMs,
  };
  if (listing.graphCount !== undefined) measurements['graphCount'] = listing.graphCount;
  if (listing.countDifference !== undefined) measurements['countDifference'] = listing.countDifference;
  if (guard.previousUserCount !== null) measurements['previousUserCount'] = guard.previousUserCount;
  if (manifest.changes.compared) {
    measurements['usersAdded'] = manifest.changes.added;
    measurements['usersRemoved'] = manifest.changes.removed;
    measurements['usersChanged'] = manifest.changes.changed;
  }
  return {
    name: EXPORT_COMPLETED_EVENT,
    properties: {
      runId: manifest.runId,
      format: manifest.format,
      compression: manifest.compression,
      write: manifest.write,
      blobName: manifest.blobName,
      sha256: manifest.sha256,
      tenant: manifest.tenant,
      listingMode: listing.mode,
      guardDecision: guard.decision,
      guardLimit: guard.limit,
      notes: listing.notes.join(' | '),
      ...(manifest.credentialWarning === null ? {} : { credentialWarning: manifest.credentialWarning }),
    },
    measurements,
  };
}
