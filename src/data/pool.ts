/**
 * A fixed-size promise pool: many small async jobs, at most `concurrency` in flight.
 */

/**
 * Maps `fn` over `items` with at most `concurrency` calls pending; results keep input order.
 * The first rejection rejects the whole map (remaining items are not started).
 *
 *   await mapPool([1, 2, 3], 2, async (x) => x * 2) // [2, 4, 6]
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}
