import { app, type InvocationContext, output, type StorageBlobOutput, type Timer } from '@azure/functions';

import { connectDirectory } from '../azure/connectDirectory.js';
import { createRunTelemetry, type RunTelemetry } from '../azure/telemetry.js';
import { type Env, type ExportConfig, loadConfig, STORAGE_CONNECTION } from '../config.js';
import { toError } from '../errors.js';
import { FUNCTION_NAME } from './functionName.js';
import { type BlobLayout, registrationSettings } from '../export/blobLayout.js';
import { manifestBytes, runExport, type UserDirectory } from '../export/runExport.js';

export { FUNCTION_NAME };

const registration = registrationSettings(process.env);

/** The run's four blobs, written by the host only when the handler returns. */
export const blobOutputs: Record<keyof BlobLayout, StorageBlobOutput> = {
  latestUsers: output.storageBlob({ path: registration.layout.latestUsers, connection: STORAGE_CONNECTION }),
  latestManifest: output.storageBlob({
    path: registration.layout.latestManifest,
    connection: STORAGE_CONNECTION,
  }),
  snapshotUsers: output.storageBlob({
    path: registration.layout.snapshotUsers,
    connection: STORAGE_CONNECTION,
  }),
  snapshotManifest: output.storageBlob({
    path: registration.layout.snapshotManifest,
    connection: STORAGE_CONNECTION,
  }),
};

export interface ExportUsersDependencies {
  env: Env;
  connect(config: ExportConfig): Promise<UserDirectory>;
  createTelemetry(env: Env): RunTelemetry;
  now(): Date;
}

export function createExportUsersHandler(deps: ExportUsersDependencies) {
  return async function exportUsersHandler(_timer: Timer, context: InvocationContext): Promise<void> {
    const telemetry = deps.createTelemetry(deps.env);
    try {
      const config = loadConfig(deps.env);
      const result = await runExport(config, {
        connect: () => deps.connect(config),
        now: () => deps.now(),
        log: { info: (message) => context.log(message) },
      });
      const manifest = manifestBytes(result.manifest);
      context.extraOutputs.set(blobOutputs.latestUsers, result.users);
      context.extraOutputs.set(blobOutputs.snapshotUsers, result.users);
      context.extraOutputs.set(blobOutputs.latestManifest, manifest);
      context.extraOutputs.set(blobOutputs.snapshotManifest, manifest);
      telemetry.trackCompleted(result.manifest);
    } catch (thrown) {
      const error = toError(thrown);
      context.error(`Export failed; nothing was written and the last export is unchanged. ${error.message}`);
      telemetry.trackFailed(error);
      throw error;
    } finally {
      await telemetry.flush().catch((error: unknown) => {
        context.warn(`Application Insights did not accept the run's telemetry: ${toError(error).message}`);
      });
    }
  };
}

export const exportUsers = createExportUsersHandler({
  env: process.env,
  connect: connectDirectory,
  createTelemetry: createRunTelemetry,
  now: () => new Date(),
});

app.timer(FUNCTION_NAME, {
  schedule: registration.schedule,
  runOnStartup: false,
  useMonitor: true,
  // A transient outage (Graph, Key Vault, Storage) gets a few more tries before the next schedule.
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: 3,
    minimumInterval: { minutes: 1 },
    maximumInterval: { minutes: 15 },
  },
  extraOutputs: Object.values(blobOutputs),
  handler: exportUsers,
});
