/**
 * Mult-DAE (Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018, the
 * denoising variant) trained with TF.js. Each shopper's item history x is L2-normalised, half of it
 * dropped at random while training, encoded h = tanh(x·W1 + b1) and decoded to logits h·W2 + b2;
 * the loss is the multinomial log-likelihood −Σ x·log softmax(logits) plus L2 weight decay.
 * Early stopping keeps the weights of the best validation epoch.
 *
 * Where the work runs: the input is sparse (a shopper touches ~2 % of the catalogue), so the
 * encoder — normalise, dropout, x·W1 + b1 and its gradient — runs in plain JavaScript over the
 * non-zeros only (sparse-encoder.ts, Adam in adam.ts), and TF.js (wasm) runs the dense rest:
 * tanh, the decoder product, the softmax likelihood and their gradients, via `tf.valueAndGrads`
 * which also hands back ∂loss/∂pre for the sparse backward. TF.js's own route for sparse input
 * (gather + its scatter gradient) is missing on the wasm backend, and the dense route spent over
 * a third of each epoch multiplying zeros.
 */
import { forEachInRow, type SparseMatrix } from '../data/matrix';
import { seededRandom, shuffle } from '../math/random';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { tf } from '../tfjs/backend';
import { denseMatMul } from '../tfjs/dense-matmul';
import { Adam } from './adam';
import { MetricsAverage, rankingMetrics } from './metrics';
import { multinomialLoss } from './multinomial-loss';
import { encodeRows, encoderGradients } from './sparse-encoder';
import { scoredUsers, splitValidation, type Validation, type ValidationSplit } from './validation';

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
  /** A split made by the caller (to compare with another model on the same users); default: own split. */
  split?: ValidationSplit;
  /**
   * Refit: train on every user for exactly `epochs` epochs and keep the last, no validation (`train`
   * refits the epoch count its validation chose on all the data).
   */
  refit?: boolean;
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

function glorot(rows: number, cols: number, random: () => number): Float32Array {
  const limit = Math.sqrt(6 / (rows + cols));
  return Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * limit);
}

