/**
 * Reads stored events into what the experiment report compares: per experiment arm, how many shoppers,
 * how many bought, what they spent, and what recommendations were shown, clicked and bought.
 *
 * The unit is the browser (`anonymousId`), because that is what the worker randomises: the bucket is a
 * function of the anonymous id (worker/src/shopper/holdout.ts), and an event's stored `bucket` says
 * which arm its browser was in. A shop's server often reports orders under the user id alone (no
 * anonymous id); such an order goes to the one browser that user id was seen with, and to no arm when
 * it was seen with none or with several (counted, and said in the report). One order reported twice
 * (by the browser and by the server, by two browsers, or retried under a new messageId) counts once
 * site-wide, by `order_id`: a browser's report before a user id's alone, and of browsers' reports the
 * first stored (the earliest `receivedAt`; the live counters count the first stored too), in its arm;
 * of one browser's own reports, and of reports under user ids alone, the first stored too (then the
 * smaller messageId), so that its value does not depend on the read order (a file's lines, MongoDB's
 * sort by browser and timestamp).
 *
 * Refunds (`Order Refunded`, and an `Order Completed` worth less than 0) are netted from revenue: each
 * is taken off the revenue of the shopper, and arm, its order counted for (by `order_id`), at most what
 * that order was worth; a refund without an amount takes off the whole order. A refund whose order is
 * not among the window's events (placed before it, or a cancellation under an order_id of its own) is
 * taken off the revenue of the shopper who reported it. A refund reported twice (the same order_id and
 * amount) counts once. A refunded order still counts as an order and its shopper as converted: they
 * bought; what they kept is the revenue. See `netOrderRefunds` and `resolveRefunds`.
 */
import { eventProductIds } from '../../contracts/event-products';
import { type Bucket, type StoredEvent, validateStoredEvent } from '../../contracts/events';
import {
  experimentRoleOf,
  MAX_ORDER_VALUE,
  milliOf,
  ORDER_REFUNDED,
  orderKey,
  refundIncrement,
  refundValue,
} from '../../contracts/experiment-events';
import { type OrderValue, orderValue, UNKNOWN_CURRENCY } from '../../contracts/order-value';
import { InputError } from '../data/lines';
import type { ReadReport } from '../data/types';
import type { ArmSums } from './statistics';

export interface TallyOptions {
  /** Only this site's events (`SITE_ID`); required when the events are of several. */
  site?: string;
  /** Epoch ms: events at or after `from` and before `to`. */
  from?: number;
  to?: number;
  /** How long after a recommendation click buying the product counts as the recommendation's. */
  attributionMs: number;
}

interface Order extends OrderValue {
  time: number;
  /** Which report of it this is: of one shopper's reports of an order, the first stored counts. */
  report: ReportId;
}

/** A report's place in the order of storage: epoch ms of its `receivedAt`, then its messageId. */
interface ReportId {
  received: number;
  messageId: string;
}

/** Whether report `a` was stored before `b` (a tie on `receivedAt`: the smaller messageId). */
function storedBefore(a: ReportId, b: ReportId): boolean {
  return a.received !== b.received ? a.received < b.received : a.messageId < b.messageId;
}

function reportIdOf(event: StoredEvent): ReportId {
  return { received: Date.parse(event.receivedAt), messageId: event.messageId };
}

/** What a browser (or a user id without one) did in the window. Maps are made on first need. */
interface Activity {
  orders?: Map<string, Order>;
  /** Product id → its `Recommendation Clicked` events: when, and from which placement. */
  clicks?: Map<string, Click[]>;
  /** Impressions and clicks per placement (a Map: a placement is whatever an event says). */
  engagement?: Map<string, Engagement>;
}

interface FirstReport {
  /** Epoch ms of its `receivedAt`. */
  time: number;
  browser: string;
  /** Whether another browser reported the same order too. */
  shared: boolean;
}

interface Click {
  time: number;
  placement: string;
  /** Of clicks at one time, the later stored is the last (so the read order does not decide). */
  report: ReportId;
}

/** A refund event, as read (see refundValue). */
interface Refund {
  /** The refunded order's orderKey (a refund without an order_id: its own event). */
  key: string;
  amount: number | undefined;
  currency: string | undefined;
  /** Epoch ms of its `receivedAt`: of reports of the same refund, the first stored is the one. */
  time: number;
  messageId: string;
  /** Its browser (anonymousId), else the user id it came under alone. */
  browser: string | undefined;
  userId: string | undefined;
}

