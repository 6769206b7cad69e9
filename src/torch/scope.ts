/**
 * Deterministic memory: tensors made inside `tidy(fn)` are disposed when fn returns, except the
 * ones it returns. JS's GC does not see libtorch's memory, so relying on it let a training loop
 * grow from 200 MB to 22 GB; scopes free each step's intermediates the moment the step ends.
 */
import type { Tensor } from "./tensor.js";

const scopes: Set<Tensor>[] = [];

/**
 * How Tensor learns which tensors no scope owns, whose memory it reports to V8 so that the GC
 * backstop runs sooner if nobody disposes them: `scopesOpen` says whether new tensors have an
 * owner (the addon reports those made while no scope is open), `unowned` names a tensor that left
 * its scopes. Tensors a scope owns are not reported: it frees them itself, and reporting a forward
 * pass's every intermediate made V8 run a full collection about twice a pass.
 */
interface OwnershipHooks {
  scopesOpen(open: boolean): void;
  unowned(t: Tensor): void;
}
let hooks: OwnershipHooks | null = null;
export function setOwnershipHooks(h: OwnershipHooks): void {
  hooks = h;
}

/** Called by Tensor for every new tensor: the innermost open scope owns it. */
export function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from every open scope, so no enclosing `tidy` disposes it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  hooks!.unowned(t);
  return t;
}

function collect(value: unknown, into: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== "object") return;
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, isTensor, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, isTensor, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, isTensor, depth + 1);
}

let isTensorFn: ((v: unknown) => v is Tensor) | null = null;
/** Tensor registers its type guard here, which keeps this module free of an import cycle. */
export function setTensorGuard(fn: (v: unknown) => v is Tensor): void {
  isTensorFn = fn;
}

/**
 * Runs a synchronous `fn`, then disposes every tensor created inside it except those reachable
 * from its result (a tensor, or arrays / plain objects / Maps of them). Kept tensors move to the
 * enclosing scope. If fn throws, everything it created is disposed.
 *
 *   const loss = tidy(() => model.forward(x).logSoftmax(-1).mean());   // intermediates freed
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  if (scopes.length === 0) hooks!.scopesOpen(true);
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    for (const t of scope) t.dispose();
    throw err;
  } finally {
    scopes.pop();
    if (scopes.length === 0) hooks!.scopesOpen(false);
  }
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error("tidy: fn returned a Promise; tidy tracks synchronous work only (dispose async results yourself)");
  }
  const kept = new Set<Tensor>();
  collect(result, kept, isTensorFn!);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!kept.has(t)) t.dispose();
    else if (parent) parent.add(t);
    else hooks!.unowned(t);
  }
  return result;
}

/** Disposes every tensor in a value (a tensor, array, plain object or Map of them). */
export function disposeAll(value: unknown): void {
  const found = new Set<Tensor>();
  collect(value, found, isTensorFn!);
  for (const t of found) t.dispose();
}
