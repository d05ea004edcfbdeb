/** Streaming line reader for plain or gzip-compressed text files. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MONGODB_URI_SCHEME } from '../../contracts/mongodb-uri';

/** Thrown when an input cannot be read at all (missing, unreadable, empty). */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/**
 * An input as errors may show it: a URI-looking one (`scheme://…`) without its credentials. A MongoDB
 * connection string given with a file format (`--format movielens --input mongodb://user:pw@host/db`)
 * is opened as a path, and its "cannot open" error printed the password. Everything up to the last `@`
 * goes: a password may hold an unescaped `/` or `@`.
 */
export function shownInput(input: string): string {
  return input.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, '$1…@');
}

/**
 * Whether the file is gzip, after refusing what no reader can use: a folder, an empty file, and
 * spreadsheets given by mistake (binary: read as text they gave a header error that did not say why).
 */
async function isGzip(path: string): Promise<boolean> {
  const shown = shownInput(path);
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    // Node's message quotes the path: when there is no code, say the message with the path as shown.
    const hint = MONGODB_URI_SCHEME.test(path) ? ' (a MongoDB connection string: use --format mongodb)' : '';
    throw new InputError(
      `cannot open input ${shown}: ${error.code ?? error.message.split(path).join(shown)}${hint}`,
    );
  });
  try {
    if ((await handle.stat()).isDirectory()) throw new InputError(`input ${shown} is a folder, not a file`);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead === 0) throw new InputError(`input ${shown} is empty`);
    const magic = buffer.toString('hex', 0, bytesRead);
    // .xlsx is a zip archive (PK\x03\x04), .xls an OLE2 compound file.
    if (magic === '504b0304' || magic === 'd0cf11e0')
      throw new InputError(
        `input ${shown} is a spreadsheet (Excel workbook), not a text file: save it as CSV first (docs/trainer.md "Your own export")`,
      );
    // gzip magic number, whatever the file is called
    return buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Windows-1252's 0x80–0x9F (€, curly quotes, dashes …): Node's TextDecoder reads them as Latin-1 controls. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

function decodeWindows1252(bytes: Buffer): string {
  return bytes
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);
}

/** Bytes at the end of `chunk` that start a UTF-8 sequence the chunk does not finish. */
function incompleteUtf8Tail(chunk: Buffer): number {
  for (let i = 1; i <= Math.min(3, chunk.length); i++) {
    const byte = chunk[chunk.length - i] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > i ? i : 0;
  }
  return 0;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Text as UTF-8 until the first byte sequence that is not, then as Windows-1252: Excel on Windows
 * saves "CSV" in that code page, and read as UTF-8 every accented title became "CR�ME", silently,
 * in the catalogue shoppers see. `onFallback` is told once.
 */
function decodeText(onFallback: () => void): Transform {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let fallback = false;
  let first = true;
  let tail: Buffer = Buffer.alloc(0);
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, done) {
      if (!fallback) {
        try {
          const text = utf8.decode(chunk, { stream: true });
          tail = chunk.subarray(chunk.length - incompleteUtf8Tail(chunk));
          first = false;
          done(null, text);
          return;
        } catch {
          fallback = true;
          onFallback();
          chunk = Buffer.concat([tail, chunk]);
          // The UTF-8 decoder drops a BOM; read as Windows-1252 it became "ï»¿" on the header's first
          // name, and the file was refused for a missing InvoiceNo column.
          if (first && chunk.subarray(0, 3).equals(UTF8_BOM)) chunk = chunk.subarray(3);
        }
      }
      done(null, decodeWindows1252(chunk));
    },
    flush(done) {
      if (fallback) return done();
      try {
        done(null, utf8.decode());
      } catch {
        onFallback();
        done(null, decodeWindows1252(tail));
      }
    },
  });
}

/**
 * Yields [1-based line number, line] of a text file, decompressing gzip transparently and decoding
 * UTF-8, or Windows-1252 where the bytes are not UTF-8 (then `onNote` hears it once).
 */
export async function* readLines(
  path: string,
  onNote: (note: string) => void = () => {},
): AsyncGenerator<[number, string]> {
  const gzip = await isGzip(path);
  const file = createReadStream(path);
  const bytes = gzip ? file.pipe(createGunzip()) : file;
  const text = bytes.pipe(
    decodeText(() =>
      onNote(
        'not UTF-8: read as Windows-1252, the encoding of Excel\'s "CSV"; save as "CSV UTF-8" to be sure',
      ),
    ),
  );
  file.on('error', (error) => text.destroy(error));
  if (gzip) bytes.on('error', (error: Error) => text.destroy(error));
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of lines) {
      n += 1;
      yield [n, line];
    }
  } catch (error) {
    const reason = (error as Error).message.split(path).join(shownInput(path));
    throw new InputError(`cannot read ${shownInput(path)} after line ${n}: ${reason}`);
  }
}

export { splitCsvLine } from './csv';
