/**
 * The experiment report (`npm run report`): treatment against holdout on conversion and revenue per
 * shopper, with intervals, a sample-ratio check, recommendation engagement and attributed revenue,
 * and the warnings a reader needs before trusting any of it.
 */
import type { Bucket } from '../../contracts/events';
import { type Comparison, compareMeans, compareProportions, METHODS, sampleRatioCheck } from './statistics';
import type { Arm, Tally } from './tally';

/**
 * Below this many converted shoppers in an arm, the intervals and p-values are not to be trusted: for
 * conversion and every revenue row (all buyers), and for one currency's revenue row (its buyers).
 */
export const MIN_CONVERSIONS = 10;
/** A sample-ratio p-value under this means the split itself is broken. */
export const SAMPLE_RATIO_ALARM = 0.001;

export interface ExperimentReport {
  site: string | null;
  /** ISO times of the first and last event in the window. */
  firstEvent: string | null;
  lastEvent: string | null;
  arms: Record<Bucket, Arm>;
  sampleRatio: ReturnType<typeof sampleRatioCheck>;
  /** Shoppers with an order, of all shoppers. */
  conversion: Comparison | null;
  /** Per currency: what a shopper spent on average, buyers and non-buyers alike. */
  revenuePerShopper: Record<string, Comparison | null>;
  /** How the p-values and intervals of each row are computed. */
  methods: typeof METHODS;
  /**
   * Currencies whose revenue row rests on fewer than MIN_CONVERSIONS buyers in that currency in an arm
   * while the arms have enough buyers in all (their interval and p-value are not reliable; the table
   * marks them and a warning names them). Empty when the warning about all buyers covers every row.
   */
  fewBuyersCurrencies: string[];
  inBothBuckets: number;
  ordersInBothBuckets: number;
  unassigned: Tally['unassigned'];
  repeatedOrders: number;
  /** What became of the refunds (tally.ts `RefundCounts`). */
  refunds: Tally['refunds'];
  warnings: string[];
}

/** The report of a tally; `holdoutPercent` (HOLDOUT_PERCENT as configured) enables the ratio check. */
export function experimentReport(tally: Tally, holdoutPercent?: number): ExperimentReport {
  const { treatment, holdout } = tally.arms;
  const currencies = [
    ...new Set([...Object.keys(treatment.revenue), ...Object.keys(holdout.revenue)]),
  ].sort();
  const revenuePerShopper: Record<string, Comparison | null> = {};
  for (const currency of currencies)
    revenuePerShopper[currency] = compareMeans(
      { n: treatment.shoppers, values: tally.spending.treatment[currency] ?? [] },
      { n: holdout.shoppers, values: tally.spending.holdout[currency] ?? [] },
    );
  const sampleRatio =
    holdoutPercent === undefined
      ? null
      : sampleRatioCheck(treatment.shoppers, holdout.shoppers, holdoutPercent / 100);
  const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
  const fewBuyersCurrencies = fewAllBuyers(tally)
    ? []
    : currencies.filter(
        (currency) => Math.min(buyersIn(treatment, currency), buyersIn(holdout, currency)) < MIN_CONVERSIONS,
      );
  return {
    site: tally.site,
    firstEvent: iso(tally.firstEvent),
    lastEvent: iso(tally.lastEvent),
    arms: tally.arms,
    sampleRatio,
    conversion: compareProportions(
      { n: treatment.shoppers, converted: treatment.converted },
      { n: holdout.shoppers, converted: holdout.converted },
    ),
    revenuePerShopper,
    methods: METHODS,
    fewBuyersCurrencies,
    inBothBuckets: tally.inBothBuckets,
    ordersInBothBuckets: tally.ordersInBothBuckets,
    unassigned: tally.unassigned,
    repeatedOrders: tally.repeatedOrders,
    refunds: tally.refunds,
    warnings: [
      ...warnings(tally, sampleRatio, holdoutPercent, fewBuyersCurrencies),
      ...noIntervalWarnings(tally, revenuePerShopper),
    ],
  };
}

/** Whether an arm is empty or has fewer than MIN_CONVERSIONS buyers (the first warning). */
function fewAllBuyers(tally: Tally): boolean {
  const { treatment, holdout } = tally.arms;
  return (
    treatment.shoppers === 0 ||
    holdout.shoppers === 0 ||
    Math.min(treatment.converted, holdout.converted) < MIN_CONVERSIONS
  );
}

function buyersIn(arm: Arm, currency: string): number {
  return arm.buyersByCurrency[currency] ?? 0;
}

