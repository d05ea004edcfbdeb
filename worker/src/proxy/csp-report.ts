/**
 * Making a Content-Security-Policy refusal visible (docs/proxy.md "Shops with a
 * Content-Security-Policy"): `/healthz` `csp` is `degraded` for a minute after a page whose policy
 * kept an element (or the blocks' images) out, and the log says it once per isolate and kind
 * (`proxy_csp_refused`). The shop's policy is not a setting of ours, so this is not under `config`:
 * it is found in the origin's answers, page by page.
 */
import type { Env } from '../env';
import { componentHealth, registerHealthProbe, reportFailure } from '../health';
import { log } from '../log';
import { firstInIsolate } from '../log-repeating';
import type { CspRefusal } from './csp';

const WHAT: Record<CspRefusal['element'], string> = {
  script: '/rx.js not injected, nothing tracked in the browser',
  style: 'block stylesheet not injected',
  connect: "the plugin's /v1 calls are refused",
  image: 'blocks shown without images (allow their host in img-src)',
};

/** Reports one refusal: no URL and no policy text (both are the shop's, and may carry tokens). */
export function reportCspRefusal(refusal: CspRefusal): void {
  const detail = `Content-Security-Policy ${refusal.directive}: ${refusal.reason}; ${WHAT[refusal.element]}`;
  reportFailure('csp', detail);
  if (!firstInIsolate('proxy_csp_refused', detail)) return;
  log('warn', 'proxy_csp_refused', {
    element: refusal.element,
    directive: refusal.directive,
    reason: refusal.reason,
  });
}

registerHealthProbe('csp', (env: Env) => componentHealth('csp', Boolean(env.ORIGIN_URL)));
