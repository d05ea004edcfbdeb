import type { Redis } from '@upstash/redis/cloudflare';
import type { Bucket, StoredEvent } from '../../../contracts/events';
import {
  experimentRoleOf,
  milliOf,
  orderKey,
  refundIncrement,
  refundValue,
} from '../../../contracts/experiment-events';
import { orderValue, UNKNOWN_CURRENCY } from '../../../contracts/order-value';
import {
  liveCountedAtKey,
  liveCountersKey,
  liveMessageKey,
  liveOrderKey,
  liveRefundsKey,
  liveShoppersKey,
  liveUserBrowsersKey,
} from '../cache/keys';
import { offRequestRedis } from '../cache/redis-client';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { log } from '../log';
import { userHashKey } from '../shopper';
import { liveTallyHash } from '../shopper/user-hash';
import {
  type Counter,
  dayOf,
  isLiveTime,
  LIVE_BUCKETS,
  LIVE_COUNTED_AT_SECONDS,
  LIVE_DAYS,
  liveCounterField,
  livePlacement,
} from './live-counters';

/** The consumer is off the request path: it can wait longer for Redis than a shopper's request. */
const LIVE_TIMEOUT_MS = 3_000;
/**
 * How long an order stays marked as counted, with the arm, currency and value it was counted for, and
 * how long its refunds stay known. The browser's report and the shop server's come minutes apart, and a
 * retry from the dead-letter queue (`scripts/replay-dlq.ts`) within days; but a refund comes weeks after
 * its order, and must find where the order counted for as long as the counters show that order's day.
 */
const LIVE_ORDER_SECONDS = (LIVE_DAYS + 1) * 86_400;
/**
 * How long a queue message stays marked as counted: past the longest a redelivery takes (the queue's
 * back-off reaches 300 s; 20 retries are within two hours).
 */
const LIVE_MARK_SECONDS = 3 * 86_400;
/** How long a user id's browsers stay known from their events: as long as the counters are kept. */
const LIVE_LINK_SECONDS = (LIVE_DAYS + 1) * 86_400;

/** One queue message's events, as the consumer's MongoDB write left them. */
export interface LiveDelivery {
  /** The queue message's id: once its events are counted, a marker under its pseudonym says so. */
  messageId: string;
  /** The site of its events (a pack is one request's, so one site's). */
  site: string;
  /** Whether the message is acked (not retried) after this delivery. */
  acked: boolean;
  /** Events this delivery stored for the first time: counted. */
  stored: readonly StoredEvent[];
  /**
   * Events a redelivery of the message (`attempts` > 1) found stored by an earlier delivery of it (the
   * copy has the event's `receivedAt`; consumer/handler.ts storedByEarlierDelivery): counted only when
   * no earlier delivery of the message counted (no marker), that is when the one that stored them died
   * before counting. Never an event sent twice (a copy from another request), nor on a first delivery.
   */
  storedEarlier: readonly StoredEvent[];
}

/** What one batch adds: per day hash, its counters; per HyperLogLog, its new elements. */
interface LiveChanges {
  counters: Map<string, Map<string, number>>;
  shoppers: Map<string, Set<string>>;
  /** Per key of either kind, when it expires (epoch seconds): LIVE_DAYS after the end of its day. */
  expiresAt: Map<string, number>;
}

