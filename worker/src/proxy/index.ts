/**
 * Proxy mode (DESIGN.md "What it is"): the retailer's pages through the worker, personalized as
 * they stream. Mounted in app.ts as the catch-all after the API routes.
 */
export { type ProxyConfig, type ProxySettings, parseProxyConfig, proxyConfig, proxySettings } from './config';
export { type ProxyDependencies, proxyHandler } from './proxy';
export { PLUGIN_PATH, pluginScriptTag } from './rewriter';
export type { PersonalizationSource, PriceQuote, RecommendationQuery, Recommendations } from './source';
