/**
 * A restricted Python pickle machine: the opcodes `torch.save` emits (protocol 2, plus the few
 * protocol 3-4 ones a `pickle_protocol=4` save adds) and nothing that can run code by itself.
 *
 * Pickle is a little stack language whose only dangerous instructions are the ones that look up a
 * global and call it. Here every GLOBAL goes through the caller's `findGlobal`, which returns an
 * inert JS stand-in or throws; REDUCE can only call stand-ins that are `PickleCallable`s. Opcodes
 * outside the list (INST, OBJ, NEWOBJ, EXT*, ...) are refused. Opcode reference: CPython's
 * Lib/pickletools.py.
 *
 * Python values map to JS as: None → null, bool → boolean, int → number (bigint past 2^53),
 * float → number, str → string, bytes → Uint8Array, list and tuple → array, dict → Map.
 */

/** A global that REDUCE may call, e.g. torch's `_rebuild_tensor_v2`. */
export class PickleCallable {
  constructor(
    /** `module.name`, for error messages. */
    readonly qualname: string,
    private readonly fn: (args: unknown[]) => unknown,
  ) {}

  /** Runs the JS stand-in with the pickled argument tuple. */
  call(args: unknown[]): unknown {
    return this.fn(args);
  }
}

/** Hooks that decide what the pickle may reference. */
export interface UnpickleHooks {
  /** Returns a stand-in for `module.name` or throws to refuse it (the default must be to refuse). */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a BINPERSID id (torch uses it for tensor storages). Without it, persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
}

const OP_NAMES: Record<number, string> = {
  0x63: "GLOBAL", 0x69: "INST", 0x6f: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2",
  0x84: "EXT4", 0x50: "PERSID", 0x52: "REDUCE", 0x62: "BUILD", 0x93: "STACK_GLOBAL",
};

/** Python-ish rendering for error messages. */
function describe(v: unknown): string {
  if (v instanceof PickleCallable) return v.qualname;
  if (v instanceof Map) return "dict";
  if (Array.isArray(v)) return "tuple/list";
  if (v === null) return "None";
  return typeof v === "object" ? (v.constructor?.name ?? "object") : JSON.stringify(String(v));
}

/**
 * Runs a pickle under `hooks` and returns the unpickled value; `label` prefixes error messages.
 *
 * ```ts
 * unpickle(bytes, "x.pkl", { findGlobal: (m, n) => { throw new Error(`refusing ${m}.${n}`); } });
 * ```
 */