/**
 * Adds newly stored events to the live experiment counters in Upstash Redis (`GET /admin/live`): per
 * site, UTC day (of the event's `timestamp`) and bucket, the events, browsers and buyers (HyperLogLogs of
 * pseudonyms), recommendation impressions and clicks (in total and per placement), orders and revenue
 * per currency, counted as `npm run report` counts them (contracts/experiment-events.ts).
 *
 * Each event counts once. Events stored for the first time count (the consumer's `stored` outcome); a
 * message whose events were counted leaves a marker (a SET per message, in the same round trip as the
 * counts), so that when a consumer dies after MongoDB's write, before counting or before acking, the
 * redelivery counts the events it finds stored if the marker is missing and never if it is there. A
 * message that stored nothing and is retried leaves none: its next delivery stores, and counts, its
 * events. One order reported twice (browser and server) counts once, by its `order_id` (a SET NX per
 * order); a server's report under a user id alone counts in the arm of the one browser that user id
 * was seen with, its buyer that browser (one of the day's browsers too), and not at all otherwise
 * (userOnlyArms). So does any other event under a user id alone (an impression, a click a shop's
 * server reports): in that browser's arm, or, seen with none or several, in no impression or click
 * (its `events` count stays in its own bucket), as the report gives such events. An order or refund
 * worth more than MAX_ORDER_VALUE (experimentRoleOf `implausible`) is not counted at all, as the report
 * skips it. A refund (`Order Refunded`, or an `Order
 * Completed` worth less than 0: no order, no buyer) is taken off the revenue of the arm its order was
 * counted for, on the refund's day, at most what the order was worth, once per order_id and amount
 * (netRefunds); a refunded order stays an order and its buyer a buyer. Events older than LIVE_DAYS, or
 * dated more than a day ahead, are not counted. A batch that counted events of a site notes the time
 * (liveCountedAtKey, one SET per site in the batch's counts' round trip): `GET /admin/live` says when
 * counting last happened. The counters are a live view, not the record: an event stored while Redis is
 * unreachable is in MongoDB and in `npm run report`, not here. Never throws, and without
 * `USER_HASH_KEY` counts nothing (no pseudonym can be made).
 */
export async function recordLiveCounters(
  env: Env,
  deliveries: readonly LiveDelivery[],
  now = Date.now(),
): Promise<void> {
  // No retry: a request that Upstash ran but whose answer was lost would run again, and every HINCRBY
  // with it (an order's SET NX would then say "claimed" and the order would never count).
  const redis = offRequestRedis(env, { timeoutMs: LIVE_TIMEOUT_MS, retries: 0 });
  if (redis === undefined || deliveries.length === 0) return;
  const hashKey = userHashKey(env);
  if (hashKey === undefined) return;
  let counted: StoredEvent[] = [];
  try {
    const markers = await Promise.all(
      deliveries.map(async (delivery) =>
        liveMessageKey(
          delivery.site,
          await liveTallyHash(hashKey, delivery.site, 'message', delivery.messageId),
        ),
      ),
    );
    const countedBefore = await markedDeliveries(redis, deliveries, markers);
    counted = deliveries
      .flatMap((delivery) => [
        ...delivery.stored,
        ...(countedBefore.has(delivery) ? [] : delivery.storedEarlier),
      ])
      // An order or refund worth more than MAX_ORDER_VALUE counts nowhere, not even as an event: the
      // report skips it as it reads it (and a few would take a day's revenue past 2^53).
      .filter(
        (event) =>
          isLiveTime(Date.parse(event.timestamp), now) && experimentRoleOf(event).kind !== 'implausible',
      );
    const seen = await userBrowsersSeen(hashKey, counted);
    const serverArms = await userOnlyArms(redis, hashKey, counted, seen);
    const { newOrders, refundedOrders } = await claimOrders(redis, hashKey, counted, serverArms);
    const refunds = await netRefunds(redis, refundedOrders, serverArms);
    const changes = await liveChanges(hashKey, counted, newOrders, serverArms, refunds);
    const pipeline = redis.pipeline();
    for (const [key, fields] of changes.counters) {
      for (const [field, amount] of fields) pipeline.hincrby(key, field, amount);
    }
    for (const [key, elements] of changes.shoppers) {
      const [first, ...rest] = [...elements];
      if (first !== undefined) pipeline.pfadd(key, first, ...rest);
    }
    for (const [key, at] of changes.expiresAt) pipeline.expireat(key, at);
    for (const { site, user, browsers } of seen.values()) {
      const [first, ...rest] = [...browsers];
      if (first === undefined) continue;
      pipeline.sadd(liveUserBrowsersKey(site, user), first, ...rest);
      pipeline.expire(liveUserBrowsersKey(site, user), LIVE_LINK_SECONDS);
    }
    // When this site's events were last counted: what tells a quiet shop's screen from a stopped one's.
    for (const site of new Set(counted.map((event) => event.site)))
      pipeline.set(liveCountedAtKey(site), String(now), { ex: LIVE_COUNTED_AT_SECONDS });
    // After the counts, in the same round trip: a marker says the counts are in. A redelivery that
    // counted what an earlier one stored (and died before counting) leaves one too, or the next
    // redelivery (this one's events retried for another reason) would count them again.
    deliveries.forEach((delivery, index) => {
      const marker = markers[index];
      const countedHere =
        delivery.stored.length > 0 || (delivery.storedEarlier.length > 0 && !countedBefore.has(delivery));
      if (marker !== undefined && (delivery.acked || countedHere))
        pipeline.set(marker, '1', { ex: LIVE_MARK_SECONDS });
    });
    // Nothing to count or mark (every message retried, nothing stored): an empty pipeline would throw.
    if (pipeline.length() > 0) await pipeline.exec();
    reportRecovery('live_counters');
  } catch (error) {
    reportFailure('live_counters', error);
    log('warn', 'live_counters_failed', { events: counted.length, error });
  }
}