/** What became of the window's refunds (see Tally.refunds). */
export interface RefundCounts {
  /** Refunds taken off an arm's revenue (reports of the same refund once). */
  netted: number;
  /** Of those, refunds of an order not among the window's events, taken off their own shopper's. */
  ofUnknownOrders: number;
  /** Refunds without an amount whose order is not among the window's events or has no value. */
  notNetted: number;
  /** Refunds of orders in no arm, or whose own shopper is in none: in no arm either. */
  inNoArm: number;
  /** Further reports of a refund counted already (the same order_id and amount): counted once. */
  repeated: number;
}

/** Recommendation impressions and clicks (see Arm). */
export interface Engagement {
  impressions: number;
  clicks: number;
}

/** A placement's impressions and clicks, and the orders its clicks led to (see Arm.attributedOrders). */
export interface PlacementTotals extends Engagement {
  /**
   * Orders with a line whose product was last clicked (within the attribution window) in this placement.
   * An order with lines from two placements counts for each, so these can add up to more than the
   * arm's attributedOrders.
   */
  attributedOrders: number;
  /** Per currency: how many of those orders were in it (each currency's rows of the table show these). */
  attributedOrdersByCurrency: Record<string, number>;
  /** Per currency: price × quantity of those lines. */
  attributedRevenue: Record<string, number>;
}

interface Shopper extends Activity {
  /** `both`: events of this browser were stored in each arm (HOLDOUT_PERCENT changed meanwhile). */
  bucket: Bucket | 'both';
}

/** One arm's totals. Money is per currency (three letters; see contracts/order-value.ts). */
export interface Arm {
  shoppers: number;
  /** Shoppers with at least one order. */
  converted: number;
  orders: number;
  /** Per currency: how many of the orders were in it. */
  ordersByCurrency: Record<string, number>;
  /** Per currency: shoppers with at least one order in it (the buyers its revenue comparison rests on). */
  buyersByCurrency: Record<string, number>;
  /** Orders whose event gave no revenue, total or prices (counted as orders worth 0). */
  unpricedOrders: number;
  /**
   * Per currency: the sum and sum of squares over shoppers of what each spent, net of refunds (n =
   * `shoppers`; a shopper's net can be below 0, when the order refunded is not in the window).
   */
  revenue: Record<string, ArmSums>;
  /** Refunds taken off the arm's revenue (each refund once), and per currency how much they took off. */
  refunds: number;
  refunded: Record<string, number>;
  /**
   * Per currency: the orders' value less their own refunds (not those of orders outside the window),
   * over `ordersByCurrency` the average order value.
   */
  orderRevenue: Record<string, number>;
  /**
   * Impressions: `Recommendation Shown` events (the plugin's, one per block it filled) and page views
   * the proxy sent for pages it filled (one per page; they carry the first block's recommendation_id).
   */
  recommendationsShown: number;
  recommendationClicks: number;
  /** The same per placement (`home`, `product`, ...; `(none)` when the event named none). */
  placements: Record<string, PlacementTotals>;
  /** Orders with a product the shopper had clicked in a recommendation within the window before. */
  attributedOrders: number;
  /** Per currency: price × quantity of those products. */
  attributedRevenue: Record<string, number>;
}

export interface Tally {
  site: string | null;
  firstEvent: number | null;
  lastEvent: number | null;
  arms: Record<Bucket, Arm>;
  /** Browsers with events in both arms, left out of both. */
  inBothBuckets: number;
  /**
   * The orders those browsers reported first (and user ids alone gave them): in no arm, and other
   * browsers' later reports of them are repeats, left out too.
   */
  ordersInBothBuckets: number;
  /** Orders reported under a user id alone that could not be given to one browser. */
  unassigned: { userIds: number; orders: number };
  /**
   * Reports of an order_id counted already (by the same browser, another browser, or the shop's server
   * under a user id alone), left out: each order counts once, site-wide.
   */
  repeatedOrders: number;
  /** What became of the refunds: netted, of orders not in the window, not netted, in no arm, repeated. */
  refunds: RefundCounts;
  /**
   * Per arm and currency: what each shopper whose net spending in it is not 0 spent, net of refunds
   * (the arm's other shoppers spent 0), for the revenue rows' permutation test. Not in the report:
   * figures per shopper.
   */
  spending: Record<Bucket, Record<string, number[]>>;
}

