/**
 * Mult-DAE (Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018, the
 * denoising variant) trained with TF.js. Each shopper's item history x is L2-normalised, half of it
 * dropped at random while training, encoded h = tanh(x·W1 + b1) and decoded to logits h·W2 + b2;
 * the loss is the multinomial log-likelihood −Σ x·log softmax(logits) plus L2 weight decay.
 * Training is dense matrix products only, which TF.js's wasm backend runs well (no embedding
 * gathers, whose gradient it lacks). Early stopping keeps the weights of the best validation epoch.
 */
import { denseRow, forEachInRow, type SparseMatrix } from '../data/matrix';
import { seededRandom, shuffle } from '../math/random';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { tf } from '../tfjs/backend';
import { denseMatMul, inputMatMul } from '../tfjs/dense-matmul';
import { MetricsAverage, rankingMetrics } from './metrics';

/** Hyper-parameters of Mult-DAE. */
export interface MultDaeOptions {
  hidden?: number;
  epochs?: number;
  /** Epochs without a better validation nDCG@10 before stopping. */
  patience?: number;
  batchSize?: number;
  learningRate?: number;
  dropout?: number;
  l2?: number;
  /** Share of users held out for validation (early stopping). */
  validationShare?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** One epoch's progress line. */
export interface EpochReport {
  epoch: number;
  loss: number;
  validationNdcg: number;
  seconds: number;
}

/** Result of training: the ONNX body (best epoch) and the epoch history. */
export interface MultDaeResult {
  body: Extract<ScoringBody, { kind: 'autoencoder' }>;
  epochs: EpochReport[];
  bestEpoch: number;
}

interface Validation {
  rows: number[];
  /** Held-out items per validation row (the rest is the fold-in history). */
  heldOut: Array<Set<number>>;
  history: Float32Array;
}

/** Splits some users off for validation: 80 % of their items are input, 20 % to be predicted. */
function splitValidation(
  x: SparseMatrix,
  share: number,
  random: () => number,
): { train: number[]; validation: Validation } {
  const order = shuffle(
    Array.from({ length: x.rows }, (_, r) => r),
    random,
  );
  const eligible = order.filter((r) => (x.rowPtr[r + 1] ?? 0) - (x.rowPtr[r] ?? 0) >= 5);
  const count = Math.min(Math.round(x.rows * share), eligible.length, 2000);
  const rows = eligible.slice(0, count);
  const chosen = new Set(rows);
  const history = new Float32Array(rows.length * x.cols);
  const heldOut = rows.map((r, i) => {
    const out = new Set<number>();
    forEachInRow(x, r, (c, v) => {
      if (random() < 0.2) out.add(c);
      else history[i * x.cols + c] = v;
    });
    return out;
  });
  return { train: order.filter((r) => !chosen.has(r)), validation: { rows, heldOut, history } };
}

function glorot(rows: number, cols: number, random: () => number): tf.Variable {
  const limit = Math.sqrt(6 / (rows + cols));
  const values = Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * limit);
  return tf.variable(tf.tensor2d(values, [rows, cols]));
}

