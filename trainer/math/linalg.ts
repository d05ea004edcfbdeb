/**
 * The little dense linear algebra the item-item factorization needs, on column-major Float64Arrays:
 * orthonormalisation (modified Gram–Schmidt) and the eigen-decomposition of a small symmetric matrix
 * (cyclic Jacobi). Sizes here are n × l with l ≈ 150, so plain loops are fast enough.
 */

/**
 * Orthonormalises the `cols` columns (each of length n, column-major) in place. `passes` = 2
 * ("twice is enough") keeps the basis orthogonal to working precision; 1 is plenty between power
 * iterations, where the basis only has to stay well conditioned.
 */
export function orthonormalize(m: Float64Array, n: number, cols: number, passes = 2): void {
  for (let j = 0; j < cols; j++) {
    const cj = j * n;
    for (let pass = 0; pass < passes; pass++) {
      for (let i = 0; i < j; i++) {
        const ci = i * n;
        let dot = 0;
        for (let r = 0; r < n; r++) dot += (m[ci + r] ?? 0) * (m[cj + r] ?? 0);
        for (let r = 0; r < n; r++) m[cj + r] = (m[cj + r] ?? 0) - dot * (m[ci + r] ?? 0);
      }
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += (m[cj + r] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    // A numerically dependent column becomes zero rather than noise.
    const scale = norm > 1e-10 ? 1 / norm : 0;
    for (let r = 0; r < n; r++) m[cj + r] = (m[cj + r] ?? 0) * scale;
  }
}

/**
 * Eigen-decomposition of a symmetric l × l matrix (row-major). Returns eigenvalues in descending
 * order and the matching eigenvectors as columns of a column-major l × l matrix.
 */
export function symmetricEigen(
  input: Float64Array,
  l: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(input);
  const v = new Float64Array(l * l);
  for (let i = 0; i < l; i++) v[i * l + i] = 1;
  const at = (i: number, j: number) => a[i * l + j] ?? 0;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) off += at(i, j) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < l; p++) {
      for (let q = p + 1; q < l; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < l; k++) {
          const akp = at(k, p);
          const akq = at(k, q);
          a[k * l + p] = c * akp - s * akq;
          a[k * l + q] = s * akp + c * akq;
        }
        for (let k = 0; k < l; k++) {
          const apk = at(p, k);
          const aqk = at(q, k);
          a[p * l + k] = c * apk - s * aqk;
          a[q * l + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < l; k++) {
          // eigenvector columns: v[:, p] and v[:, q] stored column-major
          const vkp = v[p * l + k] ?? 0;
          const vkq = v[q * l + k] ?? 0;
          v[p * l + k] = c * vkp - s * vkq;
          v[q * l + k] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: l }, (_, i) => i).sort((x, y) => at(y, y) - at(x, x));
  const values = Float64Array.from(order, (i) => at(i, i));
  const vectors = new Float64Array(l * l);
  order.forEach((src, dst) => {
    vectors.set(v.subarray(src * l, src * l + l), dst * l);
  });
  return { values, vectors };
}
