/** `koclip embed`: prints L2-normalised embeddings of texts and/or images as JSON lines. */
import { loadModel } from "../../models/load.js";
import { intFlag, MODEL_FLAGS, modelFlagsHelp, parseFlags, precisionFlag, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip embed --model DIR (--text T ... | --image FILE ...) [options]

Loads a model folder in any format koclip reads (model.safetensors, pytorch_model.bin,
flax_model.msgpack, M-CLIP) and prints one JSON object per input:
  {"input": "고양이 사진", "kind": "text", "embedding": [0.012, ...]}   (L2-normalised)

options:
${modelFlagsHelp("model folder (required)", 19)}
  --text T         a text to embed (repeatable)
  --image FILE     an image file to embed (repeatable; jpg, png, webp, gif, ...)
  --vision DIR     for M-CLIP text models: a CLIP folder that supplies the image tower
  --precision P    fp32 (default), bf16 (bfloat16 matrix products) or int8 (CPU: int8
                   Linear layers); faster on CPUs with AVX-512 BF16/VNNI or AMX, embeddings
                   within cosine 0.999 of fp32
  --batch-size N   inputs per forward pass (default 16 on the CPU; on a GPU 32 images, 64 texts)`;

export const embedCommand: Command = {
  name: "embed",
  summary: "print embeddings of texts and images (JSON lines)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
          ...MODEL_FLAGS,
          text: { type: "string", multiple: true },
          image: { type: "string", multiple: true },
          vision: { type: "string" },
          precision: { type: "string" },
          "batch-size": { type: "string" },
        });
    if (!values.model) throw new UsageError("--model DIR is required");
    const texts = values.text ?? [];
    const images = values.image ?? [];
    if (texts.length === 0 && images.length === 0) throw new UsageError("give at least one --text or --image");
    const batchSize = intFlag("batch-size", values["batch-size"]);
    using model = await loadModel(values.model, { vision: values.vision, device: values.device, precision: precisionFlag(values.precision) });
    const print = (input: string, kind: string, e: Float32Array) =>
      process.stdout.write(JSON.stringify({ input, kind, embedding: Array.from(e, (v) => Number(v.toPrecision(7))) }) + "\n");
    if (texts.length) (await model.encodeTexts(texts, { batchSize })).forEach((e, i) => print(texts[i]!, "text", e));
    if (images.length) (await model.encodeImages(images, { batchSize })).forEach((e, i) => print(images[i]!, "image", e));
    return 0;
  },
};
