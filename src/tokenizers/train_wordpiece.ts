/**
 * Trains a WordPiece vocabulary (the kind klue/roberta uses) from a corpus and writes it as a
 * Hugging Face tokenizer.json + tokenizer_config.json with klue's special tokens
 * ([CLS]=0 [PAD]=1 [SEP]=2 [UNK]=3 [MASK]=4), so our models and Python load it alike.
 *
 * Words are split into characters (non-initial ones prefixed "##") and pairs are merged until the
 * vocabulary is full. Which pair: by default the most frequent one, as HF tokenizers'
 * WordPieceTrainer does (it trains BPE merges and keeps the pieces); or, with
 * `mergeScore: "likelihood"`, Google's WordPiece score freq(ab) / (freq(a)·freq(b)). The
 * likelihood score prefers pairs of rare symbols, which on a Korean + English corpus spends the
 * whole vocabulary on Korean syllable pairs and leaves English as single letters.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const WORDPIECE_SPECIAL_TOKENS = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"] as const;

export interface WordPieceTrainOptions {
  /** Total vocabulary size, special tokens included. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged. */
  minFrequency?: number;
  /** How the next merge is chosen (see above); "frequency" by default. */
  mergeScore?: "frequency" | "likelihood";
  /** model_max_length written to tokenizer_config.json. */
  modelMaxLength?: number;
}

/** Bert-style pre-tokenisation for counting: whitespace splits words, punctuation stands alone. */
export function preTokenize(text: string): string[] {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "")
    .split(/\s+/u)
    .flatMap((w) => w.split(/([\p{P}\p{S}])/u))
    .filter((w) => w !== "");
}

function pieces(word: string): string[] {
  return [...word].map((ch, i) => (i === 0 ? ch : "##" + ch));
}

/**
 * The vocabulary in id order: special tokens, the alphabet (by frequency), then merges in the
 * order they were learned. Deterministic: ties break on frequency, then code-point order.
 *
 *   trainWordPiece(["고양이 사진", "고양이"], { vocabSize: 20 }).slice(5, 8)
 */
export function trainWordPiece(corpus: Iterable<string>, opts: WordPieceTrainOptions): string[] {
  const wordCounts = new Map<string, number>();
  for (const text of corpus) for (const w of preTokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  const words = [...wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, count]) => ({ syms: pieces(w), count }));
  const symbolFreq = new Map<string, number>();
  for (const w of words) for (const s of w.syms) symbolFreq.set(s, (symbolFreq.get(s) ?? 0) + w.count);
  const byFreq = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const vocab: string[] = [...WORDPIECE_SPECIAL_TOKENS, ...[...symbolFreq].sort(byFreq).map(([s]) => s)];
  const known = new Set(vocab);
  const minFrequency = opts.minFrequency ?? 2;
  const likelihood = opts.mergeScore === "likelihood";
  while (vocab.length < opts.vocabSize) {
    const pairFreq = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const key = w.syms[i] + "\u0000" + w.syms[i + 1];
        pairFreq.set(key, (pairFreq.get(key) ?? 0) + w.count);
      }
    }
    let best: string | null = null, bestScore = -1, bestFreq = 0;
    for (const [key, f] of pairFreq) {
      if (f < minFrequency) continue;
      const [a, b] = key.split("\u0000") as [string, string];
      const score = likelihood ? f / (symbolFreq.get(a)! * symbolFreq.get(b)!) : f;
      if (score > bestScore || (score === bestScore && (f > bestFreq || (f === bestFreq && best !== null && key < best)))) {
        best = key;
        bestScore = score;
        bestFreq = f;
      }
    }
    if (best === null) break; // nothing left worth merging
    const [a, b] = best.split("\u0000") as [string, string];
    const merged = a + b.replace(/^##/, "");
    symbolFreq.set(merged, 0);
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        if (w.syms[i] === a && w.syms[i + 1] === b) {
          w.syms.splice(i, 2, merged);
          symbolFreq.set(a, symbolFreq.get(a)! - w.count);
          symbolFreq.set(b, symbolFreq.get(b)! - w.count);
          symbolFreq.set(merged, symbolFreq.get(merged)! + w.count);
        }
      }
    }
    if (!known.has(merged)) {
      known.add(merged);
      vocab.push(merged);
    }
  }
  return vocab;
}

/** Writes tokenizer.json and tokenizer_config.json for `vocab` into `dir`. */
export function writeWordPieceTokenizer(dir: string, vocab: string[], opts: { modelMaxLength?: number } = {}): void {
  mkdirSync(dir, { recursive: true });
  const id = (t: string) => vocab.indexOf(t);
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: WORDPIECE_SPECIAL_TOKENS.map(special),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: { "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] } },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  };
  const config = {
    tokenizer_class: "BertTokenizer",
    model_max_length: opts.modelMaxLength ?? 64,
    bos_token: "[CLS]", cls_token: "[CLS]", eos_token: "[SEP]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]",
    do_lower_case: false,
  };
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer) + "\n");
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
}
