import { CommandError } from '../errors.ts';

/** Rejects database names MongoDB rejects (and any that could escape the data folder). */
export function validateDatabaseName(name: string): void {
  if (name.length === 0 || name.length > 63 || /[/\\. "$*<>:|?]/.test(name) || name.includes('\u0000')) {
    throw new CommandError('InvalidNamespace', `Invalid database name: '${name}'`);
  }
}

/** Rejects collection names MongoDB rejects. */
export function validateCollectionName(name: string): void {
  if (name.length === 0 || name.includes('$') || name.includes('\u0000') || name.startsWith('.')) {
    throw new CommandError('InvalidNamespace', `Invalid collection name: '${name}'`);
  }
}

/** A file-system-safe, reversible file name for a database or collection name. */
export function toFileName(name: string): string {
  return encodeURIComponent(name).replace(/\*/g, '%2A');
}

export function fromFileName(fileName: string): string {
  return decodeURIComponent(fileName);
}
