/**
 * A lowercase v4 UUID. From `getRandomValues`, not `crypto.randomUUID`: that one exists only in
 * secure contexts (a shop on plain http has none), and this works in every browser the plugin runs in.
 * Each 0, 1 and 8 of the template becomes a random hex digit: 0 and 1 any of 16, 8 one of 8-b (the
 * variant bits, 10xx); the 4 stays (the version). Short, as the plugin has a size budget.
 */
export function uuid(): string {
  return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (+c ^ ((crypto.getRandomValues(new Uint8Array(1))[0] as number) & (15 >> (+c / 4)))).toString(16),
  );
}
