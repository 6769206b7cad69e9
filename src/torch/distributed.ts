/**
 * Process groups over libtorch's c10d (native/src/distributed.cc): ranks meet through a TCPStore
 * that rank 0 hosts at MASTER_ADDR:MASTER_PORT, then run collectives on tensors in place, Gloo on
 * the CPU and NCCL where libtorch was built with it. Every collective and every store read has a
 * timeout; a failed one throws a DistributedError naming the rank(s) that went missing, so a dead
 * peer ends the job instead of hanging it.
 *
 *   const world = worldFromEnv();                  // RANK, WORLD_SIZE, … as torchrun sets them
 *   const group = ProcessGroup.init(world);
 *   group.allReduce([grad], "avg");
 */
import { native, type NativeGroup, type NativeStore } from "./native.js";
import type { Handle } from "./native_types.js";
import { Tensor } from "./tensor.js";

/** Where this process sits in the job: torchrun's environment variables, parsed. */
export interface World {
  rank: number;
  worldSize: number;
  localRank: number;
  /** How many ranks run on this machine (LOCAL_WORLD_SIZE; worldSize when unset). */
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
}

export type Backend = "gloo" | "nccl";
export type ReduceOp = "sum" | "avg" | "max";

/** A collective or rendezvous that failed; the message is one line naming the ranks involved. */
export class DistributedError extends Error {
  override name = "DistributedError";
}

/** torchrun's default rendezvous port, also ours. */
export const DEFAULT_MASTER_PORT = 29500;

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new DistributedError(`${name}=${raw}: expected an integer >= ${min}`);
  return n;
}

/**
 * The world torchrun (or `koclip train --nproc`) describes in RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT; a single process (rank 0 of 1) when WORLD_SIZE
 * is unset. Inconsistent values are an error naming the variable.
 */
