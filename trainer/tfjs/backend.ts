/**
 * Picks the TF.js backend: `@tensorflow/tfjs-node` when it is installed (native, multi-threaded;
 * its install downloads libtensorflow, which fails offline, so it is optional and not a dependency),
 * otherwise `@tensorflow/tfjs-backend-wasm` (SIMD, one thread in Node.js), otherwise the plain CPU one.
 */
import * as tf from '@tensorflow/tfjs';

let chosen: Promise<string> | undefined;

async function pick(): Promise<string> {
  const failures: string[] = [];
  try {
    // A variable specifier keeps bundlers and tsc from requiring the optional package.
    const nativeName = '@tensorflow/tfjs-node';
    await import(nativeName);
    if (await tf.setBackend('tensorflow')) return describe();
  } catch (error) {
    failures.push(`tensorflow: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) return describe();
  } catch (error) {
    failures.push(`wasm: ${(error as Error).message.split('\n')[0]}`);
  }
  await tf.setBackend('cpu');
  return `cpu (fallback; ${failures.join('; ')})`;
}

function describe(): string {
  const name = tf.getBackend();
  if (name !== 'wasm') return name;
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi-threaded' : 'one thread';
  return `wasm (${simd}, ${threads})`;
}

/** Initialises the best available backend once; returns a description such as "wasm (SIMD, one thread)". */
export function initBackend(): Promise<string> {
  chosen ??= pick().then(async (name) => {
    await tf.ready();
    return name;
  });
  return chosen;
}

export { tf };