/**
 * Accumulates events (`add`) and sums them up per arm (`finish`). In any order, it holds every browser
 * until `finish`. Sorted by browser (MongoDB, see `browsersSortedFrom`), it sums each browser up as soon
 * as the next one's events start, and holds one.
 */
export class ExperimentTally {
  private readonly shoppers = new Map<string, Shopper>();
  private readonly userOnly = new Map<string, Activity>();
  /** User id → the browsers it was seen with (events carrying both ids). */
  private readonly browsersOf = new Map<string, Set<string>>();
  private readonly arms: Record<Bucket, Arm> = { treatment: emptyArm(), holdout: emptyArm() };
  private readonly spending: Record<Bucket, Record<string, number[]>> = { treatment: {}, holdout: {} };
  private inBothBuckets = 0;
  private ordersInBothBuckets = 0;
  private readonly unassigned = { userIds: 0, orders: 0 };
  /** User-only activity given to a browser, until that browser is summed up. */
  private pending = new Map<string, Activity[]>();
  /** Sorted mode: the browser whose events are coming in. */
  private sorted = false;
  private current: string | undefined;
  private readonly sites = new Set<string>();
  private first: number | null = null;
  private last: number | null = null;
  private repeatedOrders = 0;
  /**
   * Order key → its first report by a browser (the earliest `receivedAt`; a tie goes to the smaller
   * anonymous id, so a file and MongoDB agree): the one report of the order that counts. Sorted, only
   * keys reported by several browsers or also under a user id alone are kept (see browsersSortedFrom).
   */
  private readonly firstReports = new Map<string, FirstReport>();
  /**
   * Order key → the user id whose report of it without a browser was stored first (the earliest
   * `receivedAt`, then the smaller messageId, whatever the read order): one user id's report counts.
   */
  private readonly userOnlyOrders = new Map<string, { userId: string; report: ReportId }>();
  /** Refunds read, until resolveRefunds sorts them out (they are few: held whatever the mode). */
  private refunds: Refund[] = [];
  /** Order key → its refunds, taken off where that order is counted (netOrderRefunds). */
  private readonly refundsOfOrder = new Map<string, Refund[]>();
  /** Browser → refunds of orders not among the window's events, taken off that browser's revenue. */
  private readonly refundsOfBrowser = new Map<string, Refund[]>();
  private refundsResolved = false;
  private readonly refundCounts: RefundCounts = {
    netted: 0,
    ofUnknownOrders: 0,
    notNetted: 0,
    inNoArm: 0,
    repeated: 0,
  };

  constructor(
    private readonly options: TallyOptions,
    private readonly report: ReadReport,
  ) {}

  /** One event as read; `position` is its line (JSONL) or document number (MongoDB). */
  add(raw: Record<string, unknown>, position: number): void {
    this.report.rows.read += 1;
    const admitted = this.admit(raw);
    if (typeof admitted === 'string') {
      this.report.skip(admitted, position);
      return;
    }
    const { event, time } = admitted;
    this.report.rows.kept += 1;
    if (this.first === null || time < this.first) this.first = time;
    if (this.last === null || time > this.last) this.last = time;

    let activity: Activity;
    if (event.anonymousId !== undefined) {
      if (this.sorted && this.current !== event.anonymousId) {
        if (this.current !== undefined) this.sumUp(this.current);
        this.current = event.anonymousId;
      }
      const shopper = this.shoppers.get(event.anonymousId);
      if (shopper === undefined) {
        const created: Shopper = { bucket: event.bucket };
        this.shoppers.set(event.anonymousId, created);
        activity = created;
      } else {
        if (shopper.bucket !== event.bucket) shopper.bucket = 'both';
        activity = shopper;
      }
      // Sorted, the links came with browsersSortedFrom: keeping every signed-in shopper's here would
      // make memory grow with them after all.
      if (event.userId !== undefined && !this.sorted) {
        const browsers = this.browsersOf.get(event.userId) ?? new Set<string>();
        browsers.add(event.anonymousId);
        this.browsersOf.set(event.userId, browsers);
      }
    } else {
      // Validation guarantees a userId when there is no anonymousId.
      const userId = event.userId ?? '';
      activity = this.userOnly.get(userId) ?? {};
      this.userOnly.set(userId, activity);
      if (experimentRoleOf(event).kind === 'order') {
        // The same order under a second user id alone: the first stored report's user id is the one,
        // whichever was read first (a file's line order, MongoDB's unsorted user-only query).
        const key = orderKey(event);
        const report = reportIdOf(event);
        const first = this.userOnlyOrders.get(key);
        if (first === undefined) this.userOnlyOrders.set(key, { userId, report });
        else if (first.userId !== userId) {
          this.repeatedOrders += 1;
          if (!storedBefore(report, first.report)) return;
          // This report was stored first: the order moves from the other user id to this one.
          this.userOnly.get(first.userId)?.orders?.delete(key);
          this.userOnlyOrders.set(key, { userId, report });
        } else if (storedBefore(report, first.report)) first.report = report;
      }
    }
    // A refund counts where its order counts (resolveRefunds); sorted, the browsers' refunds came with
    // noteOrder.
    if (experimentRoleOf(event).kind === 'refund') {
      if (!this.sorted) this.noteRefund(event);
      return;
    }
    // Sorted, the first reports came with noteOrder, and only the ones that matter are kept.
    if (!this.sorted && event.anonymousId !== undefined && experimentRoleOf(event).kind === 'order')
      this.noteFirstReport(orderKey(event), Date.parse(event.receivedAt), event.anonymousId);
    this.record(activity, event, time);
  }

