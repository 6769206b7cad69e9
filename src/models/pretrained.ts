/**
 * A dual encoder together with its tokenizer and image preprocessing: what `loadModel` returns and
 * what applications use. Texts and images in, L2-normalised Float32Array rows out.
 *
 *   const model = await loadModel("models/koclip-emoji");
 *   const [cat] = await model.encodeTexts(["고양이"]);
 *   const [img] = await model.encodeImages(["cat.png"]);
 *   cosine(cat, img);
 */
import { preprocessImages, type ImageInput, type ImageProcessorConfig } from "../image/index.js";
import type { Tokenizer } from "../tokenizers/index.js";
import { autocast, noGrad, tensor, tidy, type Device, type Tensor } from "../torch/index.js";
import type { DualEncoder, TextBatch } from "./dual_encoder.js";

/** Already-preprocessed pixels: a [B, 3, H, W] float32 batch. */
export interface PixelInput {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** A path, encoded image bytes, or preprocessed pixels. */
export type ImageLike = ImageInput | PixelInput;

export interface EncodeOptions {
  /** Rows per forward pass (memory vs speed). */
  batchSize?: number;
  /** L2-normalise the rows (default true). */
  normalize?: boolean;
}

function isPixelInput(x: unknown): x is PixelInput {
  return typeof x === "object" && x !== null && "data" in x && "shape" in x && (x as PixelInput).data instanceof Float32Array;
}

/** Splits a [B, D] float tensor into B rows. */
function rows(t: Tensor): Float32Array[] {
  const [b, d] = t.shape as [number, number];
  const flat = t.toFloat32Array();
  return Array.from({ length: b }, (_, i) => flat.slice(i * d, (i + 1) * d));
}

export class PretrainedModel {
  constructor(
    readonly encoder: DualEncoder,
    readonly tokenizer: Tokenizer,
    readonly imageConfig: ImageProcessorConfig,
    readonly dir: string,
    /** config.json as loaded (what saveModel writes back). */
    readonly configJson: Record<string, unknown>,
    readonly device: Device = "cpu",
  ) {}

  get embedDim(): number {
    return this.encoder.embedDim;
  }

  /** Longest text in tokens: the tokenizer's limit capped by the model's position table. */
  get maxTextLength(): number {
    return Math.min(this.tokenizer.modelMaxLength, this.encoder.maxTextLength);
  }

  /**
   * Runs encoder calls as inference at the model's precision: in a scope, without gradients, and
   * for bf16 and int8 under autocast, so the matrix products that are not int8 Linear layers
   * (attention's, the patch embedding) compute in bfloat16 too. What encodeTexts and encodeImages
   * use; for callers that hold tensors already.
   *
   *   const e = model.infer(() => model.encoder.encodeImage(pixels).toFloat32Array());
   */
  infer<T>(fn: () => T): T {
    const run = this.encoder.store.precision !== "fp32" ? () => autocast(this.device.startsWith("cuda") ? "cuda" : "cpu", fn) : fn;
    return tidy(() => noGrad(run));
  }

  /** Tokenizes, pads to the longest text and truncates to maxTextLength; int64 tensors on the model's device. */
  tokenize(texts: string[]): TextBatch {
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new TypeError(`texts[${i}] is ${typeof t}, expected a string`);
    });
    const enc = this.tokenizer.encodeBatch(texts, { padding: "longest", truncation: true, maxLength: this.maxTextLength });
    const shape = [texts.length, enc.length];
    return {
      inputIds: tensor(enc.ids.flat(), { shape, dtype: "int64", device: this.device }),
      attentionMask: tensor(enc.attentionMask.flat(), { shape, dtype: "int64", device: this.device }),
    };
  }

  /** Text embeddings, one Float32Array of length embedDim per text. */
  async encodeTexts(texts: string[], opts: EncodeOptions = {}): Promise<Float32Array[]> {
    const batchSize = opts.batchSize ?? this.textBatchSize;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const chunk = texts.slice(i, i + batchSize);
      out.push(...this.infer(() => rows(this.encoder.encodeText(this.tokenize(chunk), { normalize: opts.normalize ?? true }))));
      await new Promise<void>((r) => setImmediate(r)); // let the event loop breathe between batches
    }
    return out;
  }

  /** Preprocesses paths/bytes (decoding in parallel) and passes pixel batches through. */
  async pixels(inputs: ImageLike[]): Promise<PixelInput[]> {
    const out: PixelInput[] = [];
    let pending: ImageInput[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const p = await preprocessImages(pending, this.imageConfig);
      out.push({ data: p.data, shape: p.shape });
      pending = [];
    };
    for (const [i, input] of inputs.entries()) {
      if (isPixelInput(input)) {
        await flush();
        const [b, c, h, w] = input.shape;
        if (c !== 3 || h !== this.encoder.imageSize || w !== this.encoder.imageSize || input.data.length !== b * c * h * w) {
          throw new Error(`images[${i}]: pixel input of shape [${input.shape}] does not fit this model's [B, 3, ${this.encoder.imageSize}, ${this.encoder.imageSize}]`);
        }
        out.push(input);
      } else pending.push(input);
    }
    await flush();
    return out;
  }

  /**
   * Images per forward pass when the caller does not say: 16 on the CPU, 32 on a GPU. On the CPU a
   * batch's activations should stay in cache: ViT-B/32 int8 took 11 ms an image at batch 16 and
   * 15–17 at 24 or 32 (its MLP hidden state outgrows the cache), fp32 30 against 33; the small
   * emoji model is indifferent.
   */
  get imageBatchSize(): number {
    return this.device === "cpu" ? 16 : 32;
  }

  /** Texts per forward pass when the caller does not say: 16 on the CPU (RoBERTa-large int8, 32 tokens: 20 ms a text, 30 at 32 or 64), 64 on a GPU. */
  get textBatchSize(): number {
    return this.device === "cpu" ? 16 : 64;
  }

  /** Image embeddings, one row per image (a PixelInput contributes one row per batch entry). */
  async encodeImages(inputs: ImageLike[], opts: EncodeOptions = {}): Promise<Float32Array[]> {
    const batchSize = opts.batchSize ?? this.imageBatchSize;
    const out: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += batchSize) {
      for (const px of await this.pixels(inputs.slice(i, i + batchSize))) {
        out.push(...this.infer(() => {
          const t = tensor(px.data, { shape: px.shape, device: this.device });
          return rows(this.encoder.encodeImage(t, { normalize: opts.normalize ?? true }));
        }));
      }
    }
    return out;
  }

  /** Frees the model's parameters. */
  dispose(): void {
    if (this.encoder.dispose) this.encoder.dispose();
    else this.encoder.store.dispose();
  }

  /** `using model = await loadModel(dir)` frees the parameters when the scope ends, however it ends. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Cosine similarity of two rows (dot product when both are L2-normalised). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
