// Per-hop work done for every forwarding method: the TTL (IPv6: hop limit) is decremented as
// the kernel's IPVS does before it sends (decrement_ttl), the IPv4 header checksum updated
// incrementally.

import { csumReplace16 } from '../wire/csum.js';
import type { Frame } from '../wire/frame.js';

/** Decrements the TTL; false when it would reach zero (the kernel drops and sends Time Exceeded). */
export function decTtl(f: Frame): boolean {
  const ttl = f.ttl;
  if (ttl <= 1) return false;
  const b = f.buf;
  const at = f.l3 + 8;
  const proto = b[at + 1]!;
  b[at] = ttl - 1;
  csumReplace16(b, f.l3 + 10, (ttl << 8) | proto, ((ttl - 1) << 8) | proto);
  f.ttl = ttl - 1;
  return true;
}

/** IPv6: decrements the hop limit (no header checksum); false when it would reach zero. */
export function decHop6(f: Frame): boolean {
  const hl = f.ttl;
  if (hl <= 1) return false;
  f.buf[f.l3 + 7] = hl - 1;
  f.ttl = hl - 1;
  return true;
}