  /**
   * Sorted mode, before `browsersSortedFrom`: an order or refund event of a browser in the window
   * (MongoDB's `orders` query), read for which browser reported each order first and for what was
   * refunded. Counts nothing else.
   */
  noteOrder(raw: Record<string, unknown>): void {
    const admitted = this.admit(raw);
    if (typeof admitted === 'string') return;
    const { event } = admitted;
    if (event.anonymousId === undefined) return;
    const role = experimentRoleOf(event).kind;
    if (role === 'refund') this.noteRefund(event);
    if (role !== 'order') return;
    this.noteFirstReport(orderKey(event), Date.parse(event.receivedAt), event.anonymousId);
  }

  private noteRefund(event: StoredEvent): void {
    if (this.refundsResolved) return;
    this.refunds.push({
      key: orderKey(event),
      ...refundValue(event),
      time: Date.parse(event.receivedAt),
      messageId: event.messageId,
      browser: event.anonymousId,
      userId: event.anonymousId === undefined ? event.userId : undefined,
    });
  }

  /**
   * Sorts the refunds out, once every order's first report is known and before any browser is summed
   * up. A refund of an order a browser reported, or a user id alone with one browser, goes with that
   * order (netOrderRefunds). Any other, of an order not among the window's events (or in no arm's
   * reach), is taken off the revenue of its own browser, or of the one browser its user id alone was
   * seen with; reports of it with the same order_id, currency and amount are one refund, the first
   * stored browser's. Without an amount such a refund cannot be netted, and is counted.
   */
  private resolveRefunds(): void {
    if (this.refundsResolved) return;
    this.refundsResolved = true;
    const orphans = new Map<string, Refund>();
    for (const refund of this.refunds) {
      const userOnlyBy = this.userOnlyOrders.get(refund.key)?.userId;
      if (
        this.firstReports.has(refund.key) ||
        (userOnlyBy !== undefined && this.oneBrowserOf(userOnlyBy) !== undefined)
      ) {
        listIn(this.refundsOfOrder, refund.key).push(refund);
        continue;
      }
      if (refund.amount === undefined) {
        this.refundCounts.notNetted += 1;
        continue;
      }
      const id = refundId(refund.key, refund.currency ?? UNKNOWN_CURRENCY, refund.amount);
      const first = orphans.get(id);
      if (first === undefined) orphans.set(id, refund);
      else {
        this.refundCounts.repeated += 1;
        if (earlierReport(refund, first)) orphans.set(id, refund);
      }
    }
    this.refunds = [];
    for (const refund of orphans.values()) {
      const browser = refund.browser ?? this.oneBrowserOf(refund.userId ?? '');
      if (browser === undefined) this.refundCounts.inNoArm += 1;
      else listIn(this.refundsOfBrowser, browser).push(refund);
    }
  }

  /** The one browser a user id was seen with; undefined for none or several. */
  private oneBrowserOf(userId: string): string | undefined {
    const browsers = this.browsersOf.get(userId);
    return browsers?.size === 1 ? [...browsers][0] : undefined;
  }

