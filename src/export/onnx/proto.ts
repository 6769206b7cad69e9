/**
 * The subset of ONNX's protobuf schema an exported encoder needs, serialised by hand: a model is a
 * few message types (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto,
 * AttributeProto), and protobuf's wire format is varints and length-prefixed bytes, so a writer
 * is shorter than a generated binding and needs no dependency.
 *
 * Field numbers are those of onnx/onnx.proto3 (github.com/onnx/onnx), stable since IR version 3.
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** An initializer or constant: dims and the little-endian bytes of its elements. */
export interface TensorProto {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  raw: Uint8Array;
}

/** A node attribute, tagged by its ONNX type. */
export type Attribute =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: number[] }
  | { kind: "tensor"; value: TensorProto };

export interface NodeProto {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, Attribute>;
  domain?: string;
}

/** A graph input or output: element type and shape, a string naming a dynamic axis. */
export interface ValueInfo {
  name: string;
  elemType: DataTypeCode;
  shape: (number | string)[];
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface ModelProto {
  /** The ONNX IR version (8 goes with opset 17). */
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
  docString?: string;
}

const WIRE_VARINT = 0, WIRE_FIXED32 = 5, WIRE_BYTES = 2;
const UTF8 = new TextEncoder();

/**
 * Appends protobuf fields. Small fields go into a growing buffer; large byte fields (weights) and
 * nested messages are kept as references in a list of parts, so a 1 GB tower is never copied
 * while its messages nest (tensor in graph in model): only the header bytes are new.
 */
class ProtoWriter {
  readonly #parts: Uint8Array[] = [];
  #buf = new Uint8Array(256);
  #len = 0;
  /** Bytes in #parts. */
  #flushed = 0;

  get byteLength(): number {
    return this.#flushed + this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Moves the small-field buffer into the parts, so a referenced part can follow it. */
  #flush(): void {
    if (this.#len === 0) return;
    this.#parts.push(this.#buf.slice(0, this.#len));
    this.#flushed += this.#len;
    this.#len = 0;
  }

  #rawVarint(n: bigint): void {
    // int64 on the wire is its 64-bit two's complement, so -1 takes ten bytes.
    let v = BigInt.asUintN(64, n);
    this.#reserve(10);
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
  }

  #tag(field: number, wire: number): void {
    this.#rawVarint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number): this {
    this.#tag(field, WIRE_VARINT);
    this.#rawVarint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    this.#reserve(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, value, true);
    this.#len += 4;
    return this;
  }

  /** A length-delimited field; `value` is referenced, not copied, when large. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_BYTES);
    this.#rawVarint(BigInt(value.length));
    if (value.length < 4096) {
      this.#reserve(value.length);
      this.#buf.set(value, this.#len);
      this.#len += value.length;
    } else {
      this.#flush();
      this.#parts.push(value);
      this.#flushed += value.length;
    }
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, UTF8.encode(value));
  }

  /** A nested message field, its parts referenced. */
  message(field: number, inner: ProtoWriter): this {
    this.#tag(field, WIRE_BYTES);
    this.#rawVarint(BigInt(inner.byteLength));
    this.#flush();
    for (const part of inner.parts()) {
      this.#parts.push(part);
      this.#flushed += part.length;
    }
    return this;
  }

  /** A repeated int64 field, packed (one length-prefixed run of varints). */
  packedInts(field: number, values: number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.#rawVarint(BigInt(v));
    return this.message(field, inner);
  }

  /** The encoded message, as consecutive byte ranges. */
  parts(): Uint8Array[] {
    this.#flush();
    return this.#parts;
  }
}

function encodeTensor(t: TensorProto): ProtoWriter {
  // dims = 1, data_type = 2, name = 8, raw_data = 9
  return new ProtoWriter().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, tensor: 4, ints: 7 } as const;

function encodeAttribute(name: string, a: Attribute): ProtoWriter {
  // name = 1, f = 2, i = 3, t = 5, ints = 8, type = 20
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case "float": w.float(2, a.value); break;
    case "int": w.int(3, a.value); break;
    case "tensor": w.message(5, encodeTensor(a.value)); break;
    case "ints": w.packedInts(8, a.value); break;
  }
  return w.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function encodeNode(n: NodeProto): ProtoWriter {
  // input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) w.message(5, encodeAttribute(name, a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2; TensorShapeProto: dim = 1
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === "number" ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  // TypeProto.Tensor: elem_type = 1, shape = 2; TypeProto: tensor_type = 1; ValueInfoProto: name = 1, type = 2
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function encodeGraph(g: GraphProto): ProtoWriter {
  // node = 1, name = 2, initializer = 5, input = 11, output = 12
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w;
}

/**
 * The bytes of an .onnx file, as consecutive parts (the weights are referenced, not copied; write
 * the parts in order). Protobuf caps a message at 2 GiB; larger models would need ONNX's
 * external-data layout, which this writer does not produce.
 *
 *   const parts = encodeModel({ irVersion: 8, opsetVersion: 17, ... });
 *   for (const p of parts) writeSync(fd, p);
 */
export function encodeModel(m: ModelProto): Uint8Array[] {
  const graph = encodeGraph(m.graph);
  if (graph.byteLength >= 2 ** 31) throw new Error(`ONNX graph '${m.graph.name}' is ${graph.byteLength} bytes: over protobuf's 2 GiB limit (external data is not supported)`);
  // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6,
  // graph = 7, opset_import = 8; OperatorSetIdProto: domain = 1, version = 2
  const w = new ProtoWriter().int(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, graph);
  w.message(8, new ProtoWriter().string(1, "").int(2, m.opsetVersion));
  return w.parts();
}
