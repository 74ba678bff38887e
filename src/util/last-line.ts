/** The last line of a tool's output, surrounding blank space trimmed: what a one-line error quotes from stderr. */
export function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
