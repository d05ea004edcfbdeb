/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the script Node was started with, so a
 * script runs its `main()` only when run, not when imported (by tests, or by another script).
 *
 * Compares real paths: Node loads the entry module from its real path (symlinks resolved) while
 * `process.argv[1]` is the path as typed, and a URL spells a space `%20`. A plain
 * `import.meta.url === \`file://${process.argv[1]}\`` is false through a symlinked folder or from a
 * folder with a space in its name, and the script then does nothing and exits 0.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const self = fileURLToPath(moduleUrl);
  return realPath(entry) === realPath(self);
}

/** The real path of `file`, or its absolute path when it cannot be resolved (e.g. named without its extension). */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