/**
 * The redelivered messages an earlier delivery already counted (their marker is there): one EXISTS per
 * message with events found stored, in one round trip, and none at all in the usual batch, which has
 * no such message.
 */
async function markedDeliveries(
  redis: Redis,
  deliveries: readonly LiveDelivery[],
  markers: readonly string[],
): Promise<Set<LiveDelivery>> {
  const asked = deliveries.flatMap((delivery, index) =>
    delivery.storedEarlier.length > 0 ? [{ delivery, marker: markers[index] ?? '' }] : [],
  );
  if (asked.length === 0) return new Set();
  const pipeline = redis.pipeline();
  for (const { marker } of asked) pipeline.exists(marker);
  const found = await pipeline.exec<number[]>();
  return new Set(asked.filter((_, index) => Number(found[index]) === 1).map(({ delivery }) => delivery));
}

function isLiveBucket(value: string | undefined): value is Bucket {
  return (LIVE_BUCKETS as readonly (string | undefined)[]).includes(value);
}

/** The pseudonym of a user id for the live counters' links (liveUserBrowsersKey). */
function userPseudonym(hashKey: string, event: StoredEvent): Promise<string> {
  return liveTallyHash(hashKey, event.site, 'user', event.userId ?? '');
}

/** Where an event under a user id alone (a server's order, say) counts: its one browser's arm, and that browser. */
interface UserOnlyArm {
  bucket: Bucket;
  /** The browser's pseudonym (liveTallyHash `browser`): of an order, the buyer the report would count. */
  browser: string;
}

/** A user id seen in this batch with browsers: its site, pseudonym and those browsers (`{bucket}:{pseudonym}`). */
interface UserBrowsers {
  site: string;
  user: string;
  browsers: Set<string>;
}

/**
 * The user ids this batch's events show with a browser (an event with both ids), by site and
 * pseudonym: each user's browsers are added once (an SADD and an EXPIRE per user) and read by
 * userOnlyArms.
 */
async function userBrowsersSeen(
  hashKey: string,
  events: readonly StoredEvent[],
): Promise<Map<string, UserBrowsers>> {
  const seen = new Map<string, UserBrowsers>();
  for (const event of events) {
    if (event.anonymousId == null || event.userId == null) continue;
    const user = await userPseudonym(hashKey, event);
    const browser = await liveTallyHash(hashKey, event.site, 'browser', event.anonymousId);
    const key = `${event.site}\n${user}`;
    const entry = seen.get(key) ?? { site: event.site, user, browsers: new Set<string>() };
    entry.browsers.add(`${event.bucket}:${browser}`);
    seen.set(key, entry);
  }
  return seen;
}

/**
 * The arm of each event a shop's server reported under a user id alone (an order, a refund, an
 * impression, a click, any other), as `npm run report` gives it: that of the one browser the user id
 * was seen with (this batch's events, and earlier ones, which left a set of them). One SMEMBERS per
 * distinct user id among such events, in one round trip, and none in a batch without any. Seen with no
 * browser, or with more than one (even all of one arm: a user with two browsers has both in treatment
 * 81 times in 100 and both held out once, so counting them would tilt the arms towards treatment), the
 * event is in no arm: an order is not claimed, so a browser's report of it, later, counts in that
 * browser's arm; an impression or a click is not counted.
 */
