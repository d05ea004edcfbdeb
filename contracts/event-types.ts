/**
 * The event contract as plain TypeScript: no zod, no runtime code but constants,
 * so the storefront plugin can import it without growing. `contracts/events.ts`
 * holds the zod schema and is checked at compile time to produce exactly these types.
 *
 * Events follow the Segment spec (track/page/identify) with the e-commerce v2 names;
 * product properties are snake_case as in that spec. See docs/analytics.md.
 */

/** Segment call types the worker accepts. */
export type EventType = 'track' | 'page' | 'identify';

/** Segment e-commerce v2 event names the system understands; any other name is accepted too. */
export const ECOMMERCE_EVENTS = [
  'Product Viewed',
  'Product List Viewed',
  'Product Clicked',
  'Product Added',
  'Product Removed',
  'Cart Viewed',
  'Checkout Started',
  'Order Completed',
  'Products Searched',
  'Recommendation Shown',
  'Recommendation Clicked',
] as const;

export type EcommerceEventName = (typeof ECOMMERCE_EVENTS)[number];

/** Experiment bucket of a shopper: `holdout` shoppers see no personalization. */
export type Bucket = 'treatment' | 'holdout';

/** Segment's per-event limit, 32 KB (the plugin takes it alone: the whole object costs it bytes). */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Segment's limits, which the intake enforces: 32 KB per event, 500 KB per request. */
export const EVENT_LIMITS = {
  maxEventBytes: MAX_EVENT_BYTES,
  maxBatchBytes: 500 * 1024,
  /** Upper bound on events in one request; 500 KB of the smallest valid events stays below it. */
  maxBatchEvents: 5_000,
} as const;

/**
 * One product as Segment's e-commerce spec describes it. Ids may be sent as numbers;
 * they are stored as their decimal string so readers see one type.
 */
export interface ProductProperties {
  product_id?: string;
  sku?: string;
  name?: string;
  category?: string;
  brand?: string;
  variant?: string;
  price?: number;
  quantity?: number;
  currency?: string;
  position?: number;
  url?: string;
  image_url?: string;
  [key: string]: unknown;
}

/** `properties` of an event: a product's fields at the top level and/or a `products` list. */
export interface EventProperties extends ProductProperties {
  products?: ProductProperties[];
  order_id?: string;
  revenue?: number;
  total?: number;
  recommendation_id?: string;
  model_version?: string;
  placement?: string;
  query?: string;
}

/**
 * An event as a sender posts it (`POST /v1/events`, the Segment endpoints).
 * `messageId` and `timestamp` are optional: the worker fills them in.
 */
export interface RxEventInput {
  type: EventType;
  /** The action, for `track` (required there): `Product Viewed`, `Order Completed`, ... */
  event?: string;
  /** The page name, for `page`. */
  name?: string;
  /** Unique per event: the idempotency key and the MongoDB `_id`. */
  messageId?: string;
  anonymousId?: string;
  userId?: string;
  /** ISO 8601 with a time zone (`Z` or `+hh:mm`). */
  timestamp?: string;
  context?: Record<string, unknown>;
  properties?: EventProperties;
  /** User traits, for `identify`. */
  traits?: Record<string, unknown>;
  /** Anything else a Segment sender adds (`integrations`, `sentAt`, ...) is kept as sent. */
  [key: string]: unknown;
}

/** A validated event (what `enqueueEvents` takes). At least one of `anonymousId` and `userId` is set. */
export type RxEvent = RxEventInput;

/**
 * The form that travels through the queue and is stored in MongoDB (`_id` = `messageId`;
 * there `timestamp` and `receivedAt` are BSON dates, see `contracts/event-document.ts`).
 */
export interface StoredEvent extends RxEventInput {
  messageId: string;
  timestamp: string;
  /** When the worker received it, ISO 8601 UTC. */
  receivedAt: string;
  /** The shop (`SITE_ID`). */
  site: string;
  bucket: Bucket;
  /** Model bundle version that served the shopper, when known. */
  model_version: string | null;
}

/** One reason an event was rejected; `field` is a dotted path such as `properties.products.0.price`. */
export interface EventProblem {
  field?: string;
  reason: string;
}
