/**
 * Worker thread that prepares indexing batches (prepare.ts), so reading, hashing, decoding and
 * preprocessing run while the main thread is inside a forward pass (which blocks its event loop:
 * work left to it would wait for the pass to end). Messages:
 *   in:  { id, request: PrepareRequest }      out: { id, prepared: Prepared[] } | { id, error }
 * Pixel buffers are transferred, not copied.
 */
import { parentPort } from "node:worker_threads";
import { prepareBatch, type PrepareRequest } from "./prepare.js";

parentPort!.on("message", (msg: { id: number; request: PrepareRequest }) => {
  prepareBatch(msg.request).then(
    (prepared) => {
      const transfer = prepared.flatMap((p) => (p.kind === "decoded" && p.pixels ? [p.pixels.buffer as ArrayBuffer] : []));
      parentPort!.postMessage({ id: msg.id, prepared }, transfer);
    },
    (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
  );
});
