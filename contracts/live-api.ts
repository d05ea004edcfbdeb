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
}
