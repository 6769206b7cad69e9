/** `koclip export onnx`: writes a model as ONNX towers in the folder layout transformers.js and optimum read. */
import { EXPORT_PRECISIONS, type ExportPrecision } from "../../export/onnx/graph.js";
import { exportOnnx } from "../../export/onnx/export.js";
import { loadModel } from "../../models/load.js";
import { parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip export onnx --model DIR --out DIR [--precision fp32|int8] [--vision DIR]

Writes DIR as transformers.js and optimum expect it: config.json, the tokenizer and
preprocessor files, and
  onnx/text_model.onnx     input_ids, attention_mask int64 [batch, sequence] -> text_embeds
  onnx/vision_model.onnx   pixel_values float32 [batch, 3, size, size]       -> image_embeds
(projected, not L2-normalised; opset 17, dynamic batch and sequence axes). With --precision
int8 the encoder layers' matrix products are dynamically quantised (MatMulInteger) and the
files are onnx/text_model_quantized.onnx and onnx/vision_model_quantized.onnx.

options:
  --model DIR      model folder (required)
  --out DIR        output folder (required; created, existing files of the same names replaced)
  --precision P    fp32 (default) or int8
  --vision DIR     for M-CLIP text models: the CLIP folder whose image tower to export with it`;

function exportPrecisionFlag(value: string | undefined): ExportPrecision {
  if (value === undefined) return "fp32";
  if ((EXPORT_PRECISIONS as readonly string[]).includes(value)) return value as ExportPrecision;
  throw new UsageError(`--precision must be one of ${EXPORT_PRECISIONS.join(", ")}, got '${value}'`);
}

export const exportOnnxCommand: Command = {
  name: "onnx",
  summary: "write ONNX text and vision towers (transformers.js / optimum layout)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags(argv, {
      model: { type: "string" },
      out: { type: "string" },
      precision: { type: "string" },
      vision: { type: "string" },
    });
    if (!values.model) throw new UsageError("--model DIR is required");
    if (!values.out) throw new UsageError("--out DIR is required");
    const precision = exportPrecisionFlag(values.precision);
    const model = await loadModel(values.model, { vision: values.vision });
    try {
      for (const file of exportOnnx(model, values.out, { precision })) console.log(file);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
