import { ExportError } from '../errors.js';
import type { GraphUser } from './formats.js';

/** One Graph collection page, as parsed from the response body. */
export type PageBody = unknown;

export interface PagingOptions {
  /** GETs one absolute URL and returns the parsed body; throws on an HTTP or network failure. */
  getPage(url: string): Promise<PageBody>;
  /** Whether a failure is worth trying again (a dropped connection, say). */
  isTransient(error: unknown): boolean;
  /** How many times one page is tried again after a transient failure. */
  transientRetries: number;
  sleep(ms: number): Promise<void>;
  onRetry(): void;
}

export interface ListedPage {
  users: readonly GraphUser[];
  /** Where the next page is; undefined on the last page. */
  nextLink: string | undefined;
}

/**
 * Follows a Graph collection from its first URL through every `@odata.nextLink`, yielding each
 * page as it arrives, so that only one page is held at a time.
 */
export async function* followNextLinks(firstUrl: string, options: PagingOptions): AsyncGenerator<ListedPage> {
  let url: string | undefined = firstUrl;
  let pageNumber = 0;
  while (url !== undefined) {
    pageNumber += 1;
    const body = await getWithTransientRetries(url, options);
    const page = readPage(body, pageNumber);
    url = page.nextLink;
    yield page;
  }
}

async function getWithTransientRetries(url: string, options: PagingOptions): Promise<PageBody> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await options.getPage(url);
    } catch (error) {
      if (attempt >= options.transientRetries || !options.isTransient(error)) throw error;
      options.onRetry();
      await options.sleep(1000 * 2 ** attempt);
    }
  }
}

export function readPage(body: PageBody, pageNumber: number): ListedPage {
  const malformed = (what: string) =>
    new ExportError(
      `Microsoft Graph answered page ${pageNumber} of /users with ${what}, not a user collection.`,
      { remedy: 'Nothing was written; the next run starts again from the first page.' },
    );
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw malformed(typeof body === 'string' ? 'text' : 'an unexpected body');
  }
  const record = body as Record<string, unknown>;
  const value = record['value'];
  if (!Array.isArray(value) || !value.every(isUser))
    throw malformed('a body without a "value" array of users');
  const nextLink = record['@odata.nextLink'];
  if (nextLink !== undefined && (typeof nextLink !== 'string' || !nextLink.startsWith('https://'))) {
    throw malformed('an @odata.nextLink that is not an https URL');
  }
  return { users: value, nextLink };
}

function isUser(item: unknown): item is GraphUser {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}
