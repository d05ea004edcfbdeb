/**
 * What the dev stack and the local servers need to know of other processes, to clean up after an
 * `npm start` that was killed outright or to tell a stale lock: whether one runs, whether it is still
 * the process a pid was recorded for (its start time), its command line, and the members of a process
 * group. From /proc where there is one (Linux), else
 * from `ps` (macOS); each answers "unknown" (undefined, or an empty list) rather than throwing.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** /proc/PID/stat's fields after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (a zombie is not; one of another user is). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const fields = statFields(pid);
  return fields === undefined || fields[0] !== 'Z';
}

/** Whether any process of the group `pgid` is alive. */
export function groupRuns(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time (/proc/PID/stat field 22), to tell it from a later process given its pid; undefined without /proc. */
export function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Whether the process recorded as (`pid`, `started`) still runs: the pid is alive and, where known, started then. */
export function stillRuns(pid: number, started: string | undefined): boolean {
  if (!isRunning(pid)) return false;
  const now = started === undefined ? undefined : startTime(pid);
  return now === undefined || now === started;
}

/** A process's command line (arguments joined by spaces), or undefined if it cannot be read. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // No /proc (macOS), or gone.
  }
  try {
    return (
      execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The live processes of group `pgid`, with their command lines. */
export function groupMembers(pgid: number): Array<{ pid: number; command: string }> {
  let pids: number[] = [];
  try {
    pids = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((pid) => {
        const fields = statFields(pid);
        return fields !== undefined && fields[0] !== 'Z' && Number(fields[2]) === pgid;
      });
  } catch {
    try {
      pids = execFileSync('ps', ['-A', '-o', 'pid=,pgid='], { encoding: 'utf8' })
        .split('\n')
        .map((line) => line.trim().split(/\s+/).map(Number))
        .filter(([, group]) => group === pgid)
        .map(([pid]) => pid ?? 0);
    } catch {
      return [];
    }
  }
  return pids.flatMap((pid) => {
    const command = commandLine(pid);
    return command === undefined ? [] : [{ pid, command }];
  });
}
