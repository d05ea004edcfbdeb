/**
 * A small, typed builder for ONNX graphs: initializers, nodes, graph inputs/outputs, serialised
 * with the official schema. Only what the trainer's graphs need: float32 and int64 tensors.
 */
import { DataType, IR_VERSION, type OnnxTypes, OPSET_VERSION, onnx } from './proto';

/** A graph input/output: symbolic dims are strings ("batch"), fixed dims numbers. */
export interface ValueSpec {
  name: string;
  type: 'float32' | 'int64';
  shape: Array<number | string>;
}

/** Attribute values a node may carry. */
export type AttributeValue = number | number[] | string;

function elemType(type: ValueSpec['type']): number {
  return type === 'float32' ? DataType.float : DataType.int64;
}

function valueInfo(spec: ValueSpec): OnnxTypes.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: elemType(spec.type),
        shape: {
          dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  // Integers are INT attributes (axis, keepdims, k...); the graphs use no float attributes.
  if (!Number.isInteger(value)) throw new Error(`attribute ${name}: only integer attributes are supported`);
  return { name, type: AttributeType.INT, i: value };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a typed array (ONNX raw_data is always little-endian). */
function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN)
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] ?? 0, true);
  } else {
    for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i] ?? 0n, true);
  }
  return out;
}

/** Accumulates an ONNX graph and serialises it to a ModelProto. */
export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  /** Declares a graph input. Returns its name for use in nodes. */
  input(spec: ValueSpec): string {
    this.inputs.push(valueInfo(spec));
    return spec.name;
  }

  /** Declares a graph output (some node must produce a value of that name). */
  output(spec: ValueSpec): void {
    this.outputs.push(valueInfo(spec));
  }

  /**
   * A float32 constant of the given shape (row-major data). Every value must be finite: one NaN or
   * infinite weight makes the scores it touches NaN (0 · ∞ included, so an empty history's too), and
   * the worker's trial run refuses such a graph only at publish, after `train` has exited 0.
   */
  floatTensor(name: string, dims: number[], data: Float32Array): string {
    checkSize(name, dims, data.length);
    const bad = data.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0)
      throw new Error(
        `${this.name}: tensor ${name} holds ${data[bad]} at ${bad}; its weights are not finite (a numerical failure of the model's fit)`,
      );
    this.initializers.push({ name, dims, dataType: DataType.float, rawData: rawBytes(data) });
    return name;
  }

  /** An int64 constant of the given shape. */
  int64Tensor(name: string, dims: number[], values: number[]): string {
    checkSize(name, dims, values.length);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: DataType.int64, rawData: rawBytes(data) });
    return name;
  }

  /**
   * Adds a node. `outputs` are names to give its outputs; by default one fresh name.
   * Returns the output names.
   */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: string[] = [this.fresh(opType)],
  ): string[] {
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Like `node` for single-output operators: returns the one output name. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    output?: string,
  ): string {
    const [name] = this.node(opType, inputs, attributes, output ? [output] : undefined);
    if (name === undefined) throw new Error(`${opType}: no output`);
    return name;
  }

  /** Serialises the graph as an ONNX ModelProto. */
  toBytes(meta: {
    producer: string;
    producerVersion: string;
    doc?: string;
    metadata?: Record<string, string>;
  }): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      producerName: meta.producer,
      producerVersion: meta.producerVersion,
      docString: meta.doc ?? '',
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    const error = onnx.ModelProto.verify(model);
    if (error) throw new Error(`invalid ONNX model ${this.name}: ${error}`);
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix.toLowerCase()}_${this.counter}`;
  }
}

function checkSize(name: string, dims: number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length)
    throw new Error(`tensor ${name}: dims ${dims.join('x')} need ${expected} values, got ${length}`);
}
