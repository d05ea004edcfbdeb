import type { ActivityKind } from '../../contracts/activity';
import type { IdentityLinks } from './identities';
import { type ItemPrices, noPrices, recordPrice } from './price-samples';

/** What every data reader produces: cleaned implicit-feedback interactions plus a report of what it skipped. */

/** One cleaned interaction of a user with an item. */
export interface Interaction {
  user: string;
  item: string;
  /** Epoch milliseconds. */
  time: number;
  /** Implicit-feedback strength of this one interaction (e.g. view 1 … purchase 4). */
  weight: number;
  /** True when this interaction is a purchase (the evaluation target on retail data). */
  purchase: boolean;
  /** Store / country / site, for per-store forecasts. */
  store?: string;
  /** Units bought, for demand forecasts (0 when not a purchase). */
  quantity: number;
  /** The basket / order / session the interaction belongs to, for "bought together". */
  basket?: string;
  /**
   * Set by the events readers when `user` is an anonymous id (the event had no `userId`): identity
   * stitching may give it to the shopper who signed in on that browser (data/identities.ts), and
   * clears it then. Still set after stitching: a shopper who never signed in.
   */
  anonymous?: true;
  /**
   * The event's anonymous id when it had no `userId` (events readers), kept after stitching: a split
   * at a cut-off stitches again with the links known by then (data/identities.ts). While unlinked,
   * `user` is `anonymousUserKey(anonymousId)`, never a user id.
   */
  anonymousId?: string;
  /**
   * The activity entry the worker's consumer records for the event (contracts/activity.ts), `null`
   * when it records none (`Checkout Started`). Set by the events readers only: in an order history
   * (online-retail, movielens) every row is a purchase, or a rating read as one.
   */
  activity?: ActivityKind | null;
  /**
   * A sale without a customer (an order-line row with an empty customer id), kept only when the
   * reader is asked for guest sales (the demand forecast): its `user` is `''`, no one's history.
   */
  guest?: true;
}

/**
 * Whether an interaction says something about what the shopper wants: every one but a removal from
 * the cart (`activity: 'removed'`, weight 0), which the readers keep only for the cart the worker reads
 * from a shopper's activity (eval/activity-list.ts). The matrices, splits and fits leave removals out:
 * the shopper did want the item they took out (its add keeps its weight), and a removal alone makes no
 * one a customer or anything an item.
 */
export function isSignal(interaction: Interaction): boolean {
  return interaction.activity !== 'removed';
}

/** Descriptive fields an input may carry about an item (for the bundle's catalogue). */
export interface ItemObservation {
  item: string;
  title?: string;
  price?: number;
  currency?: string;
  category?: string;
}

/** Rows skipped on purpose (cleaning) or because they could not be read, counted by reason. */
export class ReadReport {
  readonly rows = { read: 0, kept: 0 };
  /** What the reader decided about the whole input (e.g. its text encoding), printed with the counts. */
  readonly notes: string[] = [];
  private readonly reasons = new Map<string, { count: number; firstLines: number[] }>();

  /** Records a skipped row: `reason` is a short stable phrase, `line` 1-based in the input. */
  skip(reason: string, line: number): void {
    const entry = this.reasons.get(reason) ?? { count: 0, firstLines: [] };
    entry.count += 1;
    if (entry.firstLines.length < 5) entry.firstLines.push(line);
    this.reasons.set(reason, entry);
  }

  /** Skipped rows by reason, most frequent first. */
  skipped(): Array<{ reason: string; count: number; firstLines: number[] }> {
    return [...this.reasons.entries()]
      .map(([reason, v]) => ({ reason, count: v.count, firstLines: [...v.firstLines] }))
      .sort((a, b) => b.count - a.count);
  }

  /** Human-readable summary, one line per reason. */
  summary(): string {
    const lines = [`read ${this.rows.read} rows, kept ${this.rows.kept}`];
    for (const note of this.notes) lines.push(`  note: ${note}`);
    for (const s of this.skipped()) {
      lines.push(`  skipped ${s.count} × ${s.reason} (first at line ${s.firstLines.join(', ')})`);
    }
    return lines.join('\n');
  }
}

/** A data source: interactions streamed in input order, item descriptions and the report. */
export interface DataSource {
  interactions(): AsyncIterable<Interaction>;
  /** Filled while `interactions()` is consumed. */
  readonly report: ReadReport;
  /** Filled while `interactions()` is consumed. */
  readonly items: Map<string, ItemStats>;
  /** Events readers: which anonymous ids signed in as whom, filled while `interactions()` is consumed. */
  readonly identities?: IdentityLinks;
}

/** Accumulated descriptions of an item seen in the data. */
export interface ItemStats {
  titles: Map<string, number>;
  /** Price samples per currency (price-samples.ts); the catalogue shows one currency's median. */
  prices: ItemPrices;
  category?: string;
}

/** Records an observation into the item stats map (most common title, price samples). */
export function observeItem(items: Map<string, ItemStats>, obs: ItemObservation): void {
  let stats = items.get(obs.item);
  if (!stats) {
    stats = { titles: new Map(), prices: noPrices() };
    items.set(obs.item, stats);
  }
  if (obs.title) stats.titles.set(obs.title, (stats.titles.get(obs.title) ?? 0) + 1);
  // A negative price (a refund line, a sender's bug) is no price to show: the catalogue would refuse it.
  const price =
    obs.price !== undefined && Number.isFinite(obs.price) && obs.price >= 0 ? obs.price : undefined;
  recordPrice(stats.prices, price, obs.currency);
  if (obs.category) stats.category = obs.category;
}
