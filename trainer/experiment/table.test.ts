import { describe, expect, it } from 'vitest';
import { experimentReport } from './report';
import { formatReport } from './table';
import { type Arm, emptyArm, type Tally } from './tally';

function arm(fields: Partial<Arm>): Arm {
  return { ...emptyArm(), ...fields };
}

const tally = (
  treatment: Arm,
  holdout: Arm,
  spending: Tally['spending'] = { treatment: {}, holdout: {} },
): Tally => ({
  site: 'shop',
  firstEvent: Date.UTC(2026, 10, 1),
  lastEvent: Date.UTC(2026, 10, 8),
  arms: { treatment, holdout },
  inBothBuckets: 0,
  ordersInBothBuckets: 0,
  unassigned: { userIds: 0, orders: 0 },
  repeatedOrders: 0,
  refunds: { netted: 0, ofUnknownOrders: 0, notNetted: 0, inNoArm: 0, repeated: 0 },
  spending,
});

describe('formatReport', () => {
  it('shows each arm, the comparison cells, the placements and money per currency', () => {
    const treatment = arm({
      shoppers: 900,
      converted: 90,
      orders: 100,
      ordersByCurrency: { GBP: 100 },
      revenue: { GBP: { n: 900, sum: 2000, sumOfSquares: 90_000 } },
      orderRevenue: { GBP: 2000 },
      recommendationsShown: 500,
      recommendationClicks: 60,
      placements: {
        home: {
          impressions: 400,
          clicks: 40,
          attributedOrders: 15,
          attributedOrdersByCurrency: { GBP: 15 },
          attributedRevenue: { GBP: 200 },
        },
        product: {
          impressions: 100,
          clicks: 20,
          attributedOrders: 12,
          attributedOrdersByCurrency: { GBP: 12 },
          attributedRevenue: { GBP: 110.5 },
        },
      },
      attributedOrders: 25,
      attributedRevenue: { GBP: 310.5 },
    });
    const holdout = arm({
      shoppers: 100,
      converted: 8,
      orders: 8,
      ordersByCurrency: { GBP: 8 },
      revenue: { GBP: { n: 100, sum: 150, sumOfSquares: 6_000 } },
      orderRevenue: { GBP: 150 },
    });
    // What each buyer spent: 2,000 over 90 in treatment, 150 over 8 in the holdout.
    const spending = {
      treatment: { GBP: [...Array<number>(80).fill(20), ...Array<number>(10).fill(40)] },
      holdout: { GBP: [10, 10, 15, 15, 20, 20, 30, 30] },
    };
    const text = formatReport(experimentReport(tally(treatment, holdout, spending), 10), 10);
    expect(text).toContain(
      'shoppers (browsers): treatment 900, holdout 100; 10.0 % held out, 10 % configured',
    );
    expect(text).toMatch(
      /\| conversion \(shoppers with an order\) \| 10\.00 % \(90\) \| 8\.00 % \(8\) \| \+2\.00 pt \(/,
    );
    expect(text).toMatch(/\| revenue per shopper, GBP \| 2\.22 \| 1\.50 \| \+0\.72 \(/);
    expect(text).toContain('| average order value, GBP | 20.00 | 18.75 |');
    expect(text).toContain('| recommendation clicks (per impression) | 60 (12.0 %) | 0 |');
    expect(text).toContain('|   on home: clicks / impressions | 40 / 400 (10.0 %) | - |');
    expect(text).toContain('|   on product: clicks / impressions | 20 / 100 (20.0 %) | - |');
    expect(text).toContain(
      '| orders with a clicked recommendation | 25 (25 % of orders) | 0 (0 % of orders) |',
    );
    expect(text).toContain("|   their recommended products' value, GBP | 310.50 | 0.00 |");
    expect(text).toContain('|     from home: orders, value | 15, 200.00 | - |');
    expect(text).toContain('|     from product: orders, value | 12, 110.50 | - |');
    expect(text).toContain('fewer than 10 shoppers with an order in an arm');
  });

  it('shows a revenue row without an interval when an arm has no buyer in its currency, and says why', () => {
    const values = Array.from({ length: 12 }, (_, i) => 40 + ((i * 37) % 60));
    const treatment = arm({
      shoppers: 900,
      converted: 40,
      orders: 40,
      ordersByCurrency: { GBP: 28, EUR: 12 },
      buyersByCurrency: { GBP: 28, EUR: 12 },
      revenue: {
        GBP: { n: 900, sum: 560, sumOfSquares: 11_200 },
        EUR: { n: 900, sum: 822, sumOfSquares: 0 },
      },
    });
    const holdout = arm({
      shoppers: 100,
      converted: 12,
      orders: 12,
      ordersByCurrency: { GBP: 12 },
      buyersByCurrency: { GBP: 12 },
      revenue: { GBP: { n: 100, sum: 240, sumOfSquares: 4800 } },
    });
    const spending = {
      treatment: { GBP: Array<number>(28).fill(20), EUR: values },
      holdout: { GBP: Array<number>(12).fill(20) },
    };
    const report = experimentReport(tally(treatment, holdout, spending));
    expect(report.revenuePerShopper.EUR?.differenceInterval).toBeNull();
    expect(report.revenuePerShopper.EUR?.pValue).toBeGreaterThan(0.5);
    const text = formatReport(report);
    expect(text).toMatch(
      /\| revenue per shopper, EUR \(few buyers[^|]*\| 0\.91 \| 0\.00 \| \+0\.91 \| - \| 0\.5\d+ \|/,
    );
    expect(text).toContain(
      'revenue per shopper, EUR: no interval, as the holdout arm has no shopper who spent anything in EUR',
    );
    expect(text).not.toContain('revenue per shopper, GBP: no interval');
  });

  it('marks a revenue lift the permutation test cannot bound, and warns, where the difference has an interval', () => {
    const buyers = (values: number[]) =>
      arm({
        shoppers: 50,
        converted: values.length,
        orders: values.length,
        ordersByCurrency: { GBP: values.length },
        revenue: {
          GBP: {
            n: 50,
            sum: values.reduce((a, b) => a + b, 0),
            sumOfSquares: values.reduce((a, b) => a + b * b, 0),
          },
        },
        orderRevenue: { GBP: values.reduce((a, b) => a + b, 0) },
      });
    const treatment = [20, 20, 20, 20, 20];
    const holdout = [20, 20, 20];
    const report = experimentReport(
      tally(buyers(treatment), buyers(holdout), { treatment: { GBP: treatment }, holdout: { GBP: holdout } }),
    );
    expect(report.revenuePerShopper.GBP?.differenceInterval).not.toBeNull();
    expect(report.revenuePerShopper.GBP?.liftInterval).toBeNull();
    // Before: "+66.7 %" alone, read as precise as the conversion lift beside it.
    expect(formatReport(report)).toMatch(
      /\| revenue per shopper, GBP[^|]*\| 2\.00 \| 1\.20 \| \+0\.80 \([^)]+\) \| \+66\.7 % \(no bound\) \|/,
    );
    expect(report.warnings).toContainEqual(
      expect.stringMatching(/^revenue per shopper, GBP: the lift has no interval/),
    );
  });

  it('shows an empty arm as unmeasured (-), and the other arm its own conversion', () => {
    const treatment = arm({
      shoppers: 30,
      converted: 12,
      orders: 12,
      ordersByCurrency: { GBP: 12 },
      buyersByCurrency: { GBP: 12 },
      revenue: { GBP: { n: 30, sum: 120, sumOfSquares: 1200 } },
      attributedRevenue: { GBP: 40 },
    });
    const spending = { treatment: { GBP: Array<number>(12).fill(10) }, holdout: {} };
    const text = formatReport(experimentReport(tally(treatment, arm({}), spending)));
    expect(text).toContain('| conversion (shoppers with an order) | 40.00 % (12) | - (0) | - | - | - |');
    expect(text).toContain('| revenue per shopper, GBP | 4.00 | - | - | - | - |');
    expect(text).toContain("|   their recommended products' value, GBP | 40.00 | - |");
    expect(text).toContain('no shoppers in the holdout arm');
  });
});
