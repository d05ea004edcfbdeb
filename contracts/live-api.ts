/**
 * `GET /admin/live`'s answer: the live experiment counters (worker/src/live/), read by the worker
 * (routes/admin-live.ts) and shown by the admin screen (admin-screen/src/live-screen.ts).
 */

/** Impressions and clicks of one placement. */
export interface LiveEngagement {
  impressions: number;
  clicks: number;
}

/** One experiment arm's live figures over a day or a window. Rates are null when nothing is under them. */
export interface LiveArm {
  /**
   * Distinct browsers with an event, or with an order a shop's server reported under a user id alone (the
   * buyer below): a HyperLogLog estimate (standard error 0.81 %; exact locally without redis-server).
   */
  browsers: number;
  /**
   * Distinct browsers with an order; a server's order under a user id alone is that of the one browser the
   * user id was seen with, counted among `browsers` too (every buyer is one of the browsers).
   */
  buyers: number;
  /** buyers ÷ browsers. */
  conversion_rate: number | null;
  events: number;
  impressions: number;
  clicks: number;
  /** clicks ÷ impressions. */
  click_through_rate: number | null;
  orders: number;
  /** Orders whose event said nothing of their value (counted, worth 0). */
  unpriced_orders: number;
  /** Per currency (three letters, `???` when the order named none), in its units. */
  revenue: Record<string, number>;
  revenue_per_browser: Record<string, number>;
  /**
   * Per placement that had any: `home`, `product`, `cart`, `category`; `none` when the event named
   * none, `other` for a name the API does not know.
   */
  placements: Partial<Record<string, LiveEngagement>>;
}

export interface LiveArms {
  treatment: LiveArm;
  holdout: LiveArm;
}

export interface LiveDay {
  /** A UTC day, `YYYY-MM-DD`. */
  day: string;
  arms: LiveArms;
}

/** A part the counting needs that `/healthz` shows not `ok`, as `/healthz` shows it. */
export interface LiveCountingProblem {
  /** `queue`, `outbox`, `mongodb`, `user_hash` or `live_counters` (the `/healthz` component). */
  component: string;
  status: 'degraded' | 'down' | 'disabled';
  detail?: string;
}

/**
 * Whether the counts are current. The consumer notes the time each batch counted events of the site (one
 * SET per batch), and the worker asks the checks `/healthz` makes of what counting needs. A shop with no
 * events counts nothing either: an old `last_counted_at` alone says "no events counted since", not that
 * counting failed; `problems` says what is failing.
 */
export interface LiveCounting {
  /** When the worker read the counts (ISO 8601, the worker's clock, as `last_counted_at`). */
  as_of: string;
  /**
   * When the consumer last counted events of this site (ISO 8601); null when it has not in the last
   * LIVE_DAYS + 1 days (or not since the worker began noting it).
   */
  last_counted_at: string | null;
  /**
   * The parts counting needs that are not `ok`: the queue the intake sends events to (`queue`, as
   * this isolate saw it; `disabled` without the binding), the outbox holding events the queue refused
   * (`outbox`; `disabled` is no problem), MongoDB, where every event is stored before it counts
   * (`mongodb`), the key of the pseudonyms the counters are fed (`user_hash`) and the consumer's writes
   * of the counters (`live_counters`). Empty when all are `ok`.
   */
  problems: LiveCountingProblem[];
}

export interface LiveAnswer {
  site: string;
  /** The window's first and last UTC day. */
  from: string;
  to: string;
  /** HOLDOUT_PERCENT as the worker runs with it now. */
  holdout_percent: number;
  days: LiveDay[];
  /** The whole window; browsers and buyers are distinct over it, not sums of the days. */
  total: LiveArms;
  counting: LiveCounting;
}
