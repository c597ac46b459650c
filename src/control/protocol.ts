// The control protocol: one request and one reply per connection, each a frame of a 4-byte
// big-endian length followed by that many bytes of UTF-8 JSON. A long reply (`-L -c` of a large
// table) is preceded by parts, frames of the form ReplyPart, whose texts come before the reply's
// own stdout. Kept free of core imports so that the tsvsadm client stays small.

export const MAX_FRAME = 64 << 20;

export interface AdmRequest {
  op: 'adm';
  argv: string[];
  argv0: string;
  stdin: string;
}

export interface AdmReply {
  stdout: string;
  stderr: string;
  code: number;
}

/** A piece of a reply's stdout sent ahead of the reply itself. */
export interface ReplyPart {
  part: string;
}

export function isReplyPart(v: unknown): v is ReplyPart {
  return typeof v === 'object' && v !== null && typeof (v as { part?: unknown }).part === 'string';
}

/** `tsvs sysctl ARGS`; `file` is the text of `-p FILE`, read by the client. */
export interface SysctlRequest {
  op: 'sysctl';
  argv: string[];
  file?: string;
}

/**
 * The VIPs VRRP moves between directors (`tsvs keepalived`): the engine must not answer ARP/NDP
 * for them itself, or a backup director would claim them too; where VRRP has put them on an
 * interface, the kernel answers.
 */
export interface VrrpVipsRequest {
  op: 'vrrp-vips';
  addrs: string[];
}

export type Request = AdmRequest | SysctlRequest | VrrpVipsRequest | { op: 'status' } | { op: 'stop' } | { op: 'ping' };

export function encodeFrame(v: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(v), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Accumulates bytes and returns complete frames' JSON texts in order: push() the bytes read, then
 * the first frame complete, null while none is; next() a further frame already in, if any.
 * Throws on a frame longer than MAX_FRAME (the peer is not speaking our protocol).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** The frame's length once its 4-byte header is in; -1 before. */
  private need = -1;

  push(b: Buffer): string | null {
    this.chunks.push(b);
    this.size += b.length;
    return this.next();
  }

  next(): string | null {
    if (this.need < 0) {
      if (this.size < 4) return null;
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [head];
      const len = head.readUInt32BE(0);
      if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is over the ${MAX_FRAME} limit`);
      this.need = len;
    }
    // Joined once, when the frame is complete: a large -R arriving in many reads is copied once,
    // not once per read.
    if (this.size < 4 + this.need) return null;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const end = 4 + this.need;
    const text = all.subarray(4, end).toString('utf8');
    const rest = all.subarray(end);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    this.need = -1;
    return text;
  }
}
