/** What a benchmark returns: a table (printed) plus anything else worth keeping in the JSON. */
export interface BenchResult {
  title: string;
  columns: string[];
  rows: Array<Record<string, string | number>>;
  notes?: string[];
  /** Raw figures, settings and anything needed to interpret the table. */
  details?: Record<string, unknown>;
}
