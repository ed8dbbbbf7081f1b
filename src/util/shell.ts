/** A command line as a shell reads it back: each word quoted where the shell would split or expand it. */
export function commandLine(words: readonly string[]): string {
  return words.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
