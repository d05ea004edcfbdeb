/**
 * The official ONNX protobuf schema (onnx.proto of ONNX v1.10, compiled to static protobufjs code by
 * the `onnx-proto` package). `onnx-proto` is CommonJS, so its namespace is taken from the default export.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type { onnx as OnnxTypes } from 'onnx-proto';

/** TensorProto.DataType codes used by the trainer's graphs. */
export const DataType = {
  float: 1,
  int64: 7,
} as const;

/** IR version 8 is the newest onnx-proto knows; onnxruntime 1.30 loads it with any opset it supports. */
export const IR_VERSION = 8;
/** Opset 17: ReduceL2 still takes `axes` as an attribute and TopK takes `k` as an input. */
export const OPSET_VERSION = 17;
