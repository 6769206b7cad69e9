/**
 * M-CLIP as a dual encoder: its multilingual text encoder was distilled into a CLIP model's text
 * embedding space (Carlsson et al. 2022, "Cross-lingual and Multilingual CLIP"), so it pairs with
 * that CLIP's image tower, projection and temperature, loaded from a separate CLIP folder.
 */
import type { VarStore } from "../../nn/index.js";
import type { Tensor } from "../../torch/index.js";
import type { ClipModel } from "../clip/model.js";
import { contrastiveOutput, l2Normalize } from "../losses/contrastive.js";
import type { DualEncoder, DualEncoderOutput, TextBatch } from "../dual_encoder.js";
import type { MultilingualCLIP } from "./model.js";

export class MClipDualEncoder implements DualEncoder {
  readonly modelType = "M-CLIP";
  readonly embedDim: number;
  readonly maxTextLength: number;

  /** `vision` is the CLIP whose space M-CLIP was distilled into; null for text-only use. */
  constructor(readonly text: MultilingualCLIP, readonly store: VarStore, readonly vision: ClipModel | null) {
    this.embedDim = text.cfg.numDims;
    this.maxTextLength = text.transformer.maxSequenceLength;
    if (vision && vision.embedDim !== this.embedDim) {
      throw new Error(`M-CLIP outputs ${this.embedDim}-d embeddings but the CLIP image model has ${vision.embedDim}-d: pair it with the CLIP it was distilled into`);
    }
  }

  get imageSize(): number {
    return this.requireVision().imageSize;
  }

  private requireVision(): ClipModel {
    if (!this.vision) throw new Error("M-CLIP is a text encoder: load it with a CLIP image model (loadModel(dir, { vision: clipDir }) or --vision DIR)");
    return this.vision;
  }

  encodeImage(pixels: Tensor, opts: { normalize?: boolean } = {}): Tensor {
    return this.requireVision().encodeImage(pixels, opts);
  }

  encodeText(batch: TextBatch, opts: { normalize?: boolean } = {}): Tensor {
    const e = this.text.forward(batch).textEmbeds;
    return opts.normalize === false ? e : l2Normalize(e);
  }

  logitScale(): Tensor {
    return this.requireVision().logitScale();
  }

  forward(pixels: Tensor, batch: TextBatch): DualEncoderOutput {
    return contrastiveOutput(this.encodeImage(pixels), this.encodeText(batch), this.logitScale());
  }

  dispose(): void {
    this.store.dispose();
    this.vision?.store.dispose();
  }
}
