/**
 * Partitioned listing: Graph's /users split into ranges of userPrincipalName (`ge` and `le`, which
 * Graph supports on that property), listed concurrently. The ranges cover the whole key space by
 * construction, whatever characters UPNs start with: the first takes everything up to the first
 * bound, the last everything from the last bound on, and each bound is a string no UPN can equal
 * (a UPN always holds an @), so no user falls between two ranges or into two of them. This holds
 * for any consistent ordering Graph compares strings with, case-sensitive or not.
 */
export const PARTITION_BOUNDS: readonly string[] = Array.from('0123456789abcdefghijklmnopqrstuvwxyz');

function quoted(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The UPN range of each partition, in order, as $filter expressions. */
export function partitionRanges(bounds: readonly string[] = PARTITION_BOUNDS): string[] {
  const upn = 'userPrincipalName';
  const ranges = [`${upn} le ${quoted(bounds[0]!)}`];
  for (let index = 1; index < bounds.length; index += 1) {
    ranges.push(`${upn} ge ${quoted(bounds[index - 1]!)} and ${upn} le ${quoted(bounds[index]!)}`);
  }
  ranges.push(`${upn} ge ${quoted(bounds.at(-1)!)}`);
  return ranges;
}

/** One $filter per partition, each combined with the user's own filter when there is one. */
export function partitionFilters(userFilter: string | undefined): string[] {
  return partitionRanges().map((range) =>
    userFilter === undefined ? range : `(${userFilter}) and (${range})`,
  );
}

/**
 * Runs several page chains at once and yields their pages as they arrive. At most `concurrency`
 * chains run, and producers pause while that many pages wait for the consumer, so memory stays
 * bounded. The first failure stops everything and is thrown to the consumer.
 */
export async function* mergeChains<T>(
  chains: readonly (() => AsyncIterator<T>)[],
  concurrency: number,
): AsyncGenerator<T> {
  const waiting: T[] = [];
  let failure: { error: unknown } | undefined;
  // An object, not a let: workers and the consumer change it across awaits.
  const run = { stopped: false };
  const stopped = () => run.stopped;
  let nextChain = 0;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducers: (() => void)[] = [];
  const signalConsumer = () => {
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };
  const releaseProducers = () => {
    const producers = wakeProducers;
    wakeProducers = [];
    for (const wake of producers) wake();
  };

  const work = async () => {
    while (!stopped() && nextChain < chains.length) {
      const iterator = chains[nextChain++]!();
      try {
        for (;;) {
          const result = await iterator.next();
          if (result.done || stopped()) break;
          waiting.push(result.value);
          signalConsumer();
          while (waiting.length >= concurrency && !stopped()) {
            await new Promise<void>((resolve) => wakeProducers.push(resolve));
          }
        }
      } finally {
        if (stopped()) await iterator.return?.();
      }
    }
  };
  let running = Math.min(concurrency, chains.length);
  for (let worker = 0; worker < running; worker += 1) {
    work()
      .catch((error: unknown) => {
        failure ??= { error };
        run.stopped = true;
        releaseProducers();
      })
      .finally(() => {
        running -= 1;
        signalConsumer();
      });
  }

  try {
    for (;;) {
      if (failure) throw failure.error;
      const page = waiting.shift();
      if (page !== undefined) {
        releaseProducers();
        yield page;
        continue;
      }
      if (running === 0) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    run.stopped = true;
    releaseProducers();
  }
}
