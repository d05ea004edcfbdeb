import fs from 'node:fs';
import path from 'node:path';

/** Lock files this process holds (by real path): only these make a lock naming our own pid live. */
const heldLocks = new Set<string>();

/** Whether a process with this id is running (signal 0 tests without signalling). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/PID/stat), on Linux;
 * undefined elsewhere or when unreadable. It tells a reused pid from the process that wrote a lock.
 */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** The holder a lock file names: `PID` (older files) or `PID START` (see startTimeOf). */
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
  if (!isRunning(holder.pid)) return false;
  if (holder.start === undefined) return true;
  const start = startTimeOf(holder.pid);
  return start === undefined || start === holder.start;
}

/**
 * Takes `<dataDir>/local-mongo.lock` so two servers never append to the same logs. The file names
 * the pid and, on Linux, when that process started. A lock left by a process that no longer runs
 * (a crash), or whose pid now belongs to another process, is taken over; one held by a live server,
 * in this process or another, is an error. Returns the function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(fs.realpathSync(dataDir), 'local-mongo.lock');
  const start = startTimeOf(process.pid);
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
