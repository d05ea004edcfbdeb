/**
 * Kills child processes when this process ends, however it ends (normal exit, Ctrl-C, SIGTERM), so a
 * spawned redis-server is never left behind. Cleanups must be synchronous: on `exit` nothing async runs.
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
  runAll();
  // A listener replaces Node's default "terminate on signal". If nobody else handles this signal,
  // restore that default and re-raise it so the process still ends (with the usual exit status).
  if (process.listenerCount(signal) <= 1) {
    uninstall();
    process.kill(process.pid, signal);
  }
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
