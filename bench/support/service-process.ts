/**
 * Runs one of the local services (a `scripts/<service>/cli.ts`) in its own Node process, so that in a
 * load test it does not share an event loop with autocannon or with the other services: in production
 * the origin, Upstash and MongoDB are other machines. (In one process, the load generator and the
 * cache server slowed each other down: warm-cache throughput of the api benchmark fell by two thirds.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServiceProcess {
  /** The match of `ready` in the service's output. */
  ready: RegExpExecArray;
  close(): Promise<void>;
}

/** Starts `tsx <script> ...args` and resolves once its output matches `ready` (rejects after 20 s or on exit). */
export async function startServiceProcess(
  script: string,
  args: string[],
  ready: RegExp,
): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, script), ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} did not start in 20 s:\n${output}`)),
        20_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const found = ready.exec(output);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${code}:\n${output}`));
      });
    });
    return { ready: match, close };
  } catch (error) {
    await close();
    throw error;
  }
}
