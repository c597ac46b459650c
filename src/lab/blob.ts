// The labs' test payload: N bytes that a test can regenerate to compare digests, and that no
// accidental repetition (a dropped or doubled segment) would leave unchanged.

import { createHash } from 'node:crypto';

export function blob(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    // xorshift32: cheap, and every segment of the stream differs
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}