function sumOfSquares(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v * v;
  return s;
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
  const { validation, ...own } = options.refit
    ? {
        train: Array.from({ length: x.rows }, (_, r) => r),
        validation: { heldOut: [], foldIn: { ...x, rows: 0, rowPtr: new Int32Array(1) } },
      }
    : (options.split ?? splitValidation(x, options.validationShare ?? 0.1, random));
  // Shuffled in place every epoch: a copy keeps a caller's split intact.
  const train = [...own.train];
  if (train.length === 0) throw new Error('no training users left after the validation split');

  // Encoder (sparse, plain JS + Adam) and decoder (TF.js variables + tf.train.adam).
  const learningRate = options.learningRate ?? 0.01;
  const w1 = glorot(n, hidden, random);
  const b1 = new Float32Array(hidden);
  const w2 = tf.variable(tf.tensor2d(glorot(hidden, n, random), [hidden, n]));
  const b2 = tf.variable(tf.zeros([n]));
  const adamW1 = new Adam(w1.length, learningRate);
  const adamB1 = new Adam(b1.length, learningRate);
  const optimizer = tf.train.adam(learningRate);
  const gradW1 = new Float32Array(w1.length);
  const gradB1 = new Float32Array(hidden);
  const decode = (pre: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor) =>
    tf.add(denseMatMul(tf.tanh(pre), w), b) as tf.Tensor2D;
  // loss(pre, W2, b2) = −mean_rows Σ x·log softmax(decode(pre)) + l2·ΣW2² (the W1 term is in JS).
  const lossAndGrads = (rows: number[]) => {
    const nll = multinomialLoss(x, rows);
    return tf.valueAndGrads((...args: tf.Tensor[]) => {
      const [pre, w, b] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      return tf.add(nll(decode(pre, w, b)), tf.mul(l2, tf.sum(tf.square(w)))) as tf.Scalar;
    });
  };

  // No validation users (nobody with 5+ items, or too few users, or none with an item held out):
  // every epoch would score 0, epoch 1 would stay "best" and early stopping would ship its barely
  // trained weights. Train every epoch and keep the last instead.
  const validated = scoredUsers(validation) > 0;
  if (options.refit) log(`refit on all ${x.rows} users: ${maxEpochs} epochs, keeping the last`);
  else if (!validated)
    log(
      `no validation users (none with 5+ items and an item held out): training all ${maxEpochs} epochs, keeping the last`,
    );
  let best = { ndcg: -1, epoch: 0, weights: [] as Float32Array[] };
  const epochs: EpochReport[] = [];
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const started = performance.now();
    shuffle(train, random);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < train.length; start += batchSize) {
      const rows = train.slice(start, start + batchSize);
      const { pre, inputs } = encodeRows(x, rows, w1, b1, hidden, dropout, random);
      const { value, grads } = tf.tidy(() =>
        lossAndGrads(rows)([tf.tensor2d(pre, [rows.length, hidden]), w2, b2]),
      );
      const [gradPre, gradW2, gradB2] = grads as [tf.Tensor, tf.Tensor, tf.Tensor];
      optimizer.applyGradients([
        { name: w2.name, tensor: gradW2 },
        { name: b2.name, tensor: gradB2 },
      ]);
      const delta = (await gradPre.data()) as Float32Array;
      encoderGradients(inputs, delta, hidden, gradW1, gradB1);
      const w1Decay = l2 * sumOfSquares(w1);
      adamW1.step(w1, gradW1, 2 * l2);
      adamB1.step(b1, gradB1);
      lossSum += ((await value.data())[0] ?? 0) + w1Decay;
      tf.dispose([value, gradPre, gradW2, gradB2]);
      batches += 1;
    }
    const ndcg = await validationNdcg(validation, (rows) => {
      const { pre } = encodeRows(validation.foldIn, rows, w1, b1, hidden);
      return tf.tidy(() => decode(tf.tensor2d(pre, [rows.length, hidden]), w2, b2));
    });
    const report = {
      epoch,
      loss: lossSum / batches,
      validationNdcg: ndcg,
      seconds: (performance.now() - started) / 1000,
    };
    epochs.push(report);
    log(
      `epoch ${String(epoch).padStart(3)}  loss ${report.loss.toFixed(4)}  ${options.refit ? '' : `val nDCG@10 ${ndcg.toFixed(4)}  `}${report.seconds.toFixed(1)} s`,
    );
    if (!validated || ndcg > best.ndcg) {
      best = {
        ndcg,
        epoch,
        weights: [
          Float32Array.from(w1),
          Float32Array.from(b1),
          ...(await Promise.all([w2, b2].map(async (v) => Float32Array.from(await v.data())))),
        ],
      };
    } else if (epoch - best.epoch >= patience) {
      log(`early stop: no better validation nDCG@10 for ${patience} epochs; keeping epoch ${best.epoch}`);
      break;
    }
  }
  for (const v of [w2, b2]) v.dispose();
  optimizer.dispose();
  const [bw1, bb1, bw2, bb2] = best.weights;
  if (!bw1 || !bb1 || !bw2 || !bb2) throw new Error('training produced no weights');
  return {
    body: { kind: 'autoencoder', hidden, w1: bw1, b1: bb1, w2: bw2, b2: bb2 },
    epochs,
    bestEpoch: best.epoch,
  };
}

async function validationNdcg(v: Validation, score: (rows: number[]) => tf.Tensor2D): Promise<number> {
  const { foldIn } = v;
  if (foldIn.rows === 0) return 0;
  const n = foldIn.cols;
  const avg = new MetricsAverage();
  const chunk = 500;
  const seen = new Float32Array(chunk * n);
  // A catalogue of fewer than 10 products ranks them all (tf.topk refuses a k past the axis).
  const k = Math.min(10, n);
  for (let start = 0; start < foldIn.rows; start += chunk) {
    const count = Math.min(chunk, foldIn.rows - start);
    const rows = Array.from({ length: count }, (_, i) => start + i);
    seen.fill(0);
    rows.forEach((r, i) => {
      forEachInRow(v.excluded ?? foldIn, r, (c) => {
        seen[i * n + c] = 1e9;
      });
    });
    const top = tf.tidy(() => {
      // What the worker would not show is excluded (the temporal validation: purchases and cart, not
      // views, which the worker shows again); the random split's whole fold-in history otherwise.
      const masked = tf.sub(score(rows), tf.tensor2d(seen.subarray(0, count * n), [count, n]));
      return tf.topk(masked, k).indices;
    });
    const indices = await top.data();
    top.dispose();
    for (let i = 0; i < count; i++) {
      const relevant = v.heldOut[start + i] ?? new Set<number>();
      if (relevant.size > 0) avg.add(rankingMetrics(indices.subarray(i * k, i * k + k), relevant, 10));
    }
  }
  return avg.mean().ndcg;
}
