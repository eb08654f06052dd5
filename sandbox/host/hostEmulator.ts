/**
 * What the Functions host does between a timer function's handler and Storage, for running the
 * function on this machine without Core Tools. Each behaviour follows the host's source:
 * - blob inputs are read before the handler runs (a missing blob is null), as bytes with
 *   `dataType: 'binary'`, else as text that the worker parses when it holds JSON;
 * - the handler runs with an InvocationContext holding its declared extra inputs and outputs;
 * - a handler that throws writes nothing (`GrpcWorkerChannel` faults the invocation before
 *   `BindOutputsAsync`);
 * - otherwise every output the handler set crosses to the host in one message (counted here in
 *   bytes, since in Azure those bytes are held by the host too), and
 * - the outputs are bound concurrently (`WorkerFunctionInvoker.BindOutputsAsync`, `Task.WhenAll`),
 *   each path resolved at bind time, every `{DateTime}` token with its own clock reading.
 */
import azureFunctions, {
  type FunctionInput,
  type FunctionOutput,
  type Timer,
  type TimerFunctionOptions,
} from '@azure/functions';

import type { Env } from '../../src/settings.js';
import { resolveBindingPath } from './bindingExpressions.js';
import { createBlobReader, createBlobWriter } from './blobConnection.js';

// Node's ESM loader cannot see this CommonJS bundle's InvocationContext as a named export.
const { InvocationContext } = azureFunctions;

/** The handler threw (and logged why); like the host, the emulator wrote none of its outputs. */
export class FunctionFailedError extends Error {
  constructor(functionName: string, cause: unknown) {
    super(`${functionName} failed.`, { cause });
    this.name = 'FunctionFailedError';
  }
}

/** Some outputs could not be written after the handler succeeded; others may have been. */
export class OutputBindingError extends Error {
  constructor(
    readonly written: readonly WrittenBlob[],
    readonly failed: readonly { path: string; error: unknown }[],
  ) {
    super(
      `Writing ${failed.length} of the function's outputs failed (${failed.map((f) => `${f.path}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ')}); ` +
        `${written.length} were written: ${written.map((blob) => blob.path).join(', ') || 'none'}.`,
    );
    this.name = 'OutputBindingError';
  }
}

export interface WrittenBlob {
  path: string;
  bytes: number;
}

export interface TimerFunctionDefinition {
  name: string;
  options: TimerFunctionOptions;
}

export interface HostEmulatorOptions {
  /** App settings: `%SETTING%` in paths and the outputs' connections are resolved from them. */
  env: Env;
  log(level: string, message: string): void;
  /** The host's clock, read once per `{DateTime}` token at bind time. */
  clock?: () => Date;
  /** Stores one blob; by default, in the account the output's connection names. */
  writeBlob?: (connection: string, path: string, content: Buffer) => Promise<void>;
  /** Reads one blob, undefined when there is none; by default, from the input's connection. */
  readBlob?: (connection: string, path: string) => Promise<Buffer | undefined>;
}

export interface Invocation {
  /** The invocation id the function ran with (a stream-mode run names its manifest after it). */
  invocationId: string;
  /** Output bytes the worker handed to the host, summed over every output set (as Azure would carry them). */
  handedOverBytes: number;
  written: WrittenBlob[];
  /** The outputs' contents, by their declared (unresolved) path. */
  outputs: Map<string, Buffer>;
}

const MANUAL_TIMER: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

/** Runs a timer function once as the host would, then binds its blob outputs. */
export async function invokeTimerFunction(
  definition: TimerFunctionDefinition,
  options: HostEmulatorOptions,
): Promise<Invocation> {
  const clock = options.clock ?? (() => new Date());
  const writeBlob = options.writeBlob ?? createBlobWriter(options.env);
  const readBlob = options.readBlob ?? createBlobReader(options.env);
  const declared = toArray(definition.options.extraOutputs);
  const inputs = toArray(definition.options.extraInputs);
  const invocationId = crypto.randomUUID();
  const context = new InvocationContext({
    functionName: definition.name,
    invocationId,
    logHandler: (level, ...args) => options.log(level, args.map(String).join(' ')),
    options: { extraInputs: inputs, extraOutputs: declared },
  });
  for (const binding of inputs) {
    if (!isBlobBinding(binding)) throw new Error(`The emulator binds blob inputs only; got ${binding.type}.`);
    const path = resolveBindingPath(binding.path, options.env, clock);
    const content = await readBlob(binding.connection, path);
    context.extraInputs.set(binding, content === undefined ? null : asWorkerHandsOver(binding, content));
  }
  try {
    await definition.options.handler(MANUAL_TIMER, context);
  } catch (error) {
    throw new FunctionFailedError(definition.name, error);
  }

  // The hand-over: everything the handler set, in one message to the host.
  const outputs = new Map<string, Buffer>();
  const handedOver: { output: BlobBinding; content: Buffer }[] = [];
  for (const output of declared) {
    if (!isBlobBinding(output)) throw new Error(`The emulator binds blob outputs only; got ${output.type}.`);
    const value = context.extraOutputs.get(output);
    if (value === undefined || value === null) continue; // The host writes nothing for an unset output.
    const content = toBytes(value);
    handedOver.push({ output, content });
    outputs.set(output.path, content);
  }
  const handedOverBytes = handedOver.reduce((sum, item) => sum + item.content.length, 0);

  const results = await Promise.allSettled(
    handedOver.map(async ({ output, content }) => {
      const path = resolveBindingPath(output.path, options.env, clock);
      await writeBlob(output.connection, path, content);
      return { path, bytes: content.length };
    }),
  );
  const written = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = results.flatMap((result, index) =>
    result.status === 'rejected'
      ? [{ path: handedOver[index]!.output.path, error: result.reason as unknown }]
      : [],
  );
  if (failed.length > 0) throw new OutputBindingError(written, failed);
  return { invocationId, handedOverBytes, written, outputs };
}

/**
 * A blob input as the Node worker hands it to the function: the host sends bytes for
 * `dataType: 'binary'` and a string otherwise, and the library parses a string that holds JSON
 * (azure-functions-nodejs-library `src/converters/fromRpcTypedData.ts`, 0e7efadc: `tryJsonParse`).
 */
function asWorkerHandsOver(binding: BlobBinding, content: Buffer): unknown {
  if (binding['dataType'] === 'binary') return content;
  const text = content.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

interface BlobBinding extends FunctionOutput {
  path: string;
  connection: string;
}

function isBlobBinding(binding: FunctionInput | FunctionOutput): binding is BlobBinding {
  return (
    binding.type === 'blob' &&
    typeof binding['path'] === 'string' &&
    typeof binding['connection'] === 'string'
  );
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** As the worker serialises an output: bytes as they are, strings as UTF-8, anything else as JSON. */
function toBytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}
