/** An error a user can act on: what went wrong, and what to do about it. */
export class ExportError extends Error {
  readonly remedy: string | undefined;

  constructor(message: string, options: { remedy?: string; cause?: unknown } = {}) {
    super(options.remedy ? `${message} ${options.remedy}` : message, { cause: options.cause });
    this.name = 'ExportError';
    this.remedy = options.remedy;
  }
}

/** Every configuration problem found, reported at once before any network call. */
export class ConfigError extends ExportError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `Non-error thrown: ${String(value)}`);
}
