import fs from 'node:fs';
import path from 'node:path';
import { startTime, stillRuns } from '../../processes.ts';

/** Lock files this process holds (by real path): only these make a lock naming our own pid live. */
const heldLocks = new Set<string>();

/** The holder a lock file names: `PID` (older files) or `PID START` (see startTime in scripts/processes.ts). */
function readHolder(lockPath: string): { pid: number; start?: string } {
  const [pid, start] = fs.readFileSync(lockPath, 'utf8').trim().split(/\s+/);
  return { pid: Number(pid), start: start && /^\d+$/.test(start) ? start : undefined };
}

/**
 * Whether the lock is held. Our own pid holds it only if this process took it, not a crashed
 * server whose pid we were given after a container restart: known by the start time when the
 * lock and /proc have one (which also covers another worker thread of this process), else by
 * the locks this module took. Another pid holds it while that process runs, unless the lock
 * recorded a start time and that pid's process started at another time (the pid was reused).
 */
function isHeld(
  lockPath: string,
  holder: { pid: number; start?: string },
  ownStart: string | undefined,
): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  if (holder.pid === process.pid) {
    if (holder.start !== undefined && ownStart !== undefined) return holder.start === ownStart;
    return heldLocks.has(lockPath);
  }
  return stillRuns(holder.pid, holder.start);
}

/**
 * Takes `<dataDir>/local-mongo.lock` so two servers never append to the same logs. The file names
 * the pid and, on Linux, when that process started. A lock left by a process that no longer runs
 * (a crash), or whose pid now belongs to another process, is taken over; one held by a live server,
 * in this process or another, is an error. Returns the function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(fs.realpathSync(dataDir), 'local-mongo.lock');
  const start = startTime(process.pid);
  const content = start === undefined ? String(process.pid) : `${process.pid} ${start}`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockPath, content, { flag: 'wx' });
      heldLocks.add(lockPath);
      return () => {
        heldLocks.delete(lockPath);
        fs.rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(lockPath);
      if (isHeld(lockPath, holder, start)) {
        throw new Error(
          `local-mongo: data folder ${dataDir} is in use by process ${holder.pid}; stop it or choose another data folder`,
        );
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`local-mongo: could not lock data folder ${dataDir}`);
}
