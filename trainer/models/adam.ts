/**
 * Adam in plain JavaScript over a Float32Array, with the exact update of TF.js's
 * `tf.train.adam` (tfjs-core adam_optimizer.ts): bias-corrected moments, ε added to √v̂
 * (1e-7, TF.js's float32 epsilon). Mult-DAE keeps its sparse encoder here, outside TF.js:
 * see mult-dae.ts for why.
 */
export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private beta1Power = 1;
  private beta2Power = 1;

  constructor(
    size: number,
    private readonly learningRate = 0.01,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /**
   * One step: params −= lr · m̂ / (√v̂ + ε) with gradient `grad + decay · params` (the L2 term's
   * gradient, dense, added here so the sparse data gradient never has to be densified twice).
   */
  step(params: Float32Array, grad: Float32Array, decay = 0): void {
    if (grad.length !== params.length || params.length !== this.m.length)
      throw new Error(
        `Adam: sizes differ (params ${params.length}, grad ${grad.length}, state ${this.m.length})`,
      );
    this.beta1Power *= this.beta1;
    this.beta2Power *= this.beta2;
    const { beta1, beta2, epsilon, m, v } = this;
    const c1 = 1 - this.beta1Power;
    const c2 = 1 - this.beta2Power;
    const lr = this.learningRate;
    for (let i = 0; i < params.length; i++) {
      const p = params[i] ?? 0;
      const g = (grad[i] ?? 0) + decay * p;
      const mi = beta1 * (m[i] ?? 0) + (1 - beta1) * g;
      const vi = beta2 * (v[i] ?? 0) + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = p - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
    }
  }
}
