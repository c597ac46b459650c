// The control protocol: one request and one reply per connection, each a frame of a 4-byte
// big-endian length followed by that many bytes of UTF-8 JSON. Kept free of core imports so
// that the tsvsadm client stays small.

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
 * Accumulates bytes and returns the first complete frame's JSON text, null while incomplete.
 * Throws on a frame longer than MAX_FRAME (the peer is not speaking our protocol).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  push(b: Buffer): string | null {
    this.chunks.push(b);
    this.size += b.length;
    if (this.size < 4) return null;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [all];
    const len = all.readUInt32BE(0);
    if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is over the ${MAX_FRAME} limit`);
    if (all.length < 4 + len) return null;
    return all.subarray(4, 4 + len).toString('utf8');
  }
}
