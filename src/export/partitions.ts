/**
 * Partitioned listing: Graph's /users split into disjoint, complete parts by the first character
 * of userPrincipalName, listed concurrently. A UPN's local part may only use letters, digits and
 * ' . - _ ! # ^ ~, and Graph's startswith is case-insensitive, so these prefixes cover every user
 * exactly once.
 */
const UPN_FIRST_CHARACTER_LIST = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";
export const UPN_FIRST_CHARACTERS: readonly string[] = Array.from(
  { length: UPN_FIRST_CHARACTER_LIST.length },
  (_, index) => UPN_FIRST_CHARACTER_LIST.charAt(index),
);

/** One $filter per partition, each combined with the user's own filter when there is one. */
export function partitionFilters(userFilter: string | undefined): string[] {
  return UPN_FIRST_CHARACTERS.map((character) => {
    const partition = `startswith(userPrincipalName,'${character === "'" ? "''" : character}')`;
    return userFilter === undefined ? partition : `(${userFilter}) and ${partition}`;
  });
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
