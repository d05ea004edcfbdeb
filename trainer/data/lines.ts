/** Streaming line reader for plain or gzip-compressed text files. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Thrown when an input cannot be read at all (missing, unreadable, empty). */
export class InputError extends Error {
  override readonly name = 'InputError';
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`cannot open input ${path}: ${error.code ?? error.message}`);
  });
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    if (bytesRead === 0) throw new InputError(`input ${path} is empty`);
    // gzip magic number, whatever the file is called
    return buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Yields [1-based line number, line] of a text file, decompressing gzip transparently. */
export async function* readLines(path: string): AsyncGenerator<[number, string]> {
  const gzip = await isGzip(path);
  const file = createReadStream(path);
  const stream = gzip ? file.pipe(createGunzip()) : file;
  file.on('error', (error) => stream.destroy(error));
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of lines) {
      n += 1;
      yield [n, line];
    }
  } catch (error) {
    throw new InputError(`cannot read ${path} after line ${n}: ${(error as Error).message}`);
  }
}

/**
 * Splits one CSV line (RFC 4180 quoting, no multi-line fields). Returns null when a quote is not
 * closed, so the caller can count the row as malformed.
 */
export function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i < line.length && line[i] !== ',') return null;
      i += 1;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}
