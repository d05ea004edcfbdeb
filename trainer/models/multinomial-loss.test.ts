import { describe, expect, it } from 'vitest';
import { aggregate, denseRow } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { initBackend, tf } from '../tfjs/backend';
import { multinomialLoss } from './multinomial-loss';

describe('multinomialLoss', () => {
  it('matches the TF.js composition −mean Σ x·logSoftmax(z) in value and gradient', async () => {
    await initBackend();
    const random = seededRandom(21);
    const rows: Interaction[] = [];
    for (let u = 0; u < 7; u++)
      for (let i = 0; i < 11; i++)
        if (random() < 0.35)
          rows.push({
            user: `u${u}`,
            item: `i${i}`,
            time: 0,
            weight: 1 + 3 * random(),
            purchase: true,
            quantity: 1,
          });
    const { matrix: x } = aggregate(rows);
    const batch = [4, 1, 6, 0];
    const n = x.cols;
    const dense = new Float32Array(batch.length * n);
    batch.forEach((r, i) => {
      denseRow(x, r, dense.subarray(i * n, (i + 1) * n));
    });
    const z = tf.tensor2d(
      Float32Array.from({ length: batch.length * n }, () => 6 * random() - 3),
      [batch.length, n],
    );
    const target = tf.tensor2d(dense, [batch.length, n]);
    const mine = tf.valueAndGrad((t: tf.Tensor) => multinomialLoss(x, batch)(t as tf.Tensor2D))(z);
    const reference = tf.valueAndGrad((t: tf.Tensor) =>
      tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(t as tf.Tensor2D), target), 1))),
    )(z);
    expect((await mine.value.data())[0]).toBeCloseTo((await reference.value.data())[0] ?? Number.NaN, 4);
    const a = await mine.grad.data();
    const b = await reference.grad.data();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i] ?? Number.NaN, 5);
    expect(() => multinomialLoss(x, [0, 1])(z as tf.Tensor2D)).toThrow(/logits are \[4/);
    tf.dispose([z, target, mine.value, mine.grad, reference.value, reference.grad]);
  });
});