async function userOnlyArms(
  redis: Redis,
  hashKey: string,
  events: readonly StoredEvent[],
  seenHere: ReadonlyMap<string, UserBrowsers>,
): Promise<Map<StoredEvent, UserOnlyArm>> {
  const userOnly = events.filter((event) => event.anonymousId == null && event.userId != null);
  if (userOnly.length === 0) return new Map();
  const users = await Promise.all(userOnly.map((event) => userPseudonym(hashKey, event)));
  const keyOf = (index: number) => `${userOnly[index]?.site}\n${users[index]}`;
  const asked = new Map<string, { site: string; user: string }>();
  userOnly.forEach((event, index) => {
    asked.set(keyOf(index), { site: event.site, user: users[index] ?? '' });
  });
  const pipeline = redis.pipeline();
  for (const { site, user } of asked.values()) pipeline.smembers(liveUserBrowsersKey(site, user));
  const found = await pipeline.exec<string[][]>();
  const armOfUser = new Map<string, UserOnlyArm | undefined>();
  [...asked.keys()].forEach((key, index) => {
    const members = [...(seenHere.get(key)?.browsers ?? []), ...(found[index] ?? [])];
    const browsers = new Set(members.map((member) => member.slice(member.indexOf(':') + 1)));
    const buckets = new Set(members.map((member) => member.slice(0, member.indexOf(':'))));
    const [bucket] = buckets;
    const [browser] = browsers;
    // One browser, in one arm (a browser counted in both, after a HOLDOUT_PERCENT change, has none).
    const one = browsers.size === 1 && buckets.size === 1 && isLiveBucket(bucket) && browser !== undefined;
    armOfUser.set(key, one ? { bucket, browser } : undefined);
  });
  const arms = new Map<StoredEvent, UserOnlyArm>();
  userOnly.forEach((event, index) => {
    const arm = armOfUser.get(keyOf(index));
    if (arm !== undefined) arms.set(event, arm);
  });
  return arms;
}

/** Where an order was counted: what its claim holds (`{bucket}|{currency}|{thousandths}`). */
interface CountedOrder {
  bucket: Bucket;
  currency: string;
  /** Its value in thousandths; undefined for an order that gave none (counted as worth 0). */
  milli: number | undefined;
}

function orderClaim(order: CountedOrder): string {
  return `${order.bucket}|${order.currency}|${order.milli ?? ''}`;
}

/** A claim as orderClaim wrote it; undefined for any other (a claim of before refunds: "1"). */
function countedOrder(claim: unknown): CountedOrder | undefined {
  if (typeof claim !== 'string') return undefined;
  const [bucket, currency, milli, ...rest] = claim.split('|');
  if (!isLiveBucket(bucket) || currency === undefined || milli === undefined || rest.length > 0)
    return undefined;
  const value = milli === '' ? undefined : Number(milli);
  if (value !== undefined && !Number.isSafeInteger(value)) return undefined;
  return { bucket, currency, milli: value };
}

/** A refund event of the batch, the key of its order's claim and what that claim holds (when any). */
interface RefundOfOrder {
  event: StoredEvent;
  orderKey: string;
  order: CountedOrder | undefined;
}

/**
 * The order events of the batch that are the first report of their order: one SET NX per order (the
 * key is the pseudonym of its `orderKey`; the value says where the order counted, and what it was
 * worth), in one round trip. A second event of the same order in the batch is not the first. A
 * server's report under a user id alone claims only with an arm (serverArms). In the same round trip,
 * after the claims, one GET per refund event of its order's claim: where a refund is taken off.
 */
