/**
 * Which concepts are held out of training, and which training images go to validation.
 *
 * Both come from stable hashes of the emoji key, not from the seed: the held-out concepts stay
 * the same across seeds, sizes and `--limit`, so numbers from different builds are comparable.
 */
import { stableUnit } from "./seeded.js";

/** Whether a concept's base emoji was seen in training or held out of it. */
export type ConceptSplit = "seen" | "heldout";

/**
 * Held out when the key's hash falls below `fraction` (about that share of all concepts).
 *
 *   conceptSplit("1f431", 0.2) // "seen" or "heldout", the same every time
 */
export function conceptSplit(key: string, fraction: number): ConceptSplit {
  return stableUnit(`holdout|${key}`) < fraction ? "heldout" : "seen";
}

/**
 * True when one training-style image of a seen concept goes to val.jsonl instead of train.jsonl.
 * Chosen per (style, image) so the concept itself stays in training through its other styles:
 * validation measures fit on seen concepts, held-out concepts measure generalisation.
 */
export function isValidationImage(style: string, imageKey: string, fraction: number): boolean {
  return stableUnit(`val|${style}|${imageKey}`) < fraction;
}
