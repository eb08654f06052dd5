/**
 * Stable names for why a run failed, sent with the failure's telemetry so that an alert can be
 * written on them; each is listed in the README's Reliability section.
 */
export const ERROR_CODES = [
  'ConfigInvalid',
  'KeyVaultUnreachable',
  'KeyVaultDenied',
  'KeyVaultNotFound',
  'CredentialInvalid',
  'CredentialRejected',
  'GraphForbidden',
  'GraphLicenseRequired',
  'GraphUnauthorized',
  'GraphBadRequest',
  'GraphThrottled',
  'GraphUnavailable',
  'GraphMalformedPage',
  'GraphPagingLoop',
  'GraphForeignOrigin',
  'GuardRefused',
  'ExportTooLarge',
  'StorageUnavailable',
  'Unexpected',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error a user can act on: what went wrong, and what to do about it. */
export class ExportError extends Error {
  readonly remedy: string | undefined;
  readonly code: ErrorCode;

  constructor(message: string, options: { remedy?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.remedy ? `${message} ${options.remedy}` : message, { cause: options.cause });
    this.name = 'ExportError';
    this.remedy = options.remedy;
    this.code = options.code ?? 'Unexpected';
  }
}

/**
 * EXPORT_WRITE=stream: a run that had committed some of its blobs when Storage failed, before its
 * manifest. Readers and the next run go by the manifest, which still names the last export, so the
 * blobs committed are not taken for it (their SHA-256 is not the one it names).
 */
export class PartlyCommittedError extends ExportError {
  constructor(
    readonly committed: readonly string[],
    cause: ExportError,
  ) {
    super(
      `${cause.message.slice(0, cause.message.length - (cause.remedy?.length ?? -1) - 1)} This run had committed ${committed.join(', ')} already; latest/manifest.json still names the last export, so readers who check its SHA-256s, and the next run, do not take them for it.`,
      { remedy: cause.remedy, code: cause.code, cause },
    );
    this.name = 'PartlyCommittedError';
  }
}

/** The stable code of any error: an ExportError's own, `Unexpected` for anything else. */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof ExportError ? error.code : 'Unexpected';
}

/** Every configuration problem found, reported at once before any network call. */
export class ConfigError extends ExportError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
      { code: 'ConfigInvalid' },
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const REDACTED = '[redacted]';

/** Names under which a value is a credential, in JSON, query strings, forms and connection strings. */
const SECRET_KEY =
  /^(?:accountkey|sharedaccesskey|sharedaccesssignature|sig|client_secret|clientsecret|client_assertion|assertion|access_token|refresh_token|id_token|password|secret|token|authorization|x-functions-key|masterkey|privatekey|private_key)$/i;

/**
 * The one redaction rule for text that may carry a credential (an SDK's error message, a body
 * echoed back): JWTs, PEM blocks, `Bearer` tokens and `key=value` pairs whose key names a secret.
 */
export function redact(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, REDACTED)
    .replace(/\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, REDACTED)
    .replace(/\b(Bearer|Basic)\s+[\w\-.~+/]+=*/gi, `$1 ${REDACTED}`)
    .replace(/\b([A-Za-z_-]+)=([^;&\s"',]+)/g, (match, key: string) =>
      SECRET_KEY.test(key) ? `${key}=${REDACTED}` : match,
    );
}

/** A thrown value that is not an Error, as readable text: plain objects as JSON with secrets masked. */
function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value, (key, item: unknown) =>
        // A Key Vault secret carries its content as `value`.
        (SECRET_KEY.test(key) || key === 'value') && typeof item !== 'object' ? REDACTED : item,
      );
    } catch {
      // A cycle, or a getter that throws: fall back to what String() can say.
    }
  }
  return String(value);
}

/** Turns any thrown value into an Error; never `[object Object]`, never a credential. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  const text = redact(describeThrown(value));
  return new Error(typeof value === 'string' ? text : `Non-error thrown: ${text}`);
}

/**
 * The error as it may leave the process (log, telemetry, the host): message and stack redacted.
 * The original, with its cause, stays in memory only.
 */
export function redactedError(error: Error): Error {
  const safe = new Error(redact(error.message));
  safe.name = error.name;
  safe.stack = error.stack === undefined ? undefined : redact(error.stack);
  return safe;
}
