/**
 * Query tokenisation for the static page, apart from the page so Node tests can run it
 * (tests/unit/site_tokenize.test.ts): tokenizers.js's tokens, truncated to leave room for the
 * special tokens, the post-processor's special tokens, then ids (unknown → unk), which is what
 * koclip's tokenizer does for one unpadded text (src/tokenizers/tokenizer.ts, encodeRow).
 *
 *   const encode = makeEncoder(new Tokenizer(json, site.text.tokenizerConfig), site.text);
 *   encode("고양이 사진")   // [0, 313, 22, 2]
 */

/**
 * @param {any} tokenizer a tokenizers.js Tokenizer
 * @param {{ maxLength: number, truncationSide: "left" | "right", unkTokenId?: number }} settings site.json's `text`
 * @returns {(text: string) => number[]}
 */
export function makeEncoder(tokenizer, settings) {
  const post = tokenizer.post_processor;
  const specials = post ? post.post_process([], null, true).tokens.length : 0;
  const room = settings.maxLength - specials;
  return (text) => {
    let tokens = tokenizer.tokenize(text);
    if (tokens.length > room) tokens = settings.truncationSide === "right" ? tokens.slice(0, room) : tokens.slice(tokens.length - room);
    if (post) tokens = post.post_process(tokens, null, true).tokens;
    return tokens.map((/** @type {string} */ t) => tokenizer.token_to_id(t) ?? settings.unkTokenId);
  };
}
