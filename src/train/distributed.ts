/**
 * Data-parallel contrastive training over a ProcessGroup. Each rank encodes its share of the
 * global batch; the embeddings are all-gathered so that every rank computes the loss over the
 * whole global batch, as one process would.
 *
 * Why the gradients are summed: let L be the loss over the global batch and e_i the embedding of
 * row i, computed on the rank that owns row i. Every rank computes the same L, but in its graph
 * only its own rows carry grad (gatherWithGrad puts the others in as constants), so its backward
 * gives g_r = Σ_{i on r} ∂L/∂e_i · ∂e_i/∂θ. Summing over ranks gives Σ_i ∂L/∂e_i · ∂e_i/∂θ = ∂L/∂θ,
 * the 1-rank gradient. Parameters used after the gather (the logit scale) are in every rank's
 * graph in full, so each rank already holds all of ∂L/∂s: those are averaged instead.
 */
import { createHash } from "node:crypto";
import { cat, fromBytes, noGrad, tidy, type Tensor } from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";

/** Gradients travel in buckets of about this many bytes: one collective per bucket instead of per tensor. */
export const BUCKET_BYTES = 25 * 1024 * 1024;

/**
 * All ranks' rows of `local` stacked in rank order, [Σ rows, …]; this rank's slice is `local`
 * itself, so gradients flow back into this rank's graph (open_clip's gather_with_grad=False
 * with local_loss=False). The other slices carry no grad.
 */
export function gatherWithGrad(group: ProcessGroup, local: Tensor): Tensor {
  return tidy(() => {
    const parts = noGrad(() => group.allGather(local.detach()));
    parts[group.rank] = local;
    return cat(parts, 0);
  });
}

/** 64 bits of SHA-256 per string, as two int64s per row of a [n, 2] tensor: equal strings, equal keys. */
function stringKeys(a: string[], b: string[]): Tensor {
  const bytes = new Uint8Array(a.length * 16);
  a.forEach((s, i) => {
    bytes.set(createHash("sha256").update(s).digest().subarray(0, 8), i * 16);
    bytes.set(createHash("sha256").update(b[i]!).digest().subarray(0, 8), i * 16 + 8);
  });
  return fromBytes(bytes, "int64", [a.length, 2]);
}

/**
 * The captions and positive groups of the whole global batch, for the multi-positive targets:
 * only equality matters there, so each rank sends 64-bit hashes of its strings rather than the
 * strings, and gets back stand-ins that are equal exactly where the originals are.
 */
export function gatherPositiveKeys(group: ProcessGroup, texts: string[], groups: string[]): { texts: string[]; groups: string[] } {
  return tidy(() => {
    const all = cat(group.allGather(stringKeys(texts, groups)), 0).toBytes();
    const hex = Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString("hex");
    const rows = hex.length / 32;
    const out = { texts: [] as string[], groups: [] as string[] };
    for (let i = 0; i < rows; i++) {
      out.texts.push(hex.slice(i * 32, i * 32 + 16));
      out.groups.push(hex.slice(i * 32 + 16, i * 32 + 32));
    }
    return out;
  });
}

/**
 * Makes every rank's gradients the 1-rank gradient of the global loss (see the file comment):
 * `replicated` parameters' gradients are averaged, all others summed, in buckets of BUCKET_BYTES.
 * Parameters without a gradient are skipped (the same ones on every rank: same model, same graph).
 */
export function allReduceGradients(group: ProcessGroup, params: Tensor[], replicated: Tensor[]): void {
  noGrad(() => tidy(() => {
    const grads: Tensor[] = [];
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      if (replicated.includes(p)) g.div_(group.size);
      grads.push(g);
    }
    let bucket: Tensor[] = [], bytes = 0;
    const flush = () => {
      if (bucket.length) group.allReduce(bucket, "sum");
      bucket = [];
      bytes = 0;
    };
    for (const g of grads) {
      bucket.push(g);
      bytes += g.numel * 4;
      if (bytes >= BUCKET_BYTES) flush();
    }
    flush();
  }));
}

/** Every rank takes rank 0's values of `params` (at start, so all ranks begin from one model). */
export function broadcastParameters(group: ProcessGroup, params: Tensor[]): void {
  noGrad(() => {
    for (const p of params) group.broadcast(p, 0);
  });
}
