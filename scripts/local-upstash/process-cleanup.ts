/**
 * Kills child processes when this process ends, however it ends (normal exit, Ctrl-C, SIGTERM), so a
 * spawned redis-server is never left behind. Cleanups must be synchronous: on `exit` nothing async runs.
 * On a signal that the program handles itself, they wait for its `exit` (it stops things in order first).
 */
const cleanups = new Set<() => void>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles this signal (npm start, the CLI): they stop things in order (close the
  // connection, then SIGTERM redis-server) and exit, and the `exit` hook is still the last resort.
  // Killing the children here as well would pull redis-server from under a connection that is still
  // open, which then reports `connect ENOENT .../redis.sock` on every Ctrl-C.
  if (process.listenerCount(signal) > 1) return;
  runAll();
  // A listener replaces Node's default "terminate on signal". Nobody else handles this signal:
  // restore that default and re-raise it so the process still ends (with the usual exit status).
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of SIGNALS) {
    process.on(signal, onSignal);
  }
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', runAll);
  for (const signal of SIGNALS) {
    process.off(signal, onSignal);
  }
}

/** Registers a synchronous cleanup; returns a function that unregisters it (call it after a normal close). */
export function onProcessEnd(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) {
      uninstall();
    }
  };
}
