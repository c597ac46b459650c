// The keepalived.conf tree shared by the checkers (src/ha/*) and VRRP (src/ha/vrrp/*).
// Grammar and semantics: docs/spec/ha.md §B.1.

/** One keepalived.conf statement: `keyword args...` and, when it opened a `{`, its block. */
export interface ConfNode {
  keyword: string; // first word, as written
  args: string[]; // the rest of the words on the statement, quotes removed
  children: ConfNode[]; // the block's statements when the line opened `{`, else []
  file: string; // the file it came from (after `include`)
  line: number; // 1-based
}

/** A message about the configuration, placed at the statement it concerns. */
export interface ConfMessage {
  file: string;
  line: number;
  text: string;
}
