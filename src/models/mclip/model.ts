/**
 * M-CLIP's text encoder (MultilingualCLIP): a multilingual transformer (XLM-R) whose last hidden
 * states are averaged over real tokens and mapped by one linear layer into a CLIP model's image
 * embedding space, trained by distilling CLIP's English text encoder (teacher learning).
 *
 * Paper: Carlsson et al., "Cross-lingual and Multilingual CLIP", LREC 2022.
 * Reference: FreddeFrallan/Multilingual-CLIP `multilingual_clip/pt_multilingual_clip.py`
 * (commit 35bdd4f2abd91cad59be5da4c150256fba925d41); the transformer is ../roberta/model.ts.
 *
 *   const mclip = new MultilingualCLIP(store.root, parseMClipConfig(json, "config.json"));
 *   mclip.forward(batch).textEmbeds;   // [B, numDims], not normalised
 */
import { Linear, normalInit, type VarBuilder } from "../../nn/index.js";
import { tidy, type Tensor } from "../../torch/index.js";
import type { TextBatch } from "../dual_encoder.js";
import { RobertaModel } from "../roberta/model.js";
import type { MClipConfig } from "./config.js";

/** Construction options that are not part of config.json. */
export interface MultilingualCLIPOptions {
  /**
   * Whether to load the transformer's `pooler.dense` (never used by M-CLIP). Default: exactly when
   * the checkpoint has it. M-CLIP's code builds XLM-R with AutoModel, which adds a pooler, so a
   * released checkpoint may carry one; loading it keeps strict loading strict.
   */
  addPoolingLayer?: boolean;
}

/** What MultilingualCLIP.forward returns. */
export interface MClipOutput {
  lastHiddenState: Tensor; // [B, T, transformerDimensions]
  meanPooled: Tensor; // [B, transformerDimensions]
  /** LinearTransformation's output, NOT L2-normalised (M-CLIP returns it as is). */
  textEmbeds: Tensor; // [B, numDims]
}

/**
 * Mean of `hidden` [B, T, H] over the positions where `attentionMask` [B, T] is 1 → [B, H].
 * Padding must not dilute the average, so this divides by each row's real length, not T.
 */
export function maskedMeanPool(hidden: Tensor, attentionMask: Tensor): Tensor {
  return tidy(() => {
    const m = attentionMask.toDtype(hidden.dtype); // [B, T]
    const summed = hidden.mul(m.unsqueeze(2)).sumDim([1]); // [B, H]
    return summed.div(m.sumDim([1], true)); // [B, H] / [B, 1]
  });
}

/** M-CLIP's text side: XLM-R under `transformer.`, masked mean pool, `LinearTransformation`. */
export class MultilingualCLIP {
  readonly transformer: RobertaModel;
  readonly linearTransformation: Linear;

  constructor(vb: VarBuilder, readonly cfg: MClipConfig, opts: MultilingualCLIPOptions = {}) {
    const tvb = vb.pp("transformer");
    const addPoolingLayer = opts.addPoolingLayer ?? tvb.pp("pooler").pp("dense").has("weight");
    // Position ids keep XLM-R's padding offset: M-CLIP called the HF model without explicit ids.
    this.transformer = new RobertaModel(tvb, cfg.text_config, { addPoolingLayer });
    this.linearTransformation = new Linear(vb.pp("LinearTransformation"), cfg.transformerDimensions, cfg.numDims, {
      init: normalInit(cfg.text_config.initializer_range),
      int8: false,
    });
  }

  /** Token batch → hidden states, their masked mean, and the projected text embedding. */
  forward(batch: TextBatch): MClipOutput {
    return tidy(() => {
      const { lastHiddenState } = this.transformer.forward(batch);
      const meanPooled = maskedMeanPool(lastHiddenState, batch.attentionMask);
      return { lastHiddenState, meanPooled, textEmbeds: this.linearTransformation.forward(meanPooled) };
    });
  }
}
