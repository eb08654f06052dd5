import { describe, expect, it } from 'vitest';

import { ExportError } from '../../../src/errors.js';
import { followNextLinks, type PagingOptions } from '../../../src/export/paging.js';
import {
  RetriesExhaustedError,
  type RetryEnvironment,
  type RetryKind,
} from '../../../src/export/retryPolicy.js';

const base = 'https://graph.example/v1.0/users';

function directoryPages(pageCount: number, perPage: number): Map<string, unknown> {
  const pages = new Map<string, unknown>();
  for (let page = 0; page < pageCount; page += 1) {
    const url = page === 0 ? `${base}?$top=${perPage}` : `${base}?$skiptoken=t${page}`;
    const value = Array.from({ length: perPage }, (_, index) => ({ id: `u${page * perPage + index}` }));
    pages.set(
      url,
      page + 1 < pageCount ? { value, '@odata.nextLink': `${base}?$skiptoken=t${page + 1}` } : { value },
    );
  }
  return pages;
}

function options(
  getPage: PagingOptions['getPage'],
  overrides: Partial<RetryEnvironment> = {},
): PagingOptions & { slept: number[]; retried: RetryKind[] } {
  const state = { slept: [] as number[], retried: [] as RetryKind[] };
  return Object.assign(state, {
    getPage,
    origin: 'https://graph.example',
    retry: {
      classify: (error: unknown) =>
        error instanceof TypeError ? ({ kind: 'transient' } as const) : ({ kind: 'fatal' } as const),
      deadline: Number.MAX_SAFE_INTEGER,
      now: () => 0,
      sleep: async (ms: number) => {
        state.slept.push(ms);
      },
      onRetry: (kind: RetryKind) => {
        state.retried.push(kind);
      },
      ...overrides,
    },
  });
}

async function collect(iterable: AsyncIterable<{ users: readonly unknown[] }>): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  for await (const page of iterable) pages.push([...page.users]);
  return pages;
}

describe('followNextLinks', () => {
  it('follows every nextLink to the end, yielding each page once', async () => {
    const pages = directoryPages(5, 3);
    const requested: string[] = [];
    const result = await collect(
      followNextLinks(
        `${base}?$top=3`,
        options(async (url) => (requested.push(url), pages.get(url))),
      ),
    );
    expect(requested).toEqual([...pages.keys()]);
    expect(result.flat()).toEqual(Array.from({ length: 15 }, (_, index) => ({ id: `u${index}` })));
  });

  it('tries a page again after a dropped connection, counting the retry', async () => {
    const pages = directoryPages(2, 2);
    let failures = 2;
    const paging = options(async (url) => {
      if (url.includes('skiptoken') && failures-- > 0) throw new TypeError('fetch failed');
      return pages.get(url);
    });
    expect((await collect(followNextLinks(`${base}?$top=2`, paging))).flat()).toHaveLength(4);
    expect(paging.retried).toEqual(['transient', 'transient']);
    expect(paging.slept).toEqual([1000, 2000]);
  });

  it('gives up after the allowed retries, and never retries a non-transient failure', async () => {
    const dropped = options(async () => {
      throw new TypeError('fetch failed');
    });
    await expect(collect(followNextLinks(base, dropped))).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(dropped.retried).toHaveLength(3);

    const denied = options(async () => {
      throw new Error('403');
    });
    await expect(collect(followNextLinks(base, denied))).rejects.toThrow('403');
    expect(denied.retried).toHaveLength(0);
  });

  it.each([
    ['a body without a value array', { users: [] }],
    ['a value that is not a list of users', { value: [1, 2] }],
    ['text', 'oops'],
    ['a relative nextLink', { value: [], '@odata.nextLink': '/v1.0/users?$skiptoken=x' }],
  ])('rejects a page with %s, naming the page', async (_what, body) => {
    const error = await collect(
      followNextLinks(
        base,
        options(async () => body),
      ),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as Error).message).toMatch(/^Microsoft Graph answered page 1 of \/users with/);
  });

  it('stops at a nextLink it has already followed instead of looping, naming the page', async () => {
    let requests = 0;
    const looping = options(async (url) => {
      requests += 1;
      return { value: [{ id: url }], '@odata.nextLink': `${base}?$skiptoken=same` };
    });
    const error = (await collect(followNextLinks(base, looping)).catch((e: unknown) => e)) as ExportError;
    expect(error.message).toMatch(
      /^Microsoft Graph answered page 2 of \/users with an @odata.nextLink it had already sent/,
    );
    expect(error.code).toBe('GraphPagingLoop');
    expect(requests).toBe(2);
  });

  it('refuses a nextLink to another origin, exporting nothing from it', async () => {
    const pages: string[] = [];
    const elsewhere = options(async (url) => {
      pages.push(url);
      return {
        value: [{ id: 'a' }],
        '@odata.nextLink': 'https://graph.example.evil/v1.0/users?$skiptoken=x',
      };
    });
    const error = (await collect(followNextLinks(base, elsewhere)).catch((e: unknown) => e)) as ExportError;
    expect(error.message).toMatch(/another origin than GRAPH_ENDPOINT \(https:\/\/graph\.example\)/);
    expect(error.code).toBe('GraphForeignOrigin');
    expect(pages).toEqual([base]);
  });
});
