import { BundleRegistry, createSessions } from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';

/**
 * A registry of the built-in bundle that records each version it creates sessions for, in order.
 * `maxSessionDeferralMs`: how long a first load may wait for a quiet moment (default: the registry's).
 */
export function countingRegistry(options: { maxSessionDeferralMs?: number } = {}) {
  const created: string[] = [];
  const registry = new BundleRegistry({
    createSessions: (verified) => {
      created.push(verified.version);
      return createSessions(verified);
    },
    builtIn: defaultBundleSource,
    ...options,
  });
  return { registry, created };
}
