/**
 * What one Flex Consumption instance must hold at the peak of a run, estimated from the size of
 * the export. The worker's part is measured (`npm run bench`); the hand-over's copies are derived
 * from the sources of the Node.js worker (protobuf encoding, then grpc-js framing into a new
 * buffer) and of the host (`GrpcMessageConversionExtensions`: the received message, a
 * `ByteString`, then a byte-array copy). The README's Performance section gives the figures.
 */

import { ExportError } from '../errors.js';

const MIB = 1024 * 1024;

/** The worker with the SDKs loaded, before the first page (bench, 10k-user rows). */
export const WORKER_BASELINE_BYTES = 180 * MIB;
/** An allowance for the Functions host process itself: not measurable here, so generous. */
export const HOST_BASELINE_BYTES = 300 * MIB;
/** Above the export buffer, the worker's peak grows by about this much per user (bench, 1M users). */
export const WORKER_BYTES_PER_USER = 150;
/** The worker's encoded and framed message (2) and the host's message, ByteString and byte array (3). */
export const HAND_OVER_COPIES = 5;
/**
 * The canonical state (`state/users.ndjson.gz`, about 60 bytes a user): read in through a blob
 * input (the host's blob, message, ByteString and byte array, the worker's buffer), rebuilt by the
 * worker, and handed back (two worker copies, three host copies): ten copies at worst.
 */
export const STATE_BYTES_PER_USER = 60;
export const STATE_COPIES = 10;
/**
 * Both gRPC ends cap a message at int.MaxValue (azure-functions-host:
 * RpcWorkerConstants.DefaultMaxMessageLengthBytes, the limit its gRPC server's Startup.cs applies;
 * not configurable), and the worker returns every output binding of an invocation in one
 * InvocationResponse: the outputs' sum must fit in one.
 */
export const GRPC_MESSAGE_LIMIT_BYTES = 2 ** 31 - 1;
/** The rest of that message (binding names, the invocation id, the protobuf framing): generous. */
export const HAND_OVER_OVERHEAD_BYTES = MIB;
/** Warn when the estimate passes this share of a limit. */
export const WARNING_SHARE = 0.8;

/**
 * EXPORT_WRITE=stream, measured (`npm run bench`, stream cases: the run that compares with a kept
 * state): the worker peaks at about this much plus STREAM_WORKER_BYTES_PER_USER a user. The fixed
 * part is the process with the SDKs, the blocks in flight (two 2 MiB blocks and one filling for each
 * blob being written) and the gzip streams; it is larger than the bindings' baseline, which is
 * measured at 10k users, since it is read off runs of millions.
 */
export const STREAM_WORKER_BASELINE_BYTES = 345 * MIB;
/**
 * Per user, with EXPORT_WRITE=stream: the previous state's index (id key, digest, hash slot), which
 * the listing's no-id-twice check shares, and a few bytes of bookkeeping (10M users: 762 MB).
 */
export const STREAM_WORKER_BYTES_PER_USER = 50;

export interface ExportSize {
  userCount: number;
  /** The stored users blob, as handed to the host. */
  bytes: number;
  /**
   * Every blob the run handed to the host, the users blob among them (the change report, the
   * state, the delta link, the manifest: whatever the manifest names); the users blob alone
   * when nothing more is known.
   */
  outputBytes?: readonly number[];
}

