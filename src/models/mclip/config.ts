/**
 * M-CLIP's config.json (model_type "M-CLIP"), with the field names of its MCLIPConfig:
 * `modelBase` (the Hugging Face id of the text transformer), `transformerDimensions` (its width)
 * and `numDims` (the CLIP embedding size the linear head maps to).
 *
 * M-CLIP's own config carries no transformer hyper-parameters: its Python code downloads
 * `modelBase` and reads them from there. Offline we take them from a `text_config` object in the
 * same file when present (our fixtures write one), else from a preset for known bases.
 *
 *   const cfg = parseMClipConfig(JSON.parse(readFileSync("config.json", "utf8")), "config.json");
 *   cfg.numDims;   // 512 for M-CLIP/XLM-Roberta-Large-Vit-B-32
 */
import { ConfigError, ConfigReader } from "../../formats/index.js";
import { parseRobertaConfig, xlmRobertaBase, xlmRobertaLarge, type RobertaConfig } from "../roberta/config.js";

/** An M-CLIP text encoder's configuration, with the transformer's config resolved. */
export interface MClipConfig {
  model_type: "M-CLIP";
  /** Hugging Face id of the text transformer, e.g. "xlm-roberta-large". */
  modelBase: string;
  /** Width of the transformer's hidden states (input of LinearTransformation). */
  transformerDimensions: number;
  /** Output size of LinearTransformation: the paired CLIP image embedding's size. */
  numDims: number;
  /** The transformer's config: the file's `text_config`, or the preset for `modelBase`. */
  text_config: RobertaConfig;
}

/** Transformer configs for the `modelBase` values M-CLIP's released models use. */
export const MCLIP_BASES: Readonly<Record<string, () => RobertaConfig>> = {
  "xlm-roberta-large": xlmRobertaLarge,
  "FacebookAI/xlm-roberta-large": xlmRobertaLarge,
  "xlm-roberta-base": xlmRobertaBase,
  "FacebookAI/xlm-roberta-base": xlmRobertaBase,
};

/**
 * Validates an M-CLIP config.json. Missing fields take MCLIPConfig's defaults (xlm-roberta-large,
 * 1024, 768), as its constructor does; `where` names the file in errors.
 */
export function parseMClipConfig(json: unknown, where = "config.json"): MClipConfig {
  const r = ConfigReader.of(json, where);
  r.oneOf("model_type", ["M-CLIP"], undefined);
  const modelBase = r.string("modelBase", "xlm-roberta-large");
  const transformerDimensions = r.int("transformerDimensions", 1024, 1);
  const numDims = r.int("numDims", 768, 1);
  let text: RobertaConfig;
  if (r.raw("text_config") !== undefined) {
    text = parseRobertaConfig(r.raw("text_config"), where, "text_config.");
  } else {
    const preset = MCLIP_BASES[modelBase];
    if (!preset) {
      throw new ConfigError(`${where}: no text_config, and modelBase '${modelBase}' has no preset (known: ${Object.keys(MCLIP_BASES).join(", ")}); add the base model's config.json as "text_config"`);
    }
    text = preset();
  }
  if (text.hidden_size !== transformerDimensions) {
    throw new ConfigError(`${where}: transformerDimensions ${transformerDimensions} differs from the transformer's hidden_size ${text.hidden_size}`);
  }
  return { model_type: "M-CLIP", modelBase, transformerDimensions, numDims, text_config: text };
}

/** M-CLIP/XLM-Roberta-Large-Vit-B-32: XLM-R large mapped into OpenAI ViT-B/32's 512-d space. */
export function mclipXlmRobertaLargeVitB32(): MClipConfig {
  return { model_type: "M-CLIP", modelBase: "xlm-roberta-large", transformerDimensions: 1024, numDims: 512, text_config: xlmRobertaLarge() };
}

/** M-CLIP/XLM-Roberta-Large-Vit-L-14: XLM-R large mapped into OpenAI ViT-L/14's 768-d space. */
export function mclipXlmRobertaLargeVitL14(): MClipConfig {
  return { ...mclipXlmRobertaLargeVitB32(), numDims: 768 };
}