  private noteFirstReport(key: string, time: number, browser: string): void {
    const first = this.firstReports.get(key);
    if (first === undefined) {
      this.firstReports.set(key, { time, browser, shared: false });
      return;
    }
    if (first.browser !== browser) first.shared = true;
    // The earliest report wins, whichever line came first: a browser's own earlier repeat (a reloaded
    // confirmation page) counts as its report's time, or the arm would depend on the read order.
    if (time < first.time || (time === first.time && browser < first.browser)) {
      first.time = time;
      first.browser = browser;
    }
  }

  /** The event and its time, or why it does not count. */
  private admit(raw: Record<string, unknown>): { event: StoredEvent; time: number } | string {
    if (raw.bucket === undefined)
      return 'no bucket: an event as posted, not as stored (read the events collection or its export)';
    const checked = validateStoredEvent(raw);
    if (!checked.ok) {
      const first = checked.problems[0];
      return `invalid event: ${first?.field ? `${first.field} ` : ''}${first?.reason ?? 'rejected'}`;
    }
    const event = checked.event;
    // The window first, as the MongoDB pipeline filters it: only sites seen in the window count.
    const time = Date.parse(event.timestamp);
    const { from, to } = this.options;
    if ((from !== undefined && time < from) || (to !== undefined && time >= to)) return 'outside --from/--to';
    this.sites.add(event.site);
    if (this.options.site !== undefined && event.site !== this.options.site) return 'another site';
    // experimentRoleOf tells such an order or refund apart, so that the live counters skip it too.
    if (experimentRoleOf(event).kind === 'implausible')
      return `${orderValue(event).revenue < 0 || event.event === ORDER_REFUNDED ? 'a refund' : 'an order'} worth more than ${MAX_ORDER_VALUE.toExponential()} (revenue, total or a product's price × quantity), or not a finite amount: left out`;
    return { event, time };
  }

  private record(activity: Activity, event: StoredEvent, time: number): void {
    const role = experimentRoleOf(event);
    if (role.kind === 'impression') engage(activity, role.placement, 'impressions');
    else if (role.kind === 'order') {
      const orders = ordersOf(activity);
      const key = orderKey(event);
      const order = { ...orderValue(event), time, report: reportIdOf(event) };
      const counted = orders.get(key);
      // One shopper's repeated report of an order (a reloaded confirmation page, a retry under a new
      // messageId): the first stored counts, whichever was read first, so a file and MongoDB (sorted by
      // browser and timestamp) give the same revenue.
      if (counted === undefined) orders.set(key, order);
      else {
        this.repeatedOrders += 1;
        if (storedBefore(order.report, counted.report)) orders.set(key, order);
      }
    } else if (role.kind === 'click') {
      engage(activity, role.placement, 'clicks');
      const clicks = clicksOf(activity);
      const click = { time, placement: role.placement || NO_PLACEMENT, report: reportIdOf(event) };
      for (const product of eventProductIds(event)) {
        const ofProduct = clicks.get(product) ?? [];
        ofProduct.push(click);
        clicks.set(product, ofProduct);
      }
    }
  }

