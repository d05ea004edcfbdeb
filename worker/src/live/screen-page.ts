import { SCREEN_CSS, SCREEN_CSS_CSP, SCREEN_JS, SCREEN_JS_CSP } from './screen-bundle.generated';

/**
 * The live screen's page (`GET /admin/live/screen`). Static: it holds no figure and no secret, and
 * the script (admin-screen/src/live-screen.ts) fetches `/admin/live` with the token the operator types.
 * Its CSP allows exactly the inlined script and stylesheet (by hash), requests to this worker only,
 * and no framing, form submission or plugin.
 */
export const SCREEN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>rx live experiment</title>
<style>${SCREEN_CSS}</style>
</head>
<body>
<main>
<h1>Live experiment: <span id="site"></span></h1>
<form id="login">
<p><label>ADMIN_TOKEN <input id="token" type="password" autocomplete="off" required></label>
<button type="submit">Show</button></p>
<p id="login-error" role="alert"></p>
</form>
<section id="live" hidden>
<p><label>Window <select id="days"><option value="1">today</option><option value="7" selected>7 days</option><option value="35">35 days</option></select></label>
<span id="window"></span> · <span id="updated"></span> · <button id="forget" type="button">Forget the token</button></p>
<p id="status" role="status"></p>
<table id="summary"><thead><tr><th></th><th>Personalized</th><th>Holdout</th><th>Difference</th></tr></thead><tbody></tbody></table>
<h2>Per day</h2>
<table id="per-day"><thead><tr><th>Day (UTC)</th><th>Browsers, personalized</th><th>Browsers, holdout</th><th>Orders, personalized</th><th>Orders, holdout</th><th>Conversion, personalized</th><th>Conversion, holdout</th></tr></thead><tbody></tbody></table>
<h2>Recommendations per placement</h2>
<table id="placements"><thead><tr><th>Placement</th><th>Impressions, personalized</th><th>Clicks</th><th>Click-through</th><th>Impressions, holdout</th><th>Clicks</th><th>Click-through</th></tr></thead><tbody></tbody></table>
<p class="note">Counted by the event consumer as events arrive, a glance and not a verdict: differences here carry no interval.
<code>npm run report</code> reads the stored events and says which differences are significant.</p>
</section>
</main>
<script>${SCREEN_JS}</script>
</body>
</html>
`;

export const SCREEN_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${SCREEN_JS_CSP}`,
    `style-src ${SCREEN_CSS_CSP}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;
