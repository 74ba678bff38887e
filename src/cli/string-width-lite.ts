import { eastAsianWidth } from 'get-east-asian-width';

/**
 * Terminal width of a string, for yargs' help layout only (build.mjs substitutes it for the
 * `string-width` package inside the yargs bundle). The real package builds an
 * Intl.Segmenter and Unicode-property regexes when it loads, which cost ~40 ms at every
 * start of every qbuild command that parses its arguments with yargs; help text is ASCII
 * and East Asian text, for which code-point widths are exact.
 */
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export default function stringWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(ANSI, '')) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x300 && cp <= 0x36f) || cp === 0x200b) continue;
    width += eastAsianWidth(cp);
  }
  return width;
}
