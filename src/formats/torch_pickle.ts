/**
 * `pytorch_model.bin` as written by `torch.save` (torch >= 1.6): a zip archive holding
 * `<root>/data.pkl`, a pickle of the state dict in which every tensor is a call to
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`, and `<root>/data/<key>`,
 * the raw little-endian bytes of each storage, referenced from the pickle by persistent id
 * `('storage', torch.FloatStorage, key, location, numel)`. Reference: torch/serialization.py
 * (`_save`, `_load`) and torch/_utils.py.
 *
 * The pickle is run by the restricted machine in pickle.ts with an allowlist of the globals needed
 * to rebuild tensors; anything else (`os.system`, `builtins.eval`, a custom class) is refused by name
 * before it could be called. Views are resolved here: storage offsets and strides are applied and
 * non-contiguous tensors copied to C order, so callers only ever see dense `RawTensor`s.
 */
import { dtypeSize, checkRawTensor, numel, type DType, type RawTensor } from "./raw_tensor.js";
import { PickleCallable, PickleWriter, unpickle } from "./pickle.js";
import { ZipReader, writeZip } from "./zip.js";
import { writeFileAtomic } from "./file_io.js";

/** `torch.FloatStorage` and friends: typed storages as pickled by torch 1.x and 2.x. */
const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: "F64", FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16",
  LongStorage: "I64", IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8",
  ByteStorage: "U8", BoolStorage: "BOOL",
  // torch 2 may pickle a raw byte storage; the tensor's dtype then comes from _rebuild_tensor_v3.
  UntypedStorage: "U8",
};

const STORAGE_NAMES = Object.fromEntries(
  Object.entries(STORAGE_DTYPES).filter(([n]) => n !== "UntypedStorage").map(([n, d]) => [d, n]),
) as Record<DType, string>;

/** `torch.float32`-style dtype globals (pickled by name), including the aliases torch defines. */
const TORCH_DTYPES: Record<string, DType> = {
  float64: "F64", double: "F64", float32: "F32", float: "F32", float16: "F16", half: "F16",
  bfloat16: "BF16", int64: "I64", long: "I64", int32: "I32", int: "I32", int16: "I16", short: "I16",
  int8: "I8", uint8: "U8", bool: "BOOL",
};

class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}
class TorchDType {
  constructor(readonly dtype: DType) {}
}
/** `torch.Tensor` / `torch.nn.Parameter` as passed to `_rebuild_from_type_v2`; never called. */
class TensorClass {
  constructor(readonly name: string) {}
}

class Storage {
  refs = 0;
  constructor(readonly key: string, readonly dtype: DType, readonly bytes: Uint8Array) {}
}