  /**
   * From here on the browsers' events come sorted by anonymous id, after every event without one, and
   * `browsersOf` names the browsers each of those user ids was seen with (in the window). Each browser
   * is then summed up when the next one's events start.
   */
  browsersSortedFrom(browsersOf: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [userId, browsers] of browsersOf) this.browsersOf.set(userId, new Set(browsers));
    // The refunds first: they need every order's first report.
    this.resolveRefunds();
    // An order only one browser reported, and no user id alone, needs no deciding: its report counts.
    // The others stay for the browser-by-browser read. (Until here every order of the window was held:
    // the `orders` query notes each one first.)
    for (const [key, first] of this.firstReports)
      if (!first.shared && !this.userOnlyOrders.has(key)) this.firstReports.delete(key);
    this.assignUserOnlyEvents();
    this.sorted = true;
  }

  /** The user ids of the events without an anonymous id read so far. */
  userOnlyIds(): string[] {
    return [...this.userOnly.keys()];
  }

  /** Browsers read and not summed up yet (all of them, unless sorted), and user ids whose browsers it keeps. */
  get held(): { browsers: number; userIds: number } {
    return { browsers: this.shoppers.size, userIds: this.browsersOf.size };
  }

  /** The arms. Throws an InputError when the events are of several sites and no `site` was chosen. */
  finish(): Tally {
    if (this.options.site === undefined && this.sites.size > 1) {
      const names = [...this.sites].sort();
      throw new InputError(
        `the events are of ${names.length} sites (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}): choose one with --site`,
      );
    }
    this.resolveRefunds();
    this.assignUserOnlyEvents();
    for (const browser of [...this.shoppers.keys()]) this.sumUp(browser);
    // Given to a browser with no event in the window (none, when the links come from the same window).
    for (const activities of this.pending.values())
      for (const activity of activities) this.leaveOut(activity);
    this.pending.clear();
    // Refunds of orders counted in no arm (a browser in both, a user id's order no browser took), and
    // of browsers in both arms.
    for (const refunds of [...this.refundsOfOrder.values(), ...this.refundsOfBrowser.values()])
      this.refundCounts.inNoArm += refunds.length;
    this.refundsOfOrder.clear();
    this.refundsOfBrowser.clear();
    for (const arm of Object.values(this.arms))
      for (const sums of Object.values(arm.revenue)) sums.n = arm.shoppers;
    return {
      site: this.options.site ?? [...this.sites][0] ?? null,
      firstEvent: this.first,
      lastEvent: this.last,
      arms: this.arms,
      inBothBuckets: this.inBothBuckets,
      ordersInBothBuckets: this.ordersInBothBuckets,
      unassigned: this.unassigned,
      repeatedOrders: this.repeatedOrders,
      refunds: this.refundCounts,
      spending: this.spending,
    };
  }

  /** Gives each user id's own events to the one browser it was seen with (`pending`); counts the rest. */
  private assignUserOnlyEvents(): void {
    for (const [userId, activity] of this.userOnly) {
      const browser = this.oneBrowserOf(userId);
      if (browser === undefined) this.leaveOut(activity);
      else this.pending.set(browser, [...(this.pending.get(browser) ?? []), activity]);
    }
    this.userOnly.clear();
  }

  /**
   * Counts a user id's orders that no browser can take; an order a browser reported is that browser's
   * (counted, or not, with it), not one in no arm.
   */
  private leaveOut(activity: Activity): void {
    let orders = 0;
    for (const key of activity.orders?.keys() ?? []) {
      if (this.firstReports.has(key)) this.repeatedOrders += 1;
      else orders += 1;
    }
    if (orders === 0) return;
    this.unassigned.userIds += 1;
    this.unassigned.orders += orders;
  }

  /** Adds a browser, with the user-only activity given to it, to its arm, and forgets it. */
  private sumUp(id: string): void {
    const shopper = this.shoppers.get(id);
    if (shopper === undefined) return;
    // Its reports of orders another browser reported first are that browser's.
    for (const key of [...(shopper.orders?.keys() ?? [])]) {
      const first = this.firstReports.get(key);
      if (first !== undefined && first.browser !== id) {
        shopper.orders?.delete(key);
        this.repeatedOrders += 1;
      }
    }
    for (const activity of this.pending.get(id) ?? []) this.merge(shopper, activity);
    this.pending.delete(id);
    if (shopper.bucket === 'both') {
      this.inBothBuckets += 1;
      // Its orders are in no arm; they must not vanish (another browser's report of one is a repeat).
      this.ordersInBothBuckets += shopper.orders?.size ?? 0;
    } else this.addShopper(shopper.bucket, shopper, id);
    this.shoppers.delete(id);
  }

  private merge(browser: Shopper, activity: Activity): void {
    for (const [key, order] of activity.orders ?? []) {
      // A user id's order that a browser reported (this one or another): the browser's report counts.
      if (this.firstReports.has(key) || browser.orders?.has(key)) this.repeatedOrders += 1;
      else ordersOf(browser).set(key, order);
    }
    for (const [product, ofProduct] of activity.clicks ?? []) {
      const clicks = clicksOf(browser);
      clicks.set(product, [...(clicks.get(product) ?? []), ...ofProduct]);
    }
    for (const [placement, counts] of activity.engagement ?? []) {
      engage(browser, placement, 'impressions', counts.impressions);
      engage(browser, placement, 'clicks', counts.clicks);
    }
  }

  private addShopper(bucket: Bucket, shopper: Shopper, id: string): void {
    const arm = this.arms[bucket];
    arm.shoppers += 1;
    for (const [placement, counts] of shopper.engagement ?? []) {
      arm.recommendationsShown += counts.impressions;
      arm.recommendationClicks += counts.clicks;
      const total = placementOf(arm, placement);
      total.impressions += counts.impressions;
      total.clicks += counts.clicks;
    }
    const orders = shopper.orders ?? new Map<string, Order>();
    // A refunded order still makes its shopper a buyer: they bought (see the top of the file).
    if (orders.size > 0) arm.converted += 1;
    /** Per currency, what the shopper spent, net of refunds. */
    const spent = new Map<string, number>();
    const boughtIn = new Set<string>();
    let refunded = false;
    const takeOff = (currency: string, amount: number, ofOrder: boolean) => {
      spent.set(currency, (spent.get(currency) ?? 0) - amount);
      arm.refunds += 1;
      arm.refunded[currency] = (arm.refunded[currency] ?? 0) + amount;
      if (ofOrder) arm.orderRevenue[currency] = (arm.orderRevenue[currency] ?? 0) - amount;
      this.refundCounts.netted += 1;
      refunded = true;
    };
    for (const [key, order] of orders) {
      arm.orders += 1;
      arm.ordersByCurrency[order.currency] = (arm.ordersByCurrency[order.currency] ?? 0) + 1;
      if (!order.priced) arm.unpricedOrders += 1;
      spent.set(order.currency, (spent.get(order.currency) ?? 0) + order.revenue);
      arm.orderRevenue[order.currency] = (arm.orderRevenue[order.currency] ?? 0) + order.revenue;
      boughtIn.add(order.currency);
      this.netOrderRefunds(key, order, (currency, amount) => takeOff(currency, amount, true));
      const byPlacement = this.attributedValues(order, shopper.clicks);
      if (byPlacement.size === 0) continue;
      arm.attributedOrders += 1;
      for (const [placement, value] of byPlacement) {
        arm.attributedRevenue[order.currency] = (arm.attributedRevenue[order.currency] ?? 0) + value;
        const total = placementOf(arm, placement);
        total.attributedOrders += 1;
        total.attributedOrdersByCurrency[order.currency] =
          (total.attributedOrdersByCurrency[order.currency] ?? 0) + 1;
        total.attributedRevenue[order.currency] = (total.attributedRevenue[order.currency] ?? 0) + value;
      }
    }
    for (const refund of this.refundsOfBrowser.get(id) ?? []) {
      // Resolved with an amount (resolveRefunds); its order is not in the window, so nothing caps it.
      takeOff(refund.currency ?? UNKNOWN_CURRENCY, refund.amount ?? 0, false);
      this.refundCounts.ofUnknownOrders += 1;
    }
    this.refundsOfBrowser.delete(id);
    for (let [currency, amount] of spent) {
      // An order and its full refund: 0, not the rounding left of 0.1 + 0.2 − 0.3.
      if (refunded && Math.abs(amount) < 1e-9) amount = 0;
      if (boughtIn.has(currency)) arm.buyersByCurrency[currency] = (arm.buyersByCurrency[currency] ?? 0) + 1;
      const sums = arm.revenue[currency] ?? { n: 0, sum: 0, sumOfSquares: 0 };
      arm.revenue[currency] = sums;
      sums.sum += amount;
      sums.sumOfSquares += amount * amount;
      if (amount !== 0) {
        const values = this.spending[bucket][currency] ?? [];
        this.spending[bucket][currency] = values;
        values.push(amount);
      }
    }
  }

  /**
   * Takes the refunds of an order counted in an arm off its shopper's revenue (`takeOff`): each
   * refund's amount (a refund without one: the order's own value), in its currency (a refund naming
   * none: the order's); reports with the same currency and amount are one refund; and together at most
   * what the order was worth (refundIncrement), so an order refunded twice over, or by a `total` with
   * tax and shipping against an order valued by its `revenue`, nets to 0, not below.
   */
  private netOrderRefunds(
    key: string,
    order: Order,
    takeOff: (currency: string, amount: number) => void,
  ): void {
    const refunds = this.refundsOfOrder.get(key);
    if (refunds === undefined) return;
    this.refundsOfOrder.delete(key);
    // The first stored first: which report of a repeated refund counts does not depend on the read order.
    refunds.sort((a, b) => (earlierReport(a, b) ? -1 : earlierReport(b, a) ? 1 : 0));
    const seen = new Set<string>();
    const previous = new Map<string, number>();
    for (const refund of refunds) {
      const currency = refund.currency ?? order.currency;
      const valued = order.priced && currency === order.currency;
      const amount = refund.amount ?? (valued ? order.revenue : undefined);
      if (amount === undefined) {
        this.refundCounts.notNetted += 1;
        continue;
      }
      const id = refundId(key, currency, amount);
      if (seen.has(id)) {
        this.refundCounts.repeated += 1;
        continue;
      }
      seen.add(id);
      const milli = milliOf(amount);
      const before = previous.get(currency) ?? 0;
      previous.set(currency, before + milli);
      takeOff(currency, refundIncrement(valued ? milliOf(order.revenue) : undefined, before, milli) / 1000);
    }
  }

  /**
   * What of `order` the shopper's recommendation clicks earned, per placement: each line whose product
   * was clicked in a recommendation at most `attributionMs` before the order (and not after it) goes
   * to the placement of its last such click (of clicks at the same time, the later stored: timestamps
   * to the second tie, and the read order must not decide). Empty when no line was.
   */
  private attributedValues(order: Order, clicks: Map<string, Click[]> | undefined): Map<string, number> {
    const byPlacement = new Map<string, number>();
    if (clicks === undefined) return byPlacement;
    for (const line of order.lines) {
      let last: Click | undefined;
      for (const click of clicks.get(line.product) ?? []) {
        const inWindow = click.time <= order.time && order.time - click.time <= this.options.attributionMs;
        const later =
          last === undefined ||
          click.time > last.time ||
          (click.time === last.time && storedBefore(last.report, click.report));
        if (inWindow && later) last = click;
      }
      if (last !== undefined)
        byPlacement.set(last.placement, (byPlacement.get(last.placement) ?? 0) + (line.value ?? 0));
    }
    return byPlacement;
  }
}

