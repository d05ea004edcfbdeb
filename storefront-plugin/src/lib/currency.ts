import { formatPrice } from '../../../contracts/markup';

/** `Intl.supportedValuesOf` (Chrome 99, Safari 15.4, Firefox 93): newer than the plugin's ES2020 types. */
type IntlWithValues = typeof Intl & { supportedValuesOf?: (key: 'currency') => string[] };

/**
 * True when the shop's text shows a currency sign (`€`) or ISO 4217 code (`EUR`) other than
 * `currency`'s: proxy mode's rule (worker/src/proxy/price-check.ts `otherCurrency`), so that a GBP
 * amount is not written into a multi-currency shop's "€2.55". Capitals that are no ISO code ("VAT")
 * do not count; a browser without `supportedValuesOf` cannot tell, and counts them (the shop's price
 * then stays, the safe side).
 */
export function otherCurrency(text: string, currency: string): boolean {
  // The currency's own signs: its code and narrow symbol ("$" for USD and CAD alike).
  let signs = currency;
  try {
    signs += new Intl.NumberFormat('en', {
      style: 'currency',
      currency,
      currencyDisplay: 'narrowSymbol',
    }).format(0);
  } catch {
    // No narrow symbols (Safari before 14.1): its symbol ("£", "CA$").
    signs += formatPrice(0, { currency, locale: 'en' });
  }
  // Signs, and runs of ASCII letters: a code counts only standing alone ("2,55EUR" too, as the proxy's
  // letter boundaries; no lookbehind, which Safari before 16.4 cannot parse).
  return (text.match(/\p{Sc}|[A-Za-z]+/gu) ?? []).some(
    (token) =>
      !signs.includes(token) &&
      (/^[A-Z]{3}$/.test(token)
        ? ((Intl as IntlWithValues).supportedValuesOf?.('currency').includes(token) ?? true)
        : /\p{Sc}/u.test(token)),
  );
}
