/**
 * The plugin lives inside other people's pages: nothing it does may throw into the host.
 * Every entry point (public API, event listeners, timers, promise chains) goes through `guard`.
 */

/** Debug mode, until the one line it logs: off again once logged. */
let debugEnabled = false;

/** Turns the single debug log on (`data-debug` on the script tag). */
export function setDebug(enabled: boolean): void {
  debugEnabled = enabled;
}

/**
 * Logs the first problem of the page, in debug mode only: one line is enough to notice a blocked
 * API or a misconfigured tag, and a shop's console must not fill up with our noise.
 */
export function report(where: string, error?: unknown): void {
  if (!debugEnabled) return;
  debugEnabled = false;
  try {
    console.warn(`[rx] ${where}`, error ?? '');
  } catch {
    // A host that replaced console with something broken is not our problem to surface.
  }
}

/** Wraps `fn` so that it never throws: errors are reported (debug mode) and `undefined` returned. */
export function guard<A extends unknown[], R>(
  where: string,
  fn: (...args: A) => R,
): (...args: A) => R | undefined {
  return (...args: A) => {
    try {
      const result = fn(...args);
      // Async callbacks reject instead of throwing; catch those too so no unhandledrejection reaches the host.
      // (A promise is the one thing a guarded function returns that has a `catch`: shorter than
      // `instanceof Promise`.)
      (result as Promise<unknown> | undefined)?.catch?.((error: unknown) => report(where, error));
      return result;
    } catch (error) {
      report(where, error);
    }
    return undefined;
  };
}