function warnings(
  tally: Tally,
  sampleRatio: ExperimentReport['sampleRatio'],
  holdoutPercent: number | undefined,
  fewBuyersCurrencies: readonly string[],
): string[] {
  const { treatment, holdout } = tally.arms;
  const out: string[] = [];
  if (treatment.shoppers === 0 || holdout.shoppers === 0)
    out.push(
      `no shoppers in the ${treatment.shoppers === 0 ? 'treatment' : 'holdout'} arm: nothing to compare (is HOLDOUT_PERCENT above 0?)`,
    );
  else if (Math.min(treatment.converted, holdout.converted) < MIN_CONVERSIONS)
    out.push(
      `fewer than ${MIN_CONVERSIONS} shoppers with an order in an arm: the intervals and p-values are not reliable yet`,
    );
  for (const currency of fewBuyersCurrencies)
    out.push(
      `fewer than ${MIN_CONVERSIONS} shoppers with an order in ${currency} in an arm (treatment ${buyersIn(treatment, currency)}, holdout ${buyersIn(holdout, currency)}): the revenue per shopper, ${currency} row's interval and p-value are not reliable yet`,
    );
  if (sampleRatio !== null && sampleRatio.pValue < SAMPLE_RATIO_ALARM)
    out.push(
      `sample ratio mismatch: ${percent(sampleRatio.observedHoldoutShare)} of shoppers are in the holdout, not ${holdoutPercent} % (p = ${sampleRatio.pValue.toExponential(1)}); one arm is losing shoppers or events, and no comparison here can be trusted until that is found`,
    );
  if (tally.inBothBuckets > 0)
    out.push(
      `${tally.inBothBuckets} browsers have events in both arms (HOLDOUT_PERCENT changed during the window?) and are left out${tally.ordersInBothBuckets > 0 ? `, with the ${tally.ordersInBothBuckets} orders they reported first (in no arm; other browsers' reports of them are not counted either)` : ''}`,
    );
  if (tally.unassigned.orders > 0)
    out.push(
      `${tally.unassigned.orders} orders were reported under ${tally.unassigned.userIds} user ids alone that were seen with no browser or with several, and are in no arm`,
    );
  const { ofUnknownOrders, notNetted, inNoArm } = tally.refunds;
  if (ofUnknownOrders > 0)
    out.push(
      `${ofUnknownOrders} refunds name no order among the window's events (one placed before it, or a cancellation under an order_id of its own): taken off the revenue of the shopper who reported them`,
    );
  if (notNetted > 0)
    out.push(
      `${notNetted} refunds give no amount, and their order is not among the window's events or gave no value: not taken off any revenue`,
    );
  if (inNoArm > 0)
    out.push(
      `${inNoArm} refunds are of orders in no arm, or were reported by a shopper in no arm (a browser in both, a user id alone seen with no browser or several): in no arm either`,
    );
  const unpriced = treatment.unpricedOrders + holdout.unpricedOrders;
  if (unpriced > 0)
    out.push(`${unpriced} orders have no revenue, total or prices: counted as orders worth 0`);
  return out;
}

/**
 * The revenue rows with a p-value but no difference interval (the table shows the difference alone):
 * an arm with no buyer in that currency, or whose shoppers all spent the same, or too few distinct
 * values for the test to bound the difference (`permutationTest` in resampling.ts).
 */
function noIntervalWarnings(tally: Tally, rows: Record<string, Comparison | null>): string[] {
  const out: string[] = [];
  for (const [currency, comparison] of Object.entries(rows)) {
    if (comparison?.differenceInterval && comparison.lift !== null && comparison.liftInterval === null) {
      out.push(
        `revenue per shopper, ${currency}: the lift has no interval (shown as "no bound"): with so few buyers the permutation test rules out no ratio however large; read the difference and its interval instead`,
      );
      continue;
    }
    if (comparison === null || comparison.pValue === null || comparison.differenceInterval !== null) continue;
    const without = (['treatment', 'holdout'] as const).filter(
      (bucket) => (tally.spending[bucket][currency] ?? []).length === 0,
    );
    out.push(
      without.length > 0
        ? `revenue per shopper, ${currency}: no interval, as the ${without[0]} arm has no shopper who spent anything in ${currency} (every shift of the other arm's values would be rejected, however small); its p-value still tests "personalization changes no shopper's spending"`
        : `revenue per shopper, ${currency}: no interval, as the permutation test cannot bound the difference (an arm's shoppers all spent the same, or too few distinct values); its p-value still tests "personalization changes no shopper's spending"`,
    );
  }
  return out;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