/** Placement of an impression or click with none named. */
export const NO_PLACEMENT = '(none)';

/** Counts `count` impressions or clicks of `placement` in the activity. */
function engage(activity: Activity, placement: string | undefined, kind: keyof Engagement, count = 1): void {
  if (count === 0) return;
  if (activity.engagement === undefined) activity.engagement = new Map();
  const key = placement || NO_PLACEMENT;
  const counts = activity.engagement.get(key) ?? { impressions: 0, clicks: 0 };
  counts[kind] += count;
  activity.engagement.set(key, counts);
}

/** One refund's identity: its order, currency and amount (in thousandths, as the live counters tell them). */
function refundId(key: string, currency: string, amount: number): string {
  return `${key}\n${currency}\n${milliOf(amount)}`;
}

/**
 * Whether refund report `a` comes before `b`: a browser's before a user id's alone (as for orders), then
 * the first stored (`receivedAt`), then by ids, so that any read order gives the same.
 */
function earlierReport(a: Refund, b: Refund): boolean {
  if ((a.browser === undefined) !== (b.browser === undefined)) return a.browser !== undefined;
  if (a.time !== b.time) return a.time < b.time;
  const whoA = a.browser ?? a.userId ?? '';
  const whoB = b.browser ?? b.userId ?? '';
  return whoA !== whoB ? whoA < whoB : a.messageId < b.messageId;
}

