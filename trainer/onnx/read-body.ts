/**
 * Reads an exported recommender graph back into its ScoringBody (decoding the initializers with the
 * official schema), so tests and the parity fixture compute the reference from the file itself.
 */

import { DataType, onnx } from './proto';
import type { ScoringBody } from './recommender-graphs';

function floats(tensor: {
  rawData?: Uint8Array | null;
  floatData?: number[] | null;
  dataType?: number | null;
}): Float32Array {
  if (tensor.dataType !== DataType.float) throw new Error('expected a float32 initializer');
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const view = new DataView(tensor.rawData.buffer, tensor.rawData.byteOffset, tensor.rawData.byteLength);
    return Float32Array.from({ length: tensor.rawData.byteLength / 4 }, (_, i) =>
      view.getFloat32(i * 4, true),
    );
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** The scoring body of an ONNX file written by buildRecommenderGraph. */
export function readScoringBody(bytes: Uint8Array): ScoringBody {
  const model = onnx.ModelProto.decode(bytes);
  const init = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const get = (name: string) => {
    const t = init.get(name);
    if (!t) throw new Error(`graph has no initializer ${name}`);
    return { data: floats(t), dims: (t.dims ?? []).map(Number) };
  };
  if (init.has('item_item')) return { kind: 'dense', matrix: get('item_item').data };
  if (init.has('item_factors')) {
    const u = get('item_factors');
    return { kind: 'factorized', rank: u.dims[1] ?? 0, u: u.data, v: get('item_factors_out').data };
  }
  if (init.has('encoder_w')) {
    const w1 = get('encoder_w');
    return {
      kind: 'autoencoder',
      hidden: w1.dims[1] ?? 0,
      w1: w1.data,
      b1: get('encoder_b').data,
      w2: get('decoder_w').data,
      b2: get('decoder_b').data,
    };
  }
  if (init.has('popularity')) return { kind: 'popularity', popularity: get('popularity').data };
  throw new Error('not a recommender graph written by the trainer');
}