export function worldFromEnv(env: NodeJS.ProcessEnv = process.env): World {
  const worldSize = intVar(env, "WORLD_SIZE", 1, 1);
  const rank = intVar(env, "RANK", 0, 0);
  if (rank >= worldSize) throw new DistributedError(`RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  if (worldSize > 1 && env.RANK === undefined) throw new DistributedError(`WORLD_SIZE=${worldSize} but RANK is not set`);
  const localWorldSize = intVar(env, "LOCAL_WORLD_SIZE", 1, worldSize);
  const localRank = intVar(env, "LOCAL_RANK", 0, rank % localWorldSize);
  if (localRank >= localWorldSize) throw new DistributedError(`LOCAL_RANK=${localRank} is not below LOCAL_WORLD_SIZE=${localWorldSize}`);
  const masterPort = intVar(env, "MASTER_PORT", 1, DEFAULT_MASTER_PORT);
  if (masterPort > 65535) throw new DistributedError(`MASTER_PORT=${masterPort}: not a TCP port`);
  return { rank, worldSize, localRank, localWorldSize, masterAddr: env.MASTER_ADDR || "127.0.0.1", masterPort };
}

/** Backends this build of the addon can create (["gloo"] on Debian's libtorch with libgloo-dev). */
export function distributedBackends(): Backend[] {
  return native.distributedBackends();
}

export interface ProcessGroupOptions {
  /** Default: nccl for CUDA tensors where built, else gloo. */
  backend?: Backend;
  /** Longest wait for a peer, in every collective and store read (default 300 s). */
  timeoutMs?: number;
  /**
   * Where Gloo listens for its peers: "iface:eth0", an address, or "" for this host name's
   * address. Default: GLOO_SOCKET_IFNAME's interface when set, 127.0.0.1 when the master is on
   * loopback, else "".
   */
  device?: string;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0]!.replace(/^\[[^\]]*\]\s*/, "");
}

const isLoopback = (addr: string) => addr === "localhost" || addr.startsWith("127.") || addr === "::1";

/** How long a rank that saw a collective fail waits for its peers to report the same failure. */
const PEER_REPORT_MS = 3000;

/** One member of a group of `size` processes. Not thread-safe; collectives are synchronous. */
export class ProcessGroup implements Disposable {
  readonly #store: NativeStore;
  #group: NativeGroup | null;
  #aborted = false;
  /** How many agree() calls this rank made: every rank makes them in the same order, so it keys them. */
  #agreements = 0;

  private constructor(
    readonly rank: number,
    readonly size: number,
    /** This rank's index among the ranks on its machine (picks its GPU). */
    readonly localRank: number,
    readonly backend: Backend,
    readonly timeoutMs: number,
    store: NativeStore,
    group: NativeGroup,
  ) {
    this.#store = store;
    this.#group = group;
  }

  /**
   * Joins the group `world` describes: rank 0 hosts the store, every rank checks that all ranks
   * agree on the world size and that no rank number is claimed twice, then the backend connects.
   * Errors: the port is in use, a rank does not join within the timeout, world sizes differ.
   */
  static init(world: World, opts: ProcessGroupOptions = {}): ProcessGroup {
    const backends = distributedBackends();
    const backend = opts.backend ?? (backends.includes("nccl") && native.cudaDeviceCount() > 0 ? "nccl" : "gloo");
    if (!backends.includes(backend)) {
      throw new DistributedError(backends.length === 0
        ? "this koclip addon was built without c10d process groups (apt-get install libgloo-dev, then npm rebuild)"
        : `this libtorch has no ${backend} backend (it has: ${backends.join(", ")})`);
    }
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const { rank, worldSize, masterAddr, masterPort } = world;
    const where = `${masterAddr}:${masterPort}`;
    let store: NativeStore;
    try {
      store = native.storeCreate(masterAddr, masterPort, rank === 0, timeoutMs);
    } catch (err) {
      throw new DistributedError(rank === 0
        ? `rank 0: cannot listen on ${where} (MASTER_PORT ${masterPort} in use?): ${firstLine(err)}`
        : `rank ${rank}: no rank 0 reachable at ${where} within ${timeoutMs / 1000} s: ${firstLine(err)}`);
    }
    const get = (key: string, what: string) => {
      try {
        return native.storeGet(store, key, timeoutMs);
      } catch (err) {
        throw new DistributedError(`rank ${rank}: ${what} within ${timeoutMs / 1000} s (${firstLine(err)})`);
      }
    };
    if (native.storeAdd(store, `koclip/claim/${rank}`, 1) > 1) {
      throw new DistributedError(`rank ${rank}: another process at ${where} already joined as rank ${rank}`);
    }
    native.storeSet(store, `koclip/world/${rank}`, String(worldSize));
    if (rank === 0) {
      // Rank 0 hears from every rank, then tells them all whether the group is consistent.
      let verdict = "ok";
      for (let r = 1; r < worldSize && verdict === "ok"; r++) {
        const theirs = Number(get(`koclip/world/${r}`, `rank ${r} did not join at ${where}`));
        if (theirs !== worldSize) verdict = `rank ${r} was started with WORLD_SIZE=${theirs}, rank 0 with WORLD_SIZE=${worldSize}`;
      }
      native.storeSet(store, "koclip/verdict", verdict);
      if (verdict !== "ok") throw new DistributedError(`rank 0: ${verdict}`);
    } else {
      const theirs = Number(get("koclip/world/0", "rank 0 did not answer"));
      if (theirs !== worldSize) throw new DistributedError(`rank ${rank}: started with WORLD_SIZE=${worldSize}, rank 0 with WORLD_SIZE=${theirs}`);
      const verdict = get("koclip/verdict", "the other ranks did not all join");
      if (verdict !== "ok") throw new DistributedError(`rank ${rank}: ${verdict}`);
    }
    const device = opts.device ?? (process.env.GLOO_SOCKET_IFNAME ? `iface:${process.env.GLOO_SOCKET_IFNAME}` : isLoopback(masterAddr) ? "127.0.0.1" : "");
    let group: NativeGroup;
    try {
      group = native.processGroupCreate(store, backend, rank, worldSize, timeoutMs, device);
    } catch (err) {
      throw new DistributedError(`rank ${rank}: connecting the ${backend} group failed: ${firstLine(err)}`);
    }
    return new ProcessGroup(rank, worldSize, world.localRank, backend, timeoutMs, store, group);
  }

  #live(): NativeGroup {
    if (this.#aborted) throw new DistributedError(`rank ${this.rank}: the process group failed earlier and cannot be used`);
    if (!this.#group) throw new DistributedError(`rank ${this.rank}: the process group was disposed`);
    return this.#group;
  }

  /**
   * Runs one collective; on failure, works out which peers are gone (those that do not report
   * the failure through the store within a few seconds, or rank 0 when the store itself is gone)
   * and throws one line naming them.
   */
  #run<T>(op: string, body: (group: NativeGroup) => T): T {
    const group = this.#live();
    try {
      return body(group);
    } catch (err) {
      this.#aborted = true;
      throw new DistributedError(`rank ${this.rank}: ${op} failed: ${this.#lostRanks()} (${firstLine(err)})`);
    }
  }

  #lostRanks(): string {
    try {
      // Read back: a set can look successful on a socket whose far end just died.
      native.storeSet(this.#store, `koclip/failed/${this.rank}`, "1");
      native.storeGet(this.#store, `koclip/failed/${this.rank}`, PEER_REPORT_MS);
    } catch {
      return this.rank === 0 ? "the store is unreachable" : "lost rank 0 (the store host)";
    }
    const lost: number[] = [];
    const deadline = Date.now() + PEER_REPORT_MS;
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) continue;
      try {
        native.storeGet(this.#store, `koclip/failed/${r}`, Math.max(1, deadline - Date.now()));
      } catch {
        lost.push(r);
      }
    }
    return lost.length ? `lost rank ${lost.join(", ")}` : "every peer is alive but the collective failed";
  }

  /** In place on every rank: the elementwise sum, mean or max over ranks. Several tensors travel as one buffer. */
  allReduce(tensors: Tensor | Tensor[], op: ReduceOp = "sum"): void {
    const list = Array.isArray(tensors) ? tensors : [tensors];
    if (list.length === 0) return;
    this.#run("allReduce", (g) => native.allReduce(g, list.map((t) => t.handle), op === "max" ? "max" : "sum", this.timeoutMs));
    if (op === "avg") for (const t of list) t.div_(this.size);
  }

  /** Every rank's `t` (same shape on all ranks), in rank order, as new tensors without grad. */
  allGather(t: Tensor): Tensor[] {
    const handles = this.#run("allGather", (g) => native.allGather(g, t.handle, this.timeoutMs));
    return handles.map((h: Handle) => Tensor.adopt(h));
  }

  /** In place: every rank ends with rank `root`'s values of `t` (contiguous). */
  broadcast(t: Tensor, root = 0): void {
    this.#run("broadcast", (g) => native.broadcast(g, t.handle, root, this.timeoutMs));
  }

  barrier(): void {
    this.#run("barrier", (g) => native.barrier(g, this.timeoutMs));
  }

  /**
   * Checks that every rank holds the same `value` for `what` (a config, a data fingerprint);
   * throws on every rank, naming the ranks that differ from rank 0, when they do not. Every rank
   * must make the same agree() calls in the same order (each call has its own keys in the store).
   */
  agree(what: string, value: string): void {
    this.#live();
    const key = `koclip/agree/${this.#agreements++}/${what}`;
    native.storeSet(this.#store, `${key}/${this.rank}`, value);
    const read = (r: number) => {
      try {
        return native.storeGet(this.#store, `${key}/${r}`, this.timeoutMs);
      } catch (err) {
        throw new DistributedError(`rank ${this.rank}: rank ${r} did not report its ${what} (${firstLine(err)})`);
      }
    };
    const differing: number[] = [];
    for (let r = 0; r < this.size; r++) if (read(r) !== read(0)) differing.push(r);
    if (differing.length) throw new DistributedError(`rank ${this.rank}: rank ${differing.join(", ")} started with another ${what} than rank 0`);
  }

  /** Closes this rank's connections (the store goes when the object is collected). */
  dispose(): void {
    if (this.#group) native.processGroupRelease(this.#group);
    this.#group = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
