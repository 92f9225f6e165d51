/**
 * Confidence labels of `reference/krx-market-rules.md` §0. Rule data carries one so a reviewer can
 * see which entries still need a primary source before they harden.
 */
export type Confidence = 'V-PRIMARY' | 'V-SECONDARY' | 'PARTIAL' | 'UNVERIFIED'

/** Where a rule entry comes from: the reference section (and source ids) plus its confidence. */
export interface RuleSource {
  /** Section of `reference/krx-market-rules.md`, e.g. `§5.1`, optionally with source ids (`§5.1 [N27]`). */
  readonly section: string
  readonly confidence: Confidence
  /** Free text: a notice URL, a reviewer, or why the entry is conservative. */
  readonly note?: string
}

/** Shorthand for rule tables. */
export function src(section: string, confidence: Confidence, note?: string): RuleSource {
  return note === undefined ? { section, confidence } : { section, confidence, note }
}
