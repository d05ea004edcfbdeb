/** The experiment report as text: a heading, one Markdown table and the warnings. */
import type { ExperimentReport } from './report';
import type { Comparison, Interval } from './statistics';
import { type Arm, NO_PLACEMENT } from './tally';

export function formatReport(report: ExperimentReport, holdoutPercent?: number): string {
  const { treatment, holdout } = report.arms;
  const lines = [
    `experiment report: site ${report.site ?? '(none)'}, events from ${report.firstEvent ?? '-'} to ${report.lastEvent ?? '-'}`,
    `shoppers (browsers): treatment ${treatment.shoppers}, holdout ${holdout.shoppers}${splitNote(report, holdoutPercent)}`,
    '',
    '| measure | treatment | holdout | difference (95 % CI) | lift (95 % CI) | p |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const row = (cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  const conversion = report.conversion;
  row([
    'conversion (shoppers with an order)',
    `${rate(conversion?.treatment ?? share(treatment))} (${treatment.converted})`,
    `${rate(conversion?.holdout ?? share(holdout))} (${holdout.converted})`,
    ...compared(conversion, (value) => `${signed(value * 100, 2)} pt`),
  ]);
  const fewBuyers = new Set(report.fewBuyersCurrencies);
  for (const [currency, comparison] of Object.entries(report.revenuePerShopper))
    row([
      `revenue per shopper, ${currency}${fewBuyers.has(currency) ? ' (few buyers: not reliable, see warnings)' : ''}`,
      money(comparison?.treatment ?? mean(treatment, currency)),
      money(comparison?.holdout ?? mean(holdout, currency)),
      ...compared(comparison, (value) => signed(value, 2)),
    ]);
  row(['orders', String(treatment.orders), String(holdout.orders), '', '', '']);
  // Refunds are taken off the revenue rows above; shown when there were any, with what they took off.
  if (treatment.refunds + holdout.refunds > 0) {
    row(['refunds (taken off revenue)', String(treatment.refunds), String(holdout.refunds), '', '', '']);
    for (const currency of Object.keys(report.revenuePerShopper))
      row([
        `  refunded, ${currency}`,
        money(refundedIn(treatment, currency)),
        money(refundedIn(holdout, currency)),
        '',
        '',
        '',
      ]);
  }
  for (const currency of Object.keys(report.revenuePerShopper))
    row([
      `average order value, ${currency}`,
      money(orderValue(treatment, currency)),
      money(orderValue(holdout, currency)),
      '',
      '',
      '',
    ]);
  row([
    'recommendation impressions (blocks, or pages the proxy filled)',
    String(treatment.recommendationsShown),
    String(holdout.recommendationsShown),
    '',
    '',
    '',
  ]);
  row(['recommendation clicks (per impression)', clicks(treatment), clicks(holdout), '', '', '']);
  const placements = [
    ...new Set([...Object.keys(treatment.placements), ...Object.keys(holdout.placements)]),
  ].sort();
  if (placements.length > 1 || (placements.length === 1 && placements[0] !== NO_PLACEMENT))
    for (const placement of placements)
      row([
        `  on ${placement}: clicks / impressions`,
        placementCell(treatment, placement),
        placementCell(holdout, placement),
        '',
        '',
        '',
      ]);
  row(['orders with a clicked recommendation', attributed(treatment), attributed(holdout), '', '', '']);
  // Which placement's clicks the orders came from: shown when there are placements to tell apart.
  const earning = placements.filter((placement) =>
    [treatment, holdout].some((arm) => (arm.placements[placement]?.attributedOrders ?? 0) > 0),
  );
  const perPlacement = earning.length > 1 || (earning.length === 1 && earning[0] !== NO_PLACEMENT);
  const earningIn = (currency: string) =>
    earning.filter((placement) =>
      [treatment, holdout].some((arm) => attributedOrdersIn(arm, placement, currency) > 0),
    );
  for (const currency of Object.keys(report.revenuePerShopper)) {
    row([
      `  their recommended products' value, ${currency}`,
      money(attributedValue(treatment, currency)),
      money(attributedValue(holdout, currency)),
      '',
      '',
      '',
    ]);
    if (perPlacement)
      for (const placement of earningIn(currency))
        row([
          `    from ${placement}: orders, value`,
          attributedCell(treatment, placement, currency),
          attributedCell(holdout, placement, currency),
          '',
          '',
          '',
        ]);
  }
  lines.push(
    '',
    `p and 95 % intervals: conversion, ${report.methods.conversion}; revenue per shopper, ${report.methods.revenuePerShopper}`,
  );
  if (report.warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const warning of report.warnings) lines.push(`- ${warning}`);
  }
  return lines.join('\n');
}

