// `-R` input reading as ipvsadm's config_stream_read does it: tokens split on space, tab, CR
// and LF; a line ends at LF; the word `ipvsadm` is dropped wherever it appears; `#` is not
// special; tokens longer than 4096 characters are split; and a last line that ends in two or
// more blanks without a newline is lost (fscanf meets EOF while skipping blanks).
// Spec: docs/spec/ipvsadm.md §9.

/** MAX_LINE_LENGTH: the widest token fscanf reads at once. */
const MAX_TOKEN = 4096;

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

export class ConfigStream {
  private pos = 0;
  private start = 0;
  /** The 1-based number of the line read() returned last (0 before the first). */
  lineNumber = 0;

  constructor(private readonly text: string) {}

  /** The text of the line read() returned last, without its LF (and a CR before it). */
  lineText(): string {
    const end = this.text.indexOf('\n', this.start);
    const line = this.text.slice(this.start, end < 0 ? this.text.length : end);
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }

  /** The tokens of the next line (possibly none), or null when the input is exhausted. */
  read(): string[] | null {
    const text = this.text;
    // Every read starts a line: the previous one returned at a LF (or the input ended).
    this.start = this.pos;
    this.lineNumber++;
    const tokens: string[] = [];
    while (this.pos < text.length) {
      if (isBlank(text[this.pos])) {
        for (;;) {
          if (this.pos >= text.length) return null;
          const ch = text[this.pos++];
          if (ch === '\n') return tokens;
          if (ch === ' ' || ch === '\t' || ch === '\r') continue;
          this.pos--;
          break;
        }
        continue;
      }
      const start = this.pos;
      while (this.pos < text.length && !isBlank(text[this.pos]) && this.pos - start < MAX_TOKEN) {
        this.pos++;
      }
      const token = text.slice(start, this.pos);
      let tail = '';
      if (this.pos < text.length && isBlank(text[this.pos])) tail = text[this.pos++]!;
      if (token !== 'ipvsadm') tokens.push(token);
      if (tail === '\n') return tokens;
    }
    return tokens.length ? tokens : null;
  }
}