async function claimOrders(
  redis: Redis,
  hashKey: string,
  events: readonly StoredEvent[],
  serverArms: ReadonlyMap<StoredEvent, UserOnlyArm>,
): Promise<{ newOrders: Set<StoredEvent>; refundedOrders: RefundOfOrder[] }> {
  const firstOfOrder = new Map<string, StoredEvent>();
  const refunds: Array<{ event: StoredEvent; orderKey: string }> = [];
  for (const event of events) {
    const role = experimentRoleOf(event).kind;
    if (role !== 'order' && role !== 'refund') continue;
    const key = liveOrderKey(event.site, await liveTallyHash(hashKey, event.site, 'order', orderKey(event)));
    if (role === 'refund') refunds.push({ event, orderKey: key });
    else if (event.anonymousId != null || serverArms.has(event))
      if (!firstOfOrder.has(key)) firstOfOrder.set(key, event);
  }
  if (firstOfOrder.size === 0 && refunds.length === 0) return { newOrders: new Set(), refundedOrders: [] };
  const pipeline = redis.pipeline();
  for (const [key, event] of firstOfOrder) {
    const value = orderValue(event);
    const milli = milliOf(value.revenue);
    const claim = orderClaim({
      bucket: serverArms.get(event)?.bucket ?? event.bucket,
      currency: value.currency,
      milli: value.priced && Number.isSafeInteger(milli) ? milli : undefined,
    });
    pipeline.set(key, claim, { nx: true, ex: LIVE_ORDER_SECONDS });
  }
  for (const { orderKey: key } of refunds) pipeline.get(key);
  const replies = await pipeline.exec<unknown[]>();
  const orders = [...firstOfOrder.values()];
  return {
    newOrders: new Set(orders.filter((_, index) => replies[index] === 'OK')),
    refundedOrders: refunds.map((refund, index) => ({
      ...refund,
      order: countedOrder(replies[orders.length + index]),
    })),
  };
}

/** A refund as taken off: from which arm's revenue, in which currency, how many thousandths. */
interface NettedRefund {
  bucket: Bucket;
  currency: string;
  milli: number;
}

/**
 * What each refund event of the batch takes off, and from which arm, as `npm run report` takes it: the
 * arm its order was counted for (the order's claim), else (an order not counted here, or claimed before
 * refunds were counted) the refund's own browser's arm, or for a server's refund under a user id alone
 * the arm of that user's one browser. Its amount, or without one the order's own value; its currency,
 * or the order's. Each refund once per order, currency and amount (an HSET on the order's refunds),
 * and an order's refunds together at most its value (refundIncrement, from the HKEYS of the same
 * hash): three commands per refund (and an EXPIRE), in one round trip, only in a batch with refunds.
 * A refund it cannot value (no amount, and no value of its order) or place in an arm is not counted.
 */
async function netRefunds(
  redis: Redis,
  refunds: readonly RefundOfOrder[],
  serverArms: ReadonlyMap<StoredEvent, UserOnlyArm>,
): Promise<Map<StoredEvent, NettedRefund>> {
  const netted = new Map<StoredEvent, NettedRefund>();
  const asked: Array<
    { event: StoredEvent; refundsKey: string; field: string; cap: number | undefined } & NettedRefund
  > = [];
  for (const { event, orderKey: key, order } of refunds) {
    const bucket =
      order?.bucket ?? (event.anonymousId != null ? event.bucket : serverArms.get(event)?.bucket);
    if (bucket === undefined) continue;
    const value = refundValue(event);
    const currency = value.currency ?? order?.currency ?? UNKNOWN_CURRENCY;
    const cap = order?.currency === currency ? order.milli : undefined;
    const milli = value.amount === undefined ? cap : milliOf(value.amount);
    if (milli === undefined || !Number.isSafeInteger(milli)) continue;
    const field = `${currency}|${milli}`;
    asked.push({ event, refundsKey: liveRefundsKey(key), field, cap, bucket, currency, milli });
  }
  if (asked.length === 0) return netted;
  const pipeline = redis.pipeline();
  for (const { refundsKey, field, milli } of asked) {
    // HSET answers how many fields it added: 1 for a new refund, 0 for one counted before (the same
    // value again). Not HSETNX, which the local server's in-memory backend does not have.
    pipeline.hset(refundsKey, { [field]: String(milli) });
    pipeline.hkeys(refundsKey);
    pipeline.expire(refundsKey, LIVE_ORDER_SECONDS);
  }
  const replies = await pipeline.exec<unknown[]>();
  asked.forEach(({ event, field, cap, bucket, currency, milli }, index) => {
    // Counted before (the browser's and the server's report of one refund, or a redelivery): not again.
    if (Number(replies[3 * index]) !== 1) return;
    const fields = replies[3 * index + 1];
    let previous = 0;
    for (const other of Array.isArray(fields) ? fields : []) {
      const [otherCurrency, otherMilli] = String(other).split('|');
      if (other !== field && otherCurrency === currency) previous += Number(otherMilli) || 0;
    }
    const taken = refundIncrement(cap, previous, milli);
    if (taken > 0) netted.set(event, { bucket, currency, milli: taken });
  });
  return netted;
}