function splitNote(report: ExperimentReport, holdoutPercent: number | undefined): string {
  const check = report.sampleRatio;
  if (check === null || holdoutPercent === undefined) return '';
  return `; ${(check.observedHoldoutShare * 100).toFixed(1)} % held out, ${holdoutPercent} % configured (sample-ratio check p = ${pValue(check.pValue)})`;
}

/** The difference, lift and p cells of a comparison ('-' when it could not be computed). */
function compared(comparison: Comparison | null, difference: (value: number) => string): string[] {
  if (comparison === null) return ['-', '-', '-'];
  const interval = (i: Interval | null, format: (value: number) => string) =>
    i === null ? '' : ` (${format(i.low)} to ${format(i.high)})`;
  const liftPercent = (value: number) => `${signed(value * 100, 1)} %`;
  // A lift without an interval where the difference has one: the test cannot bound the ratio (few
  // buyers), which a bare figure would hide beside the conversion lift's interval (see the warning).
  const unbounded = comparison.liftInterval === null && comparison.differenceInterval !== null;
  return [
    `${difference(comparison.difference)}${interval(comparison.differenceInterval, difference)}`,
    comparison.lift === null
      ? '-'
      : `${liftPercent(comparison.lift)}${unbounded ? ' (no bound)' : interval(comparison.liftInterval, liftPercent)}`,
    comparison.pValue === null ? '-' : pValue(comparison.pValue),
  ];
}

/** An arm's mean revenue per shopper; none for an arm with no shoppers (no 0.00 it did not measure). */
function mean(arm: Arm, currency: string): number | undefined {
  return arm.shoppers === 0 ? undefined : (arm.revenue[currency]?.sum ?? 0) / arm.shoppers;
}

/** An arm's conversion when there is no comparison (the other arm is empty); none without shoppers. */
function share(arm: Arm): number | undefined {
  return arm.shoppers === 0 ? undefined : arm.converted / arm.shoppers;
}

function attributedValue(arm: Arm, currency: string): number | undefined {
  return arm.shoppers === 0 ? undefined : (arm.attributedRevenue[currency] ?? 0);
}

function refundedIn(arm: Arm, currency: string): number | undefined {
  return arm.shoppers === 0 ? undefined : (arm.refunded[currency] ?? 0);
}

/**
 * The orders' value less their own refunds, per order (a refund of an order outside the window is no
 * order's: it is in the revenue rows, not here).
 */
function orderValue(arm: Arm, currency: string): number | undefined {
  const orders = arm.ordersByCurrency[currency] ?? 0;
  return orders === 0 ? undefined : (arm.orderRevenue[currency] ?? 0) / orders;
}

function clicks(arm: Arm): string {
  if (arm.recommendationsShown === 0) return String(arm.recommendationClicks);
  return `${arm.recommendationClicks} (${((arm.recommendationClicks / arm.recommendationsShown) * 100).toFixed(1)} %)`;
}

function placementCell(arm: Arm, placement: string): string {
  const counts = arm.placements[placement];
  if (counts === undefined) return '-';
  const rate =
    counts.impressions > 0 ? ` (${((counts.clicks / counts.impressions) * 100).toFixed(1)} %)` : '';
  return `${counts.clicks} / ${counts.impressions}${rate}`;
}

/** A placement's attributed orders in one currency (the row sits under that currency's value). */
function attributedOrdersIn(arm: Arm, placement: string, currency: string): number {
  return arm.placements[placement]?.attributedOrdersByCurrency[currency] ?? 0;
}

function attributedCell(arm: Arm, placement: string, currency: string): string {
  const orders = attributedOrdersIn(arm, placement, currency);
  if (orders === 0) return '-';
  return `${orders}, ${money(arm.placements[placement]?.attributedRevenue[currency] ?? 0)}`;
}

function attributed(arm: Arm): string {
  if (arm.orders === 0) return String(arm.attributedOrders);
  return `${arm.attributedOrders} (${((arm.attributedOrders / arm.orders) * 100).toFixed(0)} % of orders)`;
}

function rate(value: number | undefined): string {
  return value === undefined ? '-' : `${(value * 100).toFixed(2)} %`;
}

function money(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

function signed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return value > 0 && text !== (0).toFixed(digits) ? `+${text}` : text;
}

function pValue(p: number): string {
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}
