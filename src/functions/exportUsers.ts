import {
  input,
  type InvocationContext,
  output,
  type StorageBlobInput,
  type StorageBlobOptions,
  type StorageBlobOutput,
  type Timer,
  type TimerFunctionOptions,
} from '@azure/functions';

import { createBindingBlobReader } from '../azure/blobStorage.js';
import { connectDirectory } from '../azure/connectDirectory.js';
import { createStreamStore, type StreamStore } from '../azure/streamExport.js';
import { createRunTelemetry, type RunTelemetry } from '../azure/telemetry.js';
import {
  type ExportConfig,
  loadConfig,
  registrationSettings,
  type TelemetrySettings,
  telemetrySettings,
} from '../config.js';
import { errorCodeOf, PartlyCommittedError, redactedError, toError } from '../errors.js';
import { type BlobLayout, blobLayout, LAYOUT_OF_ROLE, nameInContainer } from '../export/blobLayout.js';
import { memoryStore } from '../export/compressedOutput.js';
import type { ExportWriter } from '../export/exportWriter.js';
import { handOverTooLarge } from '../export/memoryBudget.js';
import { type RunExportDependencies, runExport, type UserDirectory } from '../export/runExport.js';
import type { Env } from '../settings.js';
import { STORAGE_CONNECTION } from '../storageConnection.js';

export const FUNCTION_NAME = 'exportUsers';

export interface ExportUsersDependencies {
  /** The app settings, read once when the function is created (the host restarts when they change). */
  env: Env;
  connect(config: ExportConfig): Promise<UserDirectory>;
  createTelemetry(settings: TelemetrySettings): RunTelemetry;
  /**
   * Reads one blob of the export's storage connection now (a binding path, `container/name`):
   * `latest/manifest.json` again just before publishing, to see whether a newer run has.
   */
  readBlob(path: string): Promise<Buffer | undefined>;
  /**
   * With EXPORT_WRITE=stream: the blobs of this layout, read and written by the run itself; by
   * default through the export's storage connection.
   */
  openStreamStore?(layout: BlobLayout): StreamStore;
  now(): Date;
}

/** A timer function as `app.timer(name, options)` registers it, and its blob outputs by role. */
export interface ExportUsersFunction {
  name: string;
  options: TimerFunctionOptions;
  outputs: Record<keyof BlobLayout, StorageBlobOutput>;
  /** The manifest of the export a run would replace, read by the host before the run. */
  previousManifest: StorageBlobInput;
  /** The state the last successful run kept, for the change report. */
  previousState: StorageBlobInput;
  /** Where the last delta round ended, with EXPORT_DELTA. */
  previousDelta: StorageBlobInput;
}