function listIn<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  return list;
}

function ordersOf(activity: Activity): Map<string, Order> {
  if (activity.orders === undefined) activity.orders = new Map();
  return activity.orders;
}

/** The arm's totals of `placement`, made on first need. */
function placementOf(arm: Arm, placement: string): PlacementTotals {
  let total = arm.placements[placement];
  if (total === undefined) {
    total = {
      impressions: 0,
      clicks: 0,
      attributedOrders: 0,
      attributedOrdersByCurrency: {},
      attributedRevenue: {},
    };
    arm.placements[placement] = total;
  }
  return total;
}

function clicksOf(activity: Activity): Map<string, Click[]> {
  if (activity.clicks === undefined) activity.clicks = new Map();
  return activity.clicks;
}

/** An arm with no shoppers. */
export function emptyArm(): Arm {
  return {
    shoppers: 0,
    converted: 0,
    orders: 0,
    ordersByCurrency: {},
    buyersByCurrency: {},
    unpricedOrders: 0,
    revenue: {},
    refunds: 0,
    refunded: {},
    orderRevenue: {},
    recommendationsShown: 0,
    recommendationClicks: 0,
    // Without a prototype: its keys are placements, whatever events say (`__proto__` included).
    placements: Object.create(null) as Record<string, PlacementTotals>,
    attributedOrders: 0,
    attributedRevenue: {},
  };
}
