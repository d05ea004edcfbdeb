/**
 * The ingest benchmark's live-counter check (`npm run bench -- ingest --upstash`): the live experiment
 * counters must count every event sent and every order among them exactly once, as the results and
 * docs say they did.
 */

export interface LiveCounts {
  events: number;
  orders: number;
}

/** Whether the ingest benchmark's event number `n` is an order (2 % of the events: every 50th). */
export const isBenchOrder = (n: number) => n % 50 === 0;

/** The orders among the ingest benchmark's events 0 … total - 1 (each with its own order_id). */
export function benchOrders(total: number): number {
  let orders = 0;
  for (let n = 0; n < total; n += 1) if (isBenchOrder(n)) orders += 1;
  return orders;
}

/** Throws unless the live counters counted exactly the events and orders sent: no shortfall, no double count. */
export function assertLiveCounted(counted: LiveCounts, expected: LiveCounts): void {
  if (counted.events === expected.events && counted.orders === expected.orders) return;
  throw new Error(
    `the live counters counted ${counted.events} events and ${counted.orders} orders, ` +
      `expected exactly ${expected.events} and ${expected.orders}`,
  );
}

export interface LiveWait {
  /** Give up after this long (ms) and return what was last read. */
  timeoutMs: number;
  /** Between reads while the counts are below the expected ones (ms). */
  pollMs: number;
  /**
   * Once they reach them, how long they must stay the same (ms): a count going on past the expected
   * one (a message counted twice, e.g. by a redelivery after the queue's 2 s back-off) shows up here
   * instead of after the read.
   */
  settleMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads the counters until both reach the expected counts and then stay unchanged for `settleMs`, or
 * either passes its expected count, or `timeoutMs` passes; returns the last read, for
 * `assertLiveCounted`. Not the first read that reaches them: a count still growing (an over-count on
 * its way) would pass unseen.
 */
export async function waitForLiveCounts(
  read: () => Promise<LiveCounts>,
  expected: LiveCounts,
  wait: LiveWait,
): Promise<LiveCounts> {
  const now = wait.now ?? Date.now;
  const sleep = wait.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + wait.timeoutMs;
  let counted = await read();
  const reached = (c: LiveCounts) => c.events >= expected.events && c.orders >= expected.orders;
  // The counters only grow (the bench sends no refunds): past an expected count, nothing can mend it.
  const over = (c: LiveCounts) => c.events > expected.events || c.orders > expected.orders;
  while (now() < deadline && !over(counted)) {
    if (!reached(counted)) {
      await sleep(wait.pollMs);
      counted = await read();
      continue;
    }
    await sleep(wait.settleMs);
    const again = await read();
    if (again.events === counted.events && again.orders === counted.orders) return again;
    counted = again;
  }
  return counted;
}
