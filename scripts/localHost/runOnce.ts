import azureFunctions, { type Timer } from '@azure/functions';

import type { Env } from '../../src/config.js';
import type { ExportManifest } from '../../src/export/runExport.js';
import { resolveBindingPath } from './bindingPath.js';
import { blobServiceFor, createBindingWriter } from './blobStorage.js';

/** The function itself threw (and logged why); the host would write none of its bindings. */
export class FunctionFailedError extends Error {
  constructor(cause: unknown) {
    super('exportUsers failed.', { cause });
    this.name = 'FunctionFailedError';
  }
}

export interface WrittenBlob {
  path: string;
  bytes: number;
}

export interface RunOnceResult {
  manifest: ExportManifest;
  written: WrittenBlob[];
}

// Node's ESM loader cannot see this CommonJS bundle's InvocationContext as a named export.
const { InvocationContext } = azureFunctions;

const MANUAL_TIMER: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

/**
 * Runs exportUsers once outside the Functions host, then does what the host does with its
 * blob output bindings. A failed run throws and writes nothing, as under the host.
 */
export async function runExportOnce(
  settings: Env,
  log: (level: string, message: string) => void,
): Promise<RunOnceResult> {
  // The function module reads its binding paths from the environment when it loads.
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) process.env[name] = value;
  const { exportUsers, blobOutputs, FUNCTION_NAME } = await withoutTestModeWarnings(
    () => import('../../src/functions/exportUsers.js'),
  );

  const outputs = [
    blobOutputs.latestUsers,
    blobOutputs.snapshotUsers,
    blobOutputs.latestManifest,
    blobOutputs.snapshotManifest,
  ];
  const context = new InvocationContext({
    functionName: FUNCTION_NAME,
    invocationId: crypto.randomUUID(),
    logHandler: (level, ...args) => log(level, args.map(String).join(' ')),
    options: { extraOutputs: outputs },
  });
  const invokedAt = new Date();
  try {
    await exportUsers(MANUAL_TIMER, context);
  } catch (error) {
    throw new FunctionFailedError(error);
  }

  const writeBindingBlob = createBindingWriter(blobServiceFor(settings));
  const written: WrittenBlob[] = [];
  // Users first, manifests last: a manifest never describes a blob that is not there yet.
  for (const output of outputs) {
    const content = context.extraOutputs.get(output);
    if (!Buffer.isBuffer(content))
      throw new Error(`${FUNCTION_NAME} returned without setting ${output.path}.`);
    const path = resolveBindingPath(output.path, settings, invokedAt);
    await writeBindingBlob(path, content);
    written.push({ path, bytes: content.length });
  }
  const manifest = JSON.parse(
    (context.extraOutputs.get(blobOutputs.latestManifest) as Buffer).toString('utf8'),
  ) as ExportManifest;
  return { manifest, written };
}

/**
 * Outside the host, @azure/functions warns that it skips registering the function. Here that is
 * the point: the runner plays the host's part itself, so those two warnings are only noise.
 */
async function withoutTestModeWarnings<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (
      typeof first === 'string' &&
      /^WARNING: (Failed to detect the Azure Functions runtime|Skipping call to register function)/.test(
        first,
      )
    )
      return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
