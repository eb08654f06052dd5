import { describe, expect, it } from 'vitest';

import { UNUSUAL_FIRST_CHARACTERS } from '../../../sandbox/directory.js';
import { mergeChains, partitionFilters, partitionRanges } from '../../../src/export/partitions.js';

async function* chain(name: string, pages: number, delayMs = 0, failAt?: number): AsyncGenerator<string> {
  for (let page = 0; page < pages; page += 1) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (page === failAt) throw new Error(`${name} failed`);
    yield `${name}${page}`;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Every printable ASCII character and some letters beyond it (as the sandbox's guests have), and an emoji. */
const FIRST_CHARACTERS = [...UNUSUAL_FIRST_CHARACTERS, '😀'];

/** Which ranges hold a UPN under a string order, read from the filters themselves. */
function rangesHolding(upn: string, compare: (a: string, b: string) => number): number[] {
  return partitionRanges().flatMap((range, index) => {
    const bounds = [...range.matchAll(/userPrincipalName (ge|le) '((?:[^']|'')*)'/g)];
    const holds = bounds.every(([, operator, literal]) => {
      const order = compare(upn, literal!.replace(/''/g, "'"));
      return operator === 'ge' ? order >= 0 : order <= 0;
    });
    return holds ? [index] : [];
  });
}

describe('partition ranges', () => {
  const ordinal = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const caseInsensitive = (a: string, b: string) => ordinal(a.toLowerCase(), b.toLowerCase());
  const culture = (a: string, b: string) => a.localeCompare(b, 'en', { sensitivity: 'base' });

  it.each([
    ['ordinal', ordinal],
    ['case-insensitive', caseInsensitive],
    ['culture-aware', culture],
  ] as const)(
    'put every UPN in exactly one range, whatever it starts with, under a %s order',
    (_name, compare) => {
      for (const first of FIRST_CHARACTERS) {
        for (const upn of [
          `${first}alice@contoso.com`,
          `${first}@contoso.com`,
          `${first.toUpperCase()}Z.9@x.io`,
        ]) {
          expect(rangesHolding(upn, compare), upn).toHaveLength(1);
        }
      }
    },
  );

  it('quote what they compare with, and bound both ends open', () => {
    expect(partitionRanges(["o'k", 'p'])).toEqual([
      "userPrincipalName le 'o''k'",
      "userPrincipalName ge 'o''k' and userPrincipalName le 'p'",
      "userPrincipalName ge 'p'",
    ]);
  });

  it("keep the user's own filter intact, in parentheses", () => {
    expect(partitionFilters("accountEnabled eq true or userType eq 'Guest'")[1]).toBe(
      "(accountEnabled eq true or userType eq 'Guest') and (userPrincipalName ge '0' and userPrincipalName le '1')",
    );
  });
});

describe('mergeChains', () => {
  it('yields every page of every chain exactly once', async () => {
    const chains = ['a', 'b', 'c', 'd', 'e'].map((name, index) => () => chain(name, index + 1, index % 2));
    const pages = await collect(mergeChains(chains, 3));
    expect(pages.sort()).toEqual(
      ['a0', 'b0', 'b1', 'c0', 'c1', 'c2', 'd0', 'd1', 'd2', 'd3', 'e0', 'e1', 'e2', 'e3', 'e4'].sort(),
    );
  });

  it('runs at most `concurrency` chains at once', async () => {
    let running = 0;
    let most = 0;
    const tracked = (name: string) =>
      async function* () {
        running += 1;
        most = Math.max(most, running);
        try {
          yield* chain(name, 3, 5);
        } finally {
          running -= 1;
        }
      };
    await collect(
      mergeChains(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => () => tracked(name)()),
        2,
      ),
    );
    expect(most).toBe(2);
  });

  it('keeps pages waiting for a slow consumer bounded', async () => {
    let produced = 0;
    const counting = async function* () {
      for (let page = 0; page < 50; page += 1) {
        produced += 1;
        yield page;
      }
    };
    const merged = mergeChains([counting, counting, counting], 3);
    await merged.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(produced).toBeLessThanOrEqual(3 + 3);
    await merged.return(undefined);
  });

  it('stops on the first failure and throws it', async () => {
    const chains = [() => chain('a', 10, 1), () => chain('b', 10, 1, 2)];
    await expect(collect(mergeChains(chains, 2))).rejects.toThrow('b failed');
  });
});
