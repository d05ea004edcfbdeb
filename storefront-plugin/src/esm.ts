/**
 * The ESM entry, for shops that bundle their storefront: `import { init } from '.../rx.esm.js'`.
 * Same behaviour as the script tag, configured by options instead of `data-*` attributes.
 */
import type { RxConfig } from './config';
import { createRx, type Rx } from './rx';

export type { Rx, RxConfig };

/** Starts the plugin. `api` is the worker's base URL; the rest default to the script tag's defaults. */
export function init(options: Partial<RxConfig> & Pick<RxConfig, 'api'>): Rx {
  return createRx({
    site: '',
    consentRequired: false,
    honourGpc: false,
    debug: false,
    currency: '',
    ...options,
    api: options.api.replace(/\/+$/, ''),
  });
}
