/** What a benchmark returns: a table (printed) plus anything else worth keeping in the JSON. */
export interface BenchResult {
  /** Set for a run with non-default settings: written to `results/NAME-VARIANT.json` instead of `NAME.json`. */
  variant?: string;
  title: string;
  columns: string[];
  rows: Array<Record<string, string | number>>;
  notes?: string[];
  /** Raw figures, settings and anything needed to interpret the table. */
  details?: Record<string, unknown>;
}
