import { CONSENT_COOKIE } from '../../../contracts/consent';
import type { ProxyConfig } from './config';

/**
 * Whether proxy mode may track this shopper (set `rx_uid`, send events, personalize by their history),
 * by the same rules as the plugin (contracts/consent.ts): with `RX_CONSENT=required` only after
 * `rx.consent(true)` left the `rx_consent` cookie, and with `RX_HONOUR_GPC=true` never for a browser
 * sending Global Privacy Control.
 */
export function trackingAllowed(
  request: Request,
  config: Pick<ProxyConfig, 'consentRequired' | 'honourGpc'>,
) {
  if (config.honourGpc && request.headers.get('sec-gpc')?.trim() === '1') return false;
  if (!config.consentRequired) return true;
  return hasConsentCookie(request.headers.get('cookie'));
}

function hasConsentCookie(header: string | null): boolean {
  if (!header) return false;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === CONSENT_COOKIE && part.slice(separator + 1).trim() === '1') {
      return true;
    }
  }
  return false;
}
