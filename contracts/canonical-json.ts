/**
 * JSON with every object's keys sorted, at every level. The trainer hashes a manifest's content this
 * way into the bundle version (trainer/bundle/write-bundle.ts contentVersion), and the worker's model
 * store compares a manifest published again with the stored one this way (worker/src/models/
 * model-store.ts): one rule, so two manifests written with their fields in another order are the same
 * version and compare equal.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
