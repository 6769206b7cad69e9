/**
 * Finds and opens the weights in a Hugging Face model folder, whatever the format:
 * model.safetensors, a sharded model.safetensors.index.json, pytorch_model.bin (zip-pickle, read
 * by a restricted unpickler), or flax_model.msgpack (renamed to PyTorch names by flax_layout.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openSafetensors, readFlaxMsgpack, readShardedSafetensors, readTorchBin } from "../formats/index.js";
import { mapSource, type TensorSource } from "../nn/index.js";
import { fromFlaxLayout } from "./flax_layout.js";

export type CheckpointFormat = "safetensors" | "safetensors-sharded" | "pytorch" | "flax";

/** The weight files we look for, in order of preference (safetensors loads lazily and safely). */
export const CHECKPOINT_FILES: ReadonlyArray<[CheckpointFormat, string]> = [
  ["safetensors", "model.safetensors"],
  ["safetensors-sharded", "model.safetensors.index.json"],
  ["pytorch", "pytorch_model.bin"],
  ["flax", "flax_model.msgpack"],
];

export interface Checkpoint {
  format: CheckpointFormat;
  /** Path of the file the tensors come from (for error messages). */
  file: string;
  /** Tensors under PyTorch/Hugging Face names. */
  source: TensorSource;
  /** Releases file handles; call once the model is built. */
  close(): void;
}

/** Which weight file a folder holds, or an error listing what was looked for. */
export function findCheckpoint(dir: string, prefer?: CheckpointFormat): { format: CheckpointFormat; file: string } {
  const candidates = prefer ? CHECKPOINT_FILES.filter(([f]) => f === prefer) : CHECKPOINT_FILES;
  for (const [format, name] of candidates) {
    const file = join(dir, name);
    if (existsSync(file)) return { format, file };
  }
  throw new Error(`${dir}: no model weights found (looked for ${candidates.map(([, n]) => n).join(", ")})`);
}

/** Opens the folder's weights as a TensorSource under PyTorch names. */
export function openCheckpoint(dir: string, prefer?: CheckpointFormat): Checkpoint {
  const { format, file } = findCheckpoint(dir, prefer);
  switch (format) {
    case "safetensors": {
      const st = openSafetensors(file);
      return { format, file, source: { keys: () => st.keys(), get: (n) => (st.has(n) ? st.get(n) : undefined) }, close: () => st.close() };
    }
    case "safetensors-sharded":
      return { format, file, source: mapSource(readShardedSafetensors(dir)), close: () => {} };
    case "pytorch":
      return { format, file, source: mapSource(readTorchBin(file)), close: () => {} };
    case "flax":
      return { format, file, source: mapSource(fromFlaxLayout(readFlaxMsgpack(file), file)), close: () => {} };
  }
}