export function unpickle(bytes: Uint8Array, label: string, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder();
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.byteLength) fail(`pickle ends in the middle of an opcode at byte ${pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.byteLength)) fail(`length ${v} runs past the end of the pickle`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated text argument at byte ${pos}`);
    const s = utf8.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail("pickle stack underflow") : stack.pop());
  const top = () => (stack.length === 0 ? fail("pickle stack underflow") : stack[stack.length - 1]);
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail("pickle MARK missing");
    return stack.splice(m as number);
  };
  const littleInt = (b: Uint8Array): number | bigint => {
    if (b.byteLength === 0) return 0;
    let v = 0n;
    for (let i = b.byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.byteLength - 1] & 0x80) v -= 1n << BigInt(8 * b.byteLength);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail(`SETITEM(S) on ${describe(dict)}, expected a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail(`APPEND(S) on ${describe(list)}, expected a list`);
    (list as unknown[]).push(...items);
  };
  const global = (module: string, name: string) => stack.push(hooks.findGlobal(module, name));

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) fail(`pickle protocol ${proto} is not supported`);
        break;
      }
      case 0x95: // FRAME: only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`pickle ended with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(littleInt(take(u8())));
        break;
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0 || n > 64) fail(`LONG4 of ${n} bytes is not a plausible tensor size or index`);
        stack.push(littleInt(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian, unlike every other number in pickle)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x54: { // BINSTRING
        const n = i32();
        if (n < 0) fail("negative BINSTRING length");
        stack.push(utf8.decode(take(n)));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} used before it was set`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        global(module, line());
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        global(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleCallable)) fail(`REDUCE on ${describe(fn)}, which is not an allowed callable`);
        if (!Array.isArray(args)) fail(`REDUCE arguments are ${describe(args)}, not a tuple`);
        stack.push((fn as PickleCallable).call(args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = top();
        // A dict subclass with instance attributes (state_dict's `_metadata`) is the only case torch
        // produces; those attributes carry no tensor data, so they are dropped.
        if (!(obj instanceof Map)) fail(`BUILD on ${describe(obj)} is not supported`);
        if (state !== null && !(state instanceof Map) && !Array.isArray(state)) fail(`BUILD with a ${describe(state)} state is not supported`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail("persistent ids are not allowed in this pickle");
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      default:
        fail(`pickle opcode ${OP_NAMES[op] ?? "0x" + op.toString(16).padStart(2, "0")} at byte ${at} is not supported by the restricted unpickler`);
    }
  }
}

/**
 * Emits pickle opcodes (protocol 2). Only what `writeTorchBin` needs; no memo, which keeps the
 * writer trivial at the cost of repeating GLOBAL strings (a few bytes per tensor).
 */
export class PickleWriter {
  private chunks: Uint8Array[] = [];
  private readonly enc = new TextEncoder();

  private raw(...b: number[]): this {
    this.chunks.push(Uint8Array.from(b));
    return this;
  }

  /** PROTO n. */
  proto(n: number): this {
    return this.raw(0x80, n);
  }

  /** GLOBAL "module\nname\n". */
  global(module: string, name: string): this {
    this.raw(0x63);
    this.chunks.push(this.enc.encode(`${module}\n${name}\n`));
    return this;
  }

  /** MARK. */
  mark(): this {
    return this.raw(0x28);
  }

  /** TUPLE from the last MARK. */
  tuple(): this {
    return this.raw(0x74);
  }

  /** EMPTY_TUPLE. */
  emptyTuple(): this {
    return this.raw(0x29);
  }

  /** REDUCE. */
  reduce(): this {
    return this.raw(0x52);
  }

  /** SETITEMS from the last MARK. */
  setItems(): this {
    return this.raw(0x75);
  }

  /** BINPERSID. */
  persId(): this {
    return this.raw(0x51);
  }

  /** NEWTRUE / NEWFALSE. */
  bool(b: boolean): this {
    return this.raw(b ? 0x88 : 0x89);
  }

  /** BINUNICODE. */
  str(s: string): this {
    const b = this.enc.encode(s);
    const head = new DataView(new ArrayBuffer(5));
    head.setUint8(0, 0x58);
    head.setUint32(1, b.byteLength, true);
    this.chunks.push(new Uint8Array(head.buffer), b);
    return this;
  }

  /** The shortest of BININT1, BININT2, BININT or LONG1. */
  int(n: number | bigint): this {
    if (typeof n === "number" && !Number.isSafeInteger(n)) throw new Error(`pickle: ${n} is not an integer`);
    if (n >= 0 && n < 0x100) return this.raw(0x4b, Number(n));
    if (n >= 0 && n < 0x10000) return this.raw(0x4d, Number(n) & 0xff, Number(n) >> 8);
    if (n >= -0x80000000 && n < 0x80000000) {
      const d = new DataView(new ArrayBuffer(5));
      d.setUint8(0, 0x4a);
      d.setInt32(1, Number(n), true);
      this.chunks.push(new Uint8Array(d.buffer));
      return this;
    }
    // LONG1: minimal little-endian two's complement
    let v = BigInt(n);
    const out: number[] = [];
    for (;;) {
      const byte = Number(v & 0xffn);
      out.push(byte);
      v >>= 8n;
      if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
    }
    return this.raw(0x8a, out.length, ...out);
  }

  /** A tuple of ints, using TUPLE1-3 for short ones as Python does. */
  intTuple(xs: readonly number[]): this {
    if (xs.length === 0) return this.emptyTuple();
    if (xs.length > 3) this.mark();
    for (const x of xs) this.int(x);
    return xs.length > 3 ? this.tuple() : this.raw(0x84 + xs.length);
  }

  /** STOP, and the finished pickle. */
  finish(): Uint8Array {
    this.raw(0x2e);
    const total = this.chunks.reduce((s, c) => s + c.byteLength, 0);
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.byteLength;
    }
    return out;
  }
}
