/** ISO 4217-shaped currency codes, as the bundle's catalogue takes them (three letters). */

/** The currency the UCI Online Retail file is in, and the default where nothing names one. */
export const DEFAULT_CURRENCY = 'GBP';

/** `raw` as an upper-case three-letter code (`eur` → `EUR`), or undefined when it is none (`£`, `EURO`). */
export function currencyCode(raw: string): string | undefined {
  const code = raw.trim().toUpperCase();
  return /^[A-Z]{3}$/.test(code) ? code : undefined;
}
