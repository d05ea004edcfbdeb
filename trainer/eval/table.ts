/** The one table `npm run eval` prints: each model beside popularity. */
import { candidateDepth, type EvalResult } from './run-eval';

/** Formats the evaluation as a Markdown table with the nDCG ratio to popularity. */
export function formatTable(result: EvalResult): string {
  const k = result.k;
  const popularity = result.rows.find((r) => r.model === 'popularity')?.ndcg ?? 0;
  const header = [
    'model',
    `nDCG@${k}`,
    `Precision@${k}`,
    `Recall@${k}`,
    'MAP',
    `MAP@${k}`,
    'coverage',
    'vs popularity',
    'users',
  ];
  const lines = result.rows.map((r) => [
    r.model,
    r.ndcg.toFixed(4),
    r.precision.toFixed(4),
    r.recall.toFixed(4),
    r.map.toFixed(4),
    r.mapAtK.toFixed(4),
    `${(r.coverage * 100).toFixed(1)}%`,
    popularity > 0 ? `×${(r.ndcg / popularity).toFixed(2)}` : 'n/a',
    String(r.users),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    `${result.format}: ${result.protocol}`,
    `backend: ${result.backend}; metrics computed on the exported ONNX graphs in onnxruntime-web, on lists as the worker serves them (the model's top-${candidateDepth(k)}, best sellers where it has no evidence, at most 40 % from one product family)`,
    `MAP = Σ precision at hits / |relevant| (the published Microsoft Recommenders "MAP"); MAP@${k} divides by min(|relevant|, ${k}) (their current map_at_k)`,
    '',
    row(header),
    row(widths.map((w) => '-'.repeat(w))),
    ...lines.map(row),
  ].join('\n');
}