/** A tensor as the pickle describes it: a view into a storage, resolved after unpickling. */
class TensorView {
  constructor(
    readonly storage: Storage,
    readonly dtype: DType,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {
    storage.refs++;
  }
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} is not a tuple of non-negative ints: ${String(v)}`);
  }
  return v as number[];
}

function rebuildTensor(label: string, args: unknown[], dtype?: unknown): TensorView {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof Storage)) throw new Error(`${label}: tensor rebuilt from something that is not a storage`);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`${label}: bad storage offset ${String(offset)}`);
  const shape = intList(size, `${label}: tensor size`);
  const strides = intList(stride, `${label}: tensor stride`);
  if (shape.length !== strides.length) throw new Error(`${label}: size ${shape} and stride ${strides} differ in rank`);
  let dt = storage.dtype;
  if (dtype !== undefined) {
    if (!(dtype instanceof TorchDType)) throw new Error(`${label}: _rebuild_tensor_v3 dtype is not a torch dtype`);
    dt = dtype.dtype;
  }
  return new TensorView(storage, dt, offset, shape, strides);
}

/** The allowlist. Everything not here is refused with its name. */
function torchGlobals(label: string): (module: string, name: string) => unknown {
  const tensorArg = (v: unknown, fn: string) => {
    if (!(v instanceof TensorView)) throw new Error(`${label}: ${fn} expects a tensor`);
    return v;
  };
  const callables: Record<string, PickleCallable> = {};
  const def = (qualname: string, fn: (args: unknown[]) => unknown) => (callables[qualname] = new PickleCallable(qualname, fn));
  def("collections.OrderedDict", (args) => {
    const m = new Map<unknown, unknown>();
    const items = args[0];
    if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
    return m;
  });
  def("torch._utils._rebuild_tensor", (args) => rebuildTensor(label, args));
  def("torch._utils._rebuild_tensor_v2", (args) => rebuildTensor(label, args));
  def("torch._utils._rebuild_tensor_v3", (args) => rebuildTensor(label, args, args[6]));
  def("torch._utils._rebuild_parameter", (args) => tensorArg(args[0], "_rebuild_parameter"));
  def("torch._utils._rebuild_parameter_with_state", (args) => tensorArg(args[0], "_rebuild_parameter_with_state"));
  def("torch._tensor._rebuild_from_type_v2", ([fn, cls, fnArgs]) => {
    // Tensor subclasses pickle as (rebuild function, class, args, state); only plain tensors and
    // Parameters are accepted, so the class is checked and then ignored.
    if (!(fn instanceof PickleCallable) || !(cls instanceof TensorClass) || !Array.isArray(fnArgs)) {
      throw new Error(`${label}: _rebuild_from_type_v2 with unexpected arguments`);
    }
    return tensorArg(fn.call(fnArgs), "_rebuild_from_type_v2");
  });

  return (module, name) => {
    const qualname = `${module}.${name}`;
    const c = callables[qualname];
    if (c) return c;
    if (module === "torch" && STORAGE_DTYPES[name]) return new StorageType(name, STORAGE_DTYPES[name]);
    if (module === "torch" && TORCH_DTYPES[name]) return new TorchDType(TORCH_DTYPES[name]);
    if (qualname === "torch._tensor.Tensor" || qualname === "torch.Tensor" || qualname === "torch.nn.parameter.Parameter") {
      return new TensorClass(qualname);
    }
    throw new Error(`${label}: refusing to load global '${qualname}' (only the globals that rebuild tensors are allowed)`);
  };
}

/** Copies a (possibly strided) view into a dense C-order buffer. */
function materialize(label: string, name: string, t: TensorView): RawTensor {
  const itemSize = dtypeSize(t.dtype);
  const n = numel(t.size);
  const shape = [...t.size];
  if (n === 0) return { dtype: t.dtype, shape, data: new Uint8Array(0) };
  let last = t.offset;
  for (let i = 0; i < t.size.length; i++) last += (t.size[i] - 1) * t.stride[i];
  const src = t.storage.bytes;
  if ((last + 1) * itemSize > src.byteLength) {
    throw new Error(`${label}: tensor '${name}' reaches element ${last} of storage '${t.storage.key}', which holds ${Math.floor(src.byteLength / itemSize)}`);
  }

  let contiguous = true;
  for (let i = t.size.length - 1, expect = 1; i >= 0; i--) {
    if (t.size[i] !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.size[i];
  }
  if (contiguous) {
    const begin = t.offset * itemSize;
    const end = begin + n * itemSize;
    // Hand out the storage itself only when nothing else views it, so tensors never alias.
    const whole = begin === 0 && end === src.byteLength && t.storage.refs === 1;
    return { dtype: t.dtype, shape, data: whole ? src : src.slice(begin, end) };
  }

  const out = new Uint8Array(n * itemSize);
  const rank = t.size.length;
  const idx = new Array<number>(rank).fill(0);
  const inner = t.size[rank - 1];
  const innerStride = t.stride[rank - 1] * itemSize;
  let srcBase = t.offset * itemSize;
  let o = 0;
  for (let row = 0; row < n / inner; row++) {
    for (let j = 0, s = srcBase; j < inner; j++, s += innerStride) {
      for (let b = 0; b < itemSize; b++) out[o++] = src[s + b];
    }
    // odometer over the outer dims
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      srcBase += t.stride[d] * itemSize;
      if (idx[d] < t.size[d]) break;
      srcBase -= t.size[d] * t.stride[d] * itemSize;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape, data: out };
}

/** Depth-first over dicts and lists, yielding tensors under "."-joined keys. */
function* tensorsIn(value: unknown, prefix: string): Generator<[string, TensorView]> {
  if (value instanceof TensorView) {
    yield [prefix, value];
  } else if (value instanceof Map) {
    for (const [k, v] of value) yield* tensorsIn(v, prefix === "" ? String(k) : `${prefix}.${String(k)}`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* tensorsIn(value[i], prefix === "" ? String(i) : `${prefix}.${i}`);
  }
}

/**
 * Reads a `torch.save` zip checkpoint into dense tensors, in the pickle's order. A plain state dict
 * gives its own keys; nested dicts (`{"model": {...}}`) give "."-joined keys; non-tensor leaves
 * (epoch counters, strings) are skipped.
 *
 * ```ts
 * const w = readTorchBin("pytorch_model.bin");
 * w.get("embeddings.word_embeddings.weight")?.shape; // [32000, 768]
 * ```
 */
export function readTorchBin(path: string): Map<string, RawTensor> {
  using zip = openTorchZip(path);
  const names = zip.names();
  const pkl = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    throw new Error(`${path}: expected one <root>/data.pkl in the archive, found ${pkl.length === 0 ? "none" : pkl.join(", ")}`);
  }
  const root = pkl[0].slice(0, -"data.pkl".length);
  const storages = new Map<string, Storage>();

  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw new Error(`${path}: unsupported persistent id (expected a 'storage' tuple)`);
    const [, type, key, , count] = pid;
    if (!(type instanceof StorageType)) throw new Error(`${path}: persistent id names a storage type that is not a torch storage class`);
    if (typeof key !== "string" || !/^[\w.-]+$/.test(key)) throw new Error(`${path}: bad storage key ${JSON.stringify(key)}`);
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) throw new Error(`${path}: storage '${key}' has a bad size`);
    const cached = storages.get(key);
    if (cached) return cached;
    const member = `${root}data/${key}`;
    if (!zip.has(member)) throw new Error(`${path}: storage '${key}' is referenced but ${member} is missing`);
    const bytes = zip.read(member);
    const want = count * dtypeSize(type.dtype);
    if (bytes.byteLength < want) throw new Error(`${path}: storage '${key}' (${type.name}) needs ${want} bytes but ${member} has ${bytes.byteLength}`);
    const s = new Storage(key, type.dtype, bytes.byteLength === want ? bytes : bytes.subarray(0, want));
    storages.set(key, s);
    return s;
  };

  const tree = unpickle(zip.read(pkl[0]), `${path}: ${pkl[0]}`, { findGlobal: torchGlobals(path), persistentLoad });
  const out = new Map<string, RawTensor>();
  for (const [name, view] of tensorsIn(tree, "")) {
    if (out.has(name)) throw new Error(`${path}: tensor name '${name}' appears twice`);
    out.set(name, materialize(path, name, view));
  }
  return out;
}

function openTorchZip(path: string): ZipReader {
  try {
    return new ZipReader(path);
  } catch (err) {
    const msg = (err as Error).message;
    if (/not a zip archive/.test(msg)) {
      throw new Error(`${path}: not a zip archive; the pre-1.6 torch.save format (and TorchScript) is not supported, re-save with a recent torch`);
    }
    throw err;
  }
}

/**
 * Writes tensors in `torch.save`'s zip format (pickle protocol 2, one storage per tensor, data
 * aligned to 64 bytes), so `torch.load(path)` returns an OrderedDict of the same tensors. Atomic.
 *
 * ```ts
 * writeTorchBin("pytorch_model.bin", readSafetensors("model.safetensors"));
 * ```
 */
export function writeTorchBin(path: string, tensors: Map<string, RawTensor> | Record<string, RawTensor>, opts: { forceZip64?: boolean } = {}): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) checkRawTensor(t, `${path}: tensor '${name}'`);

  const p = new PickleWriter().proto(2);
  p.global("collections", "OrderedDict").emptyTuple().reduce();
  // SETITEMS in batches of 1000, as CPython's pickler does, to keep the stack small.
  for (let i = 0; i < entries.length; i += 1000) {
    p.mark();
    entries.slice(i, i + 1000).forEach(([name, t], j) => {
      const shape = t.shape;
      const stride = shape.map((_, d) => numel(shape.slice(d + 1)));
      p.str(name);
      p.global("torch._utils", "_rebuild_tensor_v2").mark();
      p.mark().str("storage").global("torch", STORAGE_NAMES[t.dtype]).str(String(i + j)).str("cpu").int(numel(shape)).tuple().persId();
      p.int(0).intTuple(shape).intTuple(stride).bool(false);
      p.global("collections", "OrderedDict").emptyTuple().reduce(); // backward hooks
      p.tuple().reduce();
    });
    p.setItems();
  }

  const root = "archive";
  const members = [
    { name: `${root}/data.pkl`, data: p.finish() },
    { name: `${root}/byteorder`, data: new TextEncoder().encode("little") },
    ...entries.map(([, t], i) => ({ name: `${root}/data/${i}`, data: t.data })),
    { name: `${root}/version`, data: new TextEncoder().encode("3\n") },
  ];
  writeFileAtomic(path, (fd) => writeZip(fd, members, { align: 64, forceZip64: opts.forceZip64 }));
}
