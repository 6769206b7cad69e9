/** `koclip tokenizer train`: learns a WordPiece vocabulary from the captions of pairs JSONL files. */
import { readPairs } from "../../data/datasets.js";
import { trainWordPiece, writeWordPieceTokenizer } from "../../tokenizers/train_wordpiece.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const USAGE = `usage: koclip tokenizer train --data pairs.jsonl[,more.jsonl] --out DIR [--vocab-size 6000] [--max-length 64]
       [--merge-score frequency|likelihood]

Trains a WordPiece tokenizer (klue-style special tokens [CLS]=0 [PAD]=1 [SEP]=2 [UNK]=3 [MASK]=4)
on every caption of the given pairs files and writes DIR/tokenizer.json and tokenizer_config.json.
Merges: the most frequent pair (HF's WordPieceTrainer; the default) or Google's likelihood score,
which on mixed Korean + English text leaves English as single letters.`;

export const tokenizerCommand: Command = {
  name: "tokenizer",
  summary: "train a WordPiece tokenizer on dataset captions",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    if (verb !== "train") throw new UsageError(`unknown tokenizer action '${verb ?? ""}' (known: train)`);
    const { values } = parseFlags(rest, { data: { type: "string" }, out: { type: "string" }, "vocab-size": { type: "string" }, "max-length": { type: "string" }, "merge-score": { type: "string" } });
    if (!values.data || !values.out) throw new UsageError("--data and --out are required");
    const vocabSize = intFlag("vocab-size", values["vocab-size"], 16) ?? 6000;
    const maxLength = intFlag("max-length", values["max-length"], 3) ?? 64;
    const mergeScore = values["merge-score"] ?? "frequency";
    if (mergeScore !== "frequency" && mergeScore !== "likelihood") throw new UsageError(`--merge-score must be frequency or likelihood, got '${mergeScore}'`);
    const texts = values.data.split(",").flatMap((f) => readPairs(f).rows.flatMap((r) => r.texts));
    const vocab = trainWordPiece(texts, { vocabSize, mergeScore });
    writeWordPieceTokenizer(values.out, vocab, { modelMaxLength: maxLength });
    console.log(JSON.stringify({ out: values.out, vocabSize: vocab.length, captions: texts.length }));
    return 0;
  },
};
