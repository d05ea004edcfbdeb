/**
 * Remembered tracking consent, shared by the plugin and proxy mode. `rx.consent(true)` sets this
 * first-party cookie to `1` and `rx.consent(false)` deletes it. With consent required
 * (`data-consent="required"` on the tag, `RX_CONSENT=required` for the proxy), a shopper without it
 * is not tracked: no id, no events, no personal results.
 */
export const CONSENT_COOKIE = 'rx_consent';

/** A year: consent is asked again after that (EU regulators' guidance is 6 to 13 months). */
export const CONSENT_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;