/** One output binding's content on its way to the host. */
export interface HandedOutput {
  name: string;
  bytes: number;
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const byteCount = (bytes: number) => `${bytes.toLocaleString('en-US')} bytes`;

/**
 * Refuses a run whose outputs, together, exceed what one gRPC message carries: the host would
 * drop the whole response and write none of them, after the run's work. Checked before anything
 * is handed over, so the run fails with the remedy instead.
 */
export function handOverTooLarge(outputs: readonly HandedOutput[]): ExportError | undefined {
  const total = sum(outputs.map((output) => output.bytes));
  if (total + HAND_OVER_OVERHEAD_BYTES <= GRPC_MESSAGE_LIMIT_BYTES) return undefined;
  const parts = outputs.map((output) => `${output.name} ${byteCount(output.bytes)}`).join(', ');
  return new ExportError(
    `This run's outputs total ${byteCount(total)} (${parts}), more than the 2 GiB (${byteCount(GRPC_MESSAGE_LIMIT_BYTES)}) the Functions host takes from the worker in one message, which carries them all; nothing was published.`,
    {
      remedy:
        'Set EXPORT_WRITE=stream (the run writes its blobs itself, with no such limit), or EXPORT_COMPRESS=gzip (about 8x smaller), or narrow EXPORT_SELECT.',
      code: 'ExportTooLarge',
    },
  );
}

/** The instance's estimated peak: both processes, the export buffer, and its copies on the way to the host. */
export function estimateInstancePeakBytes(size: ExportSize): number {
  const worker = WORKER_BASELINE_BYTES + size.bytes + WORKER_BYTES_PER_USER * size.userCount;
  const state = STATE_COPIES * STATE_BYTES_PER_USER * size.userCount;
  return HOST_BASELINE_BYTES + worker + HAND_OVER_COPIES * size.bytes + state;
}

/** The instance's estimated peak with EXPORT_WRITE=stream: nothing crosses to the host, whatever the export's size. */
export function estimateStreamPeakBytes(userCount: number): number {
  return HOST_BASELINE_BYTES + STREAM_WORKER_BASELINE_BYTES + STREAM_WORKER_BYTES_PER_USER * userCount;
}

/** The most users an instance of this size holds with EXPORT_WRITE=stream, in any format. */
export function largestStreamTenant(instanceMemoryMB: number): number {
  const available = instanceMemoryMB * MIB - estimateStreamPeakBytes(0);
  return Math.max(0, Math.floor(available / STREAM_WORKER_BYTES_PER_USER));
}

/** The most users an instance of this size holds, for exports of this many bytes per user. */
export function largestTenant(instanceMemoryMB: number, bytesPerUser: number): number {
  const available = instanceMemoryMB * MIB - HOST_BASELINE_BYTES - WORKER_BASELINE_BYTES;
  const byMemory =
    available /
    ((1 + HAND_OVER_COPIES) * bytesPerUser + WORKER_BYTES_PER_USER + STATE_COPIES * STATE_BYTES_PER_USER);
  // The users blob and the state travel in the same message.
  const byMessage =
    (GRPC_MESSAGE_LIMIT_BYTES - HAND_OVER_OVERHEAD_BYTES) / (bytesPerUser + STATE_BYTES_PER_USER);
  return Math.max(0, Math.floor(Math.min(byMemory, byMessage)));
}

/** A warning when an export the size of the last one comes near what the instance or one gRPC message can hold. */
export function memoryWarning(
  previous: ExportSize,
  instanceMemoryMB: number,
  write: 'bindings' | 'stream' = 'bindings',
): string | undefined {
  const instance = instanceMemoryMB * MIB;
  const mb = (bytes: number) => `${Math.round(bytes / MIB).toLocaleString('en-US')} MiB`;
  const last = `The last export was ${mb(previous.bytes)} for ${previous.userCount.toLocaleString('en-US')} users`;
  if (write === 'stream') {
    const peak = estimateStreamPeakBytes(previous.userCount);
    if (peak <= WARNING_SHARE * instance) return undefined;
    return (
      `${last}; writing it in stream mode needs about ${mb(peak)} of this ${mb(instance)} instance ` +
      '(EXPORT_INSTANCE_MEMORY_MB), the index of every user included. ' +
      (instanceMemoryMB < 4096
        ? 'Deploy with instanceMemoryMB=4096.'
        : 'Narrow EXPORT_FILTER, or split the export by filter.')
    );
  }
  const stream = ` Or set EXPORT_WRITE=stream: the run writes its blobs itself, in memory bounded by the work in flight (about ${mb(estimateStreamPeakBytes(previous.userCount))} for this tenant).`;
  const peak = estimateInstancePeakBytes(previous);
  const handedOver = sum(previous.outputBytes ?? [previous.bytes]);
  if (handedOver > WARNING_SHARE * GRPC_MESSAGE_LIMIT_BYTES) {
    return (
      `${last}, and its outputs together ${mb(handedOver)}, near the 2 GiB the worker can hand to the Functions host in one message (every output travels in it); ` +
      `a larger export fails outright. Set EXPORT_COMPRESS=gzip (about 8x smaller) or narrow EXPORT_SELECT.${stream}`
    );
  }
  if (peak > WARNING_SHARE * instance) {
    return (
      `${last}; a run that size needs about ${mb(peak)} of this ${mb(instance)} instance ` +
      '(EXPORT_INSTANCE_MEMORY_MB), counting the copies the Functions host keeps. ' +
      (instanceMemoryMB < 4096
        ? 'Set EXPORT_COMPRESS=gzip, or deploy with instanceMemoryMB=4096.'
        : 'Set EXPORT_COMPRESS=gzip, or narrow EXPORT_SELECT.') +
      stream
    );
  }
  return undefined;
}
