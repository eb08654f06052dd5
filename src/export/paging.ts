import { type ErrorCode, ExportError } from '../errors.js';
import type { GraphUser } from './formats.js';
import { type RetryEnvironment, withRetries } from './retryPolicy.js';

/** One Graph collection page, as parsed from the response body. */
export type PageBody = unknown;

export interface PagingOptions {
  /** GETs one absolute URL and returns the parsed body; throws on an HTTP or network failure. */
  getPage(url: string): Promise<PageBody>;
  retry: RetryEnvironment;
  /** The only origin a nextLink may point at: Graph's (GRAPH_ENDPOINT). */
  origin: string;
}

export interface ListedPage {
  users: readonly GraphUser[];
  /** Where the next page is; undefined on the last page. */
  nextLink: string | undefined;
  /** On the last page of a /users/delta round: where the next round starts. */
  deltaLink?: string;
}

/**
 * Follows a Graph collection from its first URL through every `@odata.nextLink`, yielding each
 * page as it arrives, so that only one page is held at a time. A nextLink to another origin, or
 * one already followed, ends the listing with an error instead of exporting what it leads to.
 */
export async function* followNextLinks(firstUrl: string, options: PagingOptions): AsyncGenerator<ListedPage> {
  const followed = new Set<string>([firstUrl]);
  let url: string | undefined = firstUrl;
  let pageNumber = 0;
  while (url !== undefined) {
    pageNumber += 1;
    const pageUrl: string = url;
    const body = await withRetries(() => options.getPage(pageUrl), options.retry);
    const page = readPage(body, pageNumber, options.origin);
    if (page.nextLink !== undefined && followed.has(page.nextLink)) {
      throw malformedPage(
        pageNumber,
        'an @odata.nextLink it had already sent (following it would list the same pages forever)',
        'GraphPagingLoop',
      );
    }
    if (page.nextLink !== undefined) followed.add(page.nextLink);
    url = page.nextLink;
    yield page;
  }
}

function malformedPage(
  pageNumber: number,
  what: string,
  code: ErrorCode = 'GraphMalformedPage',
): ExportError {
  return new ExportError(
    `Microsoft Graph answered page ${pageNumber} of /users with ${what}, not a user collection.`,
    {
      remedy: 'Nothing was written; the next run starts again from the first page.',
      code,
    },
  );
}

export function readPage(body: PageBody, pageNumber: number, origin: string): ListedPage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw malformedPage(pageNumber, typeof body === 'string' ? 'text' : 'an unexpected body');
  }
  const record = body as Record<string, unknown>;
  const value = record['value'];
  if (!Array.isArray(value) || !value.every(isUser)) {
    throw malformedPage(pageNumber, 'a body without a "value" array of users');
  }
  const nextLink = checkedLink(record['@odata.nextLink'], '@odata.nextLink', pageNumber, origin);
  if (nextLink !== undefined) return { users: value, nextLink };
  const deltaLink = checkedLink(record['@odata.deltaLink'], '@odata.deltaLink', pageNumber, origin);
  return deltaLink === undefined
    ? { users: value, nextLink: undefined }
    : { users: value, nextLink: undefined, deltaLink };
}

/** A link Graph sent: an https URL at Graph's own origin, or nothing. */
function checkedLink(link: unknown, name: string, pageNumber: number, origin: string): string | undefined {
  if (link === undefined || link === null) return undefined;
  if (typeof link !== 'string' || !link.startsWith('https://')) {
    throw malformedPage(pageNumber, `an ${name} that is not an https URL`);
  }
  let linkOrigin: string;
  try {
    linkOrigin = new URL(link).origin;
  } catch {
    throw malformedPage(pageNumber, `an ${name} that is not a URL`);
  }
  if (linkOrigin !== origin) {
    throw malformedPage(
      pageNumber,
      `an ${name} to ${linkOrigin}, another origin than GRAPH_ENDPOINT (${origin}); no user from there is exported`,
      'GraphForeignOrigin',
    );
  }
  return link;
}

function isUser(item: unknown): item is GraphUser {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}
