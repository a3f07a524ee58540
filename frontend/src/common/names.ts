/**
 * Names and text from publishers, made safe to show. A field or label name is an identifier:
 * one holding a character that draws nothing or moves the text around it (a control, a
 * zero-width space or joiner, a right-to-left override) could pass for another name, so those
 * characters are shown as their code points. A value is free text and keeps its characters,
 * except the bidirectional controls, which would reorder what follows it on the same line.
 */

/** Controls, format characters (bidi controls, zero-width ones, BOM), line and paragraph separators. */
const HIDDEN_IN_NAMES = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** Bidirectional embeddings, overrides, isolates and marks. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

const codePoint = (character: string) =>
  `⟨U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}⟩`;

/** `name` with every character that would not show as itself written as ⟨U+XXXX⟩. */
export function visibleName(name: string): string {
  return name.replace(HIDDEN_IN_NAMES, codePoint);
}

/** `text` with its bidirectional controls written as ⟨U+XXXX⟩, so it cannot reorder a line. */
export function visibleText(text: string): string {
  return text.replace(BIDI_CONTROLS, codePoint);
}
