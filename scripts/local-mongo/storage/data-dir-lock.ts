import fs from 'node:fs';
import path from 'node:path';

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
 * Takes `<dataDir>/local-mongo.lock` so two servers never append to the same logs. A lock left
 * by a process that no longer runs (a crash) is taken over; one held by a live process is an error.
 * Returns the function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, 'local-mongo.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockPath, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        throw new Error(
          `local-mongo: data folder ${dataDir} is in use by process ${holder}; stop it or choose another data folder`,
        );
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`local-mongo: could not lock data folder ${dataDir}`);
}
