import type { EventWriter } from './consumer/event-writer-object';
import type { EventOutbox } from './events/outbox/event-outbox-object';

/**
 * Bindings and settings of the worker, kept by hand (one interface, no `any`).
 * Settings are strings because `[vars]` and secrets are strings. settings.ts defines how each numeric
 * or enum setting is read (its rule and default, one place); config.ts reads them and lists the
 * problems of bad entries, which `/healthz` shows under `config`; proxy/config.ts reads the proxy's.
 */
export interface Env {
  // Settings ([vars] in wrangler.toml)
  SITE_ID: string;
  ORIGIN_URL?: string;
  SHOP_ORIGINS?: string;
  HOLDOUT_PERCENT?: string;
  RX_SLOTS?: string;
  RX_PRICE_SELECTOR?: string;
  RX_PRODUCT_ID_SELECTOR?: string;
  /** Proxy mode: note shown after personalized prices where the law asks for one (empty = none). */
  RX_PRICE_DISCLOSURE?: string;
  /** Proxy mode: comma-separated path prefixes passed through untouched, e.g. `/checkout,/account`. */
  RX_EXCLUDE_PATHS?: string;
  /** Proxy mode: `required` tracks and personalizes only shoppers with the `rx_consent` cookie. */
  RX_CONSENT?: string;
  /** Proxy mode: `true` treats a browser sending Global Privacy Control (`Sec-GPC: 1`) as not consenting. */
  RX_HONOUR_GPC?: string;
  PRICE_GUARDRAILS?: string;
  PERSONALIZATION_BUDGET_MS?: string;
  CACHE_BUDGET_MS?: string;
  CACHE_TTL_SECONDS?: string;
  /** Days an anonymous shopper's recent activity and purchases live in Redis after their last event (30). */
  ACTIVITY_DAYS?: string;
  /** The same for a signed-in shopper, who is the one likely to come back after weeks (365). */
  ACTIVITY_DAYS_SIGNED_IN?: string;
  /** How often an isolate checks the model store for a newly published bundle (default 30). */
  MODEL_POLL_SECONDS?: string;
  /** `true`: serve the built-in bundle (trained on the demo catalogue) until one is published. Off when unset. */
  DEMO_BUNDLE?: string;
  MONGODB_DB?: string;
  /** Longest one events batch write to MongoDB may take before it is retried (ms, default 30,000). */
  MONGODB_WRITE_DEADLINE_MS?: string;
  LOG_LEVEL?: string;
  /** How long `/healthz` reuses an active probe's answer per isolate (seconds, default 5; 0: never). */
  HEALTH_PROBE_CACHE_SECONDS?: string;
  /** How many Durable Objects share the events outbox (1-32, default 1); docs/analytics.md. */
  OUTBOX_SHARDS?: string;

  // Secrets
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  MONGODB_URI?: string;
  PRICE_SIGNING_KEY?: string;
  /**
   * The key `PRICE_SIGNING_KEY` replaced, set for the 30 minutes after a rotation: tokens it signed
   * still verify (worker/src/prices/price-token.ts); nothing is signed with it. Unset otherwise.
   */
  PRICE_SIGNING_KEY_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
  /** The Segment-compatible intake's write key; may be public (a browser source puts it in pages). */
  SEGMENT_WRITE_KEY?: string;
  /**
   * A second write key for server sources only (Segment's cloud, RudderStack's servers, the shop's
   * backend): also accepted by the Segment-compatible intake, and with it in Basic auth those requests
   * are not held to the per-IP shopper limit (middleware/rate-limit.ts). Never put it in a page.
   */
  SEGMENT_SERVER_WRITE_KEY?: string;
  /** When set, a user id is taken only with its signature (worker/src/shopper/user-signature.ts). */
  USER_ID_SECRET?: string;
  /**
   * Key of the shopper pseudonyms in Redis keys, price tokens and logs (worker/src/shopper/user-hash.ts).
   * Required in production: without it nothing is cached or recorded per shopper and prices carry no token.
   */
  USER_HASH_KEY?: string;

  // Bindings
  EVENTS: Queue<unknown>;
  EVENTS_DLQ?: Queue<unknown>;
  /** Holds the events consumer's MongoDB client (docs/analytics.md); absent = one client per batch. */
  EVENT_WRITER?: DurableObjectNamespace<EventWriter>;
  /**
   * Holds events the queue refused (the intake's, the proxy's page views) until it takes them again
   * (docs/analytics.md); absent = the intake's events then rely on their sender's retry, and the
   * proxy's page views are lost.
   */
  EVENT_OUTBOX?: DurableObjectNamespace<EventOutbox>;
  MODEL_STORE?: R2Bucket;
  RATE_LIMITER?: RateLimit;
  /** Failed admin authentications per client (middleware/admin-auth.ts); absent = RATE_LIMITER's. */
  ADMIN_AUTH_LIMITER?: RateLimit;
}

/** The secrets of `Env`: never given a rule in settings.ts, so no problem text ever quotes one. */
export type SecretName =
  | 'UPSTASH_REDIS_REST_URL'
  | 'UPSTASH_REDIS_REST_TOKEN'
  | 'MONGODB_URI'
  | 'PRICE_SIGNING_KEY'
  | 'PRICE_SIGNING_KEY_PREVIOUS'
  | 'ADMIN_TOKEN'
  | 'SEGMENT_WRITE_KEY'
  | 'SEGMENT_SERVER_WRITE_KEY'
  | 'USER_ID_SECRET'
  | 'USER_HASH_KEY';
