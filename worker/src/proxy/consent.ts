import { CONSENT_COOKIE } from '../../../contracts/consent';
import { cookieValues } from '../cookies';
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
  return cookieValues(request.headers.get('cookie'), CONSENT_COOKIE).includes('1');
}