/** Trains Mult-DAE on the user × item matrix. */
export async function trainMultDae(x: SparseMatrix, options: MultDaeOptions = {}): Promise<MultDaeResult> {
  const n = x.cols;
  const hidden = options.hidden ?? 200;
  const maxEpochs = options.epochs ?? 60;
  const patience = options.patience ?? 8;
  const batchSize = options.batchSize ?? 256;
  const dropout = options.dropout ?? 0.5;
  const l2 = options.l2 ?? 1e-5;
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed ?? 42);
  tf.randomUniform([1], 0, 1, 'float32', options.seed ?? 42).dispose();
  const { train, validation } = splitValidation(x, options.validationShare ?? 0.1, random);
  if (train.length === 0) throw new Error('no training users left after the validation split');

  const w1 = glorot(n, hidden, random);
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = glorot(hidden, n, random);
  const b2 = tf.variable(tf.zeros([n]));
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);
  const forward = (input: tf.Tensor2D, drop: number) =>
    tf.tidy(() => {
      let h0 = tf.div(input, tf.maximum(tf.norm(input, 'euclidean', 1, true), 1e-12));
      if (drop > 0) h0 = tf.dropout(h0, drop);
      const h = tf.tanh(tf.add(inputMatMul(h0, w1), b1)) as tf.Tensor2D;
      return tf.add(denseMatMul(h, w2), b2) as tf.Tensor2D;
    });

  let best = { ndcg: -1, epoch: 0, weights: [] as Float32Array[] };
  const epochs: EpochReport[] = [];
  const batch = new Float32Array(batchSize * n);
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const started = performance.now();
    shuffle(train, random);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < train.length; start += batchSize) {
      const rows = train.slice(start, start + batchSize);
      batch.fill(0, 0, rows.length * n);
      rows.forEach((r, i) => {
        denseRow(x, r, batch.subarray(i * n, (i + 1) * n));
      });
      const input = tf.tensor2d(batch.subarray(0, rows.length * n), [rows.length, n]);
      const loss = optimizer.minimize(
        () =>
          tf.tidy(() => {
            const logits = forward(input, dropout);
            const nll = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), input), 1)));
            const decay = tf.mul(l2, tf.add(tf.sum(tf.square(w1)), tf.sum(tf.square(w2))));
            return tf.add(nll, decay) as tf.Scalar;
          }),
        true,
        [w1, b1, w2, b2],
      );
      lossSum += (await loss?.data())?.[0] ?? 0;
      loss?.dispose();
      input.dispose();
      batches += 1;
    }
    const ndcg = await validationNdcg(validation, n, (input) => forward(input, 0));
    const report = {
      epoch,
      loss: lossSum / batches,
      validationNdcg: ndcg,
      seconds: (performance.now() - started) / 1000,
    };
    epochs.push(report);
    log(
      `epoch ${String(epoch).padStart(3)}  loss ${report.loss.toFixed(4)}  val nDCG@10 ${ndcg.toFixed(4)}  ${report.seconds.toFixed(1)} s`,
    );
    if (ndcg > best.ndcg) {
      best = {
        ndcg,
        epoch,
        weights: await Promise.all([w1, b1, w2, b2].map(async (v) => Float32Array.from(await v.data()))),
      };
    } else if (epoch - best.epoch >= patience) {
      log(`early stop: no better validation nDCG@10 for ${patience} epochs; keeping epoch ${best.epoch}`);
      break;
    }
  }
  for (const v of [w1, b1, w2, b2]) v.dispose();
  optimizer.dispose();
  const [bw1, bb1, bw2, bb2] = best.weights;
  if (!bw1 || !bb1 || !bw2 || !bb2) throw new Error('training produced no weights');
  return {
    body: { kind: 'autoencoder', hidden, w1: bw1, b1: bb1, w2: bw2, b2: bb2 },
    epochs,
    bestEpoch: best.epoch,
  };
}

async function validationNdcg(
  v: Validation,
  n: number,
  score: (input: tf.Tensor2D) => tf.Tensor2D,
): Promise<number> {
  if (v.rows.length === 0) return 0;
  const avg = new MetricsAverage();
  const chunk = 500;
  for (let start = 0; start < v.rows.length; start += chunk) {
    const count = Math.min(chunk, v.rows.length - start);
    const history = v.history.subarray(start * n, (start + count) * n);
    const top = tf.tidy(() => {
      const input = tf.tensor2d(history, [count, n]);
      // Items already in the fold-in history are excluded, as in serving.
      const masked = tf.sub(score(input), tf.mul(tf.cast(tf.greater(input, 0), 'float32'), 1e9));
      return tf.topk(masked, 10).indices;
    });
    const indices = await top.data();
    top.dispose();
    for (let i = 0; i < count; i++) {
      const relevant = v.heldOut[start + i] ?? new Set<number>();
      if (relevant.size > 0) avg.add(rankingMetrics(indices.subarray(i * 10, i * 10 + 10), relevant, 10));
    }
  }
  return avg.mean().ndcg;
}