async function liveChanges(
  hashKey: string,
  events: readonly StoredEvent[],
  newOrders: ReadonlySet<StoredEvent>,
  serverArms: ReadonlyMap<StoredEvent, UserOnlyArm>,
  refunds: ReadonlyMap<StoredEvent, NettedRefund>,
): Promise<LiveChanges> {
  const changes: LiveChanges = { counters: new Map(), shoppers: new Map(), expiresAt: new Map() };
  for (const event of events) {
    const day = dayOf(Date.parse(event.timestamp));
    const expiresAt = Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + (LIVE_DAYS + 1) * 86_400;
    const countersKey = liveCountersKey(event.site, day);
    changes.expiresAt.set(countersKey, expiresAt);
    // An event under a user id alone counts in its one browser's arm, not its own bucket (which the
    // worker drew from the user id, not from any browser's); without one, only among the events.
    const serverArm = serverArms.get(event);
    const bucket = serverArm?.bucket ?? event.bucket;
    const add = (counter: Counter, amount = 1) =>
      addTo(changes.counters, countersKey, bucket, counter, amount);
    const count = (who: 'browsers' | 'buyers', element: string) => {
      const key = liveShoppersKey(event.site, day, bucket, who);
      const elements = changes.shoppers.get(key) ?? new Set();
      elements.add(element);
      changes.shoppers.set(key, elements);
      changes.expiresAt.set(key, expiresAt);
    };

    add('events');
    // The browser is the report's unit; an event under a user id alone names none.
    const browser =
      event.anonymousId == null
        ? undefined
        : await liveTallyHash(hashKey, event.site, 'browser', event.anonymousId);
    if (browser !== undefined) count('browsers', browser);
    const role = experimentRoleOf(event);
    if ((role.kind === 'impression' || role.kind === 'click') && (browser !== undefined || serverArm)) {
      const counter = role.kind === 'impression' ? 'impressions' : 'clicks';
      add(counter);
      add(`${counter}:${livePlacement(role.placement)}`);
    } else if (role.kind === 'order' && newOrders.has(event)) {
      add('orders');
      // A buyer is a browser, as in the report: a server's order is its one browser's (userOnlyArms).
      // And a buyer is one of the day's browsers, as in the report: that browser's own events may all be
      // of an earlier day (a checkout before midnight), which would leave buyers above browsers.
      const buyer = browser ?? serverArm?.browser;
      if (buyer !== undefined) {
        count('buyers', buyer);
        count('browsers', buyer);
      }
      const value = orderValue(event);
      const milli = Math.round(value.revenue * 1000);
      if (!value.priced || !Number.isSafeInteger(milli)) add('unpriced_orders');
      else add(`revenue_milli:${value.currency}`, milli);
    } else if (role.kind === 'refund') {
      // Off the revenue of its order's arm (netRefunds), on the refund's day. A refunded order stays an
      // order, and its buyer a buyer, as in the report.
      const refund = refunds.get(event);
      if (refund !== undefined)
        addTo(
          changes.counters,
          countersKey,
          refund.bucket,
          `revenue_milli:${refund.currency}`,
          -refund.milli,
        );
    }
  }
  return changes;
}

function addTo(
  counters: Map<string, Map<string, number>>,
  key: string,
  bucket: Bucket,
  counter: Counter,
  amount: number,
): void {
  const fields = counters.get(key) ?? new Map<string, number>();
  const field = liveCounterField(bucket, counter);
  fields.set(field, (fields.get(field) ?? 0) + amount);
  counters.set(key, fields);
}