/** The function's definition: schedule, the blob input and outputs, and the handler. Registers nothing. */
export function createExportUsersFunction(deps: ExportUsersDependencies): ExportUsersFunction {
  const registration = registrationSettings(deps.env);
  const layout = blobLayout(registration);
  // The run's blobs, written by the host only when the handler returns.
  const outputs: Record<keyof BlobLayout, StorageBlobOutput> = {
    latestUsers: output.storageBlob({ path: layout.latestUsers, connection: STORAGE_CONNECTION }),
    latestManifest: output.storageBlob({ path: layout.latestManifest, connection: STORAGE_CONNECTION }),
    latestChanges: output.storageBlob({ path: layout.latestChanges, connection: STORAGE_CONNECTION }),
    state: output.storageBlob({ path: layout.state, connection: STORAGE_CONNECTION }),
    deltaState: output.storageBlob({ path: layout.deltaState, connection: STORAGE_CONNECTION }),
  };
  // Every input as bytes (`dataType: 'binary'`): the manifest names each blob's sha256, which a
  // text decoding could change, the state is gzip, and a blob read as text that holds JSON reaches
  // the function as a parsed object (azure-functions-nodejs-library `fromRpcTypedData`, `tryJsonParse`).
  const bytesOf = (path: string) => input.storageBlob(binaryBlob(path));
  const previousManifest = bytesOf(layout.latestManifest);
  const previousState = bytesOf(layout.state);
  const previousDelta = bytesOf(layout.deltaState);
  const stream = registration.write === 'stream';
  const openStreamStore = (paths: BlobLayout) =>
    deps.openStreamStore?.(paths) ?? createStreamStore(deps.env, STORAGE_CONNECTION, paths);

  /** What the run reads and where it writes: the bindings' inputs and outputs, or Storage directly. */
  async function blobsFor(
    context: InvocationContext,
  ): Promise<
    Pick<
      RunExportDependencies,
      | 'previousManifest'
      | 'previousState'
      | 'previousDelta'
      | 'readPublishedManifest'
      | 'writer'
      | 'keptVersion'
    >
  > {
    if (stream) {
      const store = openStreamStore(layout);
      const kept = await store.readKept();
      return {
        previousManifest: kept.manifest,
        previousState: kept.state,
        previousDelta: kept.delta,
        readPublishedManifest: () => store.readManifestNow(),
        writer: store.writer,
        keptVersion: store.keptVersion,
      };
    }
    return {
      previousManifest: asBytes(context.extraInputs.get(previousManifest)),
      previousState: asBytes(context.extraInputs.get(previousState)),
      previousDelta: asBytes(context.extraInputs.get(previousDelta)),
      readPublishedManifest: () => deps.readBlob(layout.latestManifest),
      writer: bindingsWriter(context, outputs, layout),
    };
  }

  async function exportUsersHandler(_timer: Timer, context: InvocationContext): Promise<void> {
    const telemetry = deps.createTelemetry(telemetrySettings(deps.env));
    try {
      const config = loadConfig(deps.env);
      const result = await runExport(config, {
        runId: runIdOf(context),
        connect: () => deps.connect(config),
        ...(await blobsFor(context)),
        now: () => deps.now(),
        log: { info: (message) => context.log(message), warn: (message) => context.warn(message) },
      });
      if (!result.published) {
        // Nothing (more) written: latest/ and state/ stay as the newer run left them.
        telemetry.trackSuperseded(result.runId, result.newer, result.message);
        return;
      }
      telemetry.trackCompleted(result.manifest);
    } catch (thrown) {
      const code = errorCodeOf(thrown);
      const error = redactedError(toError(thrown));
      const left =
        thrown instanceof PartlyCommittedError
          ? 'latest/manifest.json is unchanged and still names the last export'
          : 'nothing was written and the last export is unchanged';
      context.error(`Export failed (${code}); ${left}. ${error.message}`);
      telemetry.trackFailed(error, code);
      throw error;
    } finally {
      await telemetry.flush().catch((error: unknown) => {
        context.warn(
          `Application Insights did not accept the run's telemetry: ${redactedError(toError(error)).message}`,
        );
      });
    }
  }

  return {
    name: FUNCTION_NAME,
    outputs,
    previousManifest,
    previousState,
    previousDelta,
    options: {
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
      // A stream-mode run reads and writes its blobs itself: the host binds none of them.
      extraInputs: stream ? [] : [previousManifest, previousState, previousDelta],
      extraOutputs: stream ? [] : Object.values(outputs),
      handler: exportUsersHandler,
    },
  };
}

/**
 * EXPORT_WRITE=bindings: every blob kept in memory and handed to the host with the manifest, when
 * the handler returns; the host writes them (concurrently, without conditions).
 */
function bindingsWriter(
  context: InvocationContext,
  outputs: Record<keyof BlobLayout, StorageBlobOutput>,
  layout: BlobLayout,
): ExportWriter {
  const contents = new Map<keyof BlobLayout, Buffer>();
  return {
    mode: 'bindings',
    store: () => memoryStore(),
    async commitData(blobs) {
      for (const blob of blobs) contents.set(LAYOUT_OF_ROLE[blob.role], blob.content ?? Buffer.alloc(0));
      return { committed: true, versionIds: {} };
    },
    async commitManifest(manifest) {
      contents.set('latestManifest', manifest);
      // Every output travels to the host in one gRPC message: their sum, not each blob, must fit.
      const tooLarge = handOverTooLarge(
        [...contents].map(([output, content]) => ({
          name: nameInContainer(layout[output]),
          bytes: content.length,
        })),
      );
      if (tooLarge !== undefined) throw tooLarge;
      for (const [output, content] of contents) context.extraOutputs.set(outputs[output], content);
      return { committed: true, versionIds: {} };
    },
  };
}

/** A blob input binding that hands the blob over as its bytes. */
function binaryBlob(path: string): StorageBlobOptions & { dataType: 'binary' } {
  // `dataType` is a binding property the host reads (BindingMetadata.DataType); the v4 typings lack it.
  return { path, connection: STORAGE_CONNECTION, dataType: 'binary' };
}

/**
 * The run's id: the invocation id, which the host's logs and Application Insights carry too. A
 * timer retry keeps its invocation's id (azure-webjobs-sdk `TriggeredFunctionExecutor`), so each
 * attempt after the first adds its number.
 */
function runIdOf(context: InvocationContext): string {
  const attempt = context.retryContext?.retryCount ?? 0;
  return attempt > 0 ? `${context.invocationId}-r${attempt}` : context.invocationId;
}

/** A blob input as the worker hands it over (bytes, or text for a blob it read as a string), or nothing. */
function asBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return undefined;
}

/** The function as it runs in Azure: Key Vault, Graph and Application Insights for real. */
export function createProductionExportUsers(env: Env): ExportUsersFunction {
  return createExportUsersFunction({
    env,
    connect: connectDirectory,
    createTelemetry: createRunTelemetry,
    readBlob: createBindingBlobReader(env, STORAGE_CONNECTION),
    now: () => new Date(),
  });
}
