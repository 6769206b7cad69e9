/**
 * Korean and English names of every emoji, from emojibase-data (CLDR annotations).
 *
 * emojibase's Korean `label` and `tags` are CLDR's human-written names and keywords, which is
 * why we use them; its Korean group names (messages.json) are machine-translated, so they are
 * left out. The two languages are joined on the FE0F-free key from emoji_key.ts.
 */
import { emojiKey } from "./emoji_key.js";
import { findPackage, readPackageJson, type InstalledPackage } from "./packages.js";

/** A name and its keywords in one language. */
export interface EmojiText {
  readonly label: string;
  readonly tags: readonly string[];
}

/** A skin-tone variant of a concept (e.g. 👍🏽), labelled like "올린 엄지: 갈색 피부". */
export interface EmojiVariant {
  readonly key: string;
  readonly emoji: string;
  readonly ko: string;
  readonly en: string;
}

/** One base emoji: the unit of classes, held-out splits and captions. */
export interface EmojiConcept {
  /** Join key, see emoji_key.ts (e.g. "1f431"). */
  readonly key: string;
  /** The emoji as text, fully qualified (with FE0F where CLDR has it). */
  readonly emoji: string;
  /** CLDR sort order, which the build follows so `--limit N` means "the first N". */
  readonly order: number;
  readonly ko: EmojiText;
  readonly en: EmojiText;
  readonly variants: readonly EmojiVariant[];
}

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  emoji: string;
  order?: number;
  group?: number;
  tags?: string[];
  skins?: EmojibaseEntry[];
}

// emojibase group 2 is "component" (skin tones, hair styles): parts, not things to caption.
const COMPONENT_GROUP = 2;

/**
 * Loads the joined Korean/English concepts in CLDR order. Components and lone regional
 * indicator letters (which have no group) are dropped: 1,914 concepts for emojibase-data 17.
 *
 *   const cat = loadEmojiConcepts().concepts.find((c) => c.key === "1f431");
 *   cat.ko.label // "고양이 얼굴"
 */
export function loadEmojiConcepts(): { concepts: EmojiConcept[]; pkg: InstalledPackage } {
  const pkg = findPackage("emojibase-data", "emoji names (koclip data emoji)");
  const ko = readPackageJson<EmojibaseEntry[]>(pkg, "ko/data.json");
  const en = readPackageJson<EmojibaseEntry[]>(pkg, "en/data.json");
  return { concepts: joinLanguages(ko, en), pkg };
}

function joinLanguages(ko: EmojibaseEntry[], en: EmojibaseEntry[]): EmojiConcept[] {
  const enByKey = new Map<string, EmojibaseEntry>();
  for (const e of en) {
    enByKey.set(emojiKey(e.hexcode), e);
    for (const s of e.skins ?? []) enByKey.set(emojiKey(s.hexcode), s);
  }
  const concepts: EmojiConcept[] = [];
  for (const k of ko) {
    if (k.group === undefined || k.group === COMPONENT_GROUP) continue;
    const key = emojiKey(k.hexcode);
    const e = enByKey.get(key);
    if (!e) throw new Error(`emojibase-data: ${k.hexcode} has a Korean entry but no English one`);
    concepts.push({
      key,
      emoji: k.emoji,
      order: k.order ?? Number.MAX_SAFE_INTEGER,
      ko: { label: k.label, tags: k.tags ?? [] },
      en: { label: e.label, tags: e.tags ?? [] },
      variants: (k.skins ?? []).map((s) => {
        const skinKey = emojiKey(s.hexcode);
        return { key: skinKey, emoji: s.emoji, ko: s.label, en: enByKey.get(skinKey)?.label ?? s.label };
      }),
    });
  }
  return concepts.sort((a, b) => a.order - b.order);
}

/**
 * Captions for one language: the name first, then keywords not equal to it. For a skin-tone
 * variant the variant's own name leads and the base name follows.
 *
 *   captions(cat.ko) // ["고양이 얼굴", "고양이", "동물", ...]
 */
export function captions(text: EmojiText, variantLabel?: string): string[] {
  const out = variantLabel === undefined ? [text.label] : [variantLabel, text.label];
  for (const tag of text.tags) if (!out.includes(tag)) out.push(tag);
  return out;
}
