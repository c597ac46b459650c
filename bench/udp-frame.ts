// One well-formed Ethernet/IPv4/UDP frame with checksums, for the packet benchmarks.
import { checksum, pseudo4, write16, write32 } from '../src/wire/csum.js';

export function udpFrame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  payload: number,
): Uint8Array {
  const l4len = 8 + payload;
  const b = new Uint8Array(14 + 20 + l4len);
  b.set(dstMac, 0);
  b.set(srcMac, 6);
  write16(b, 12, 0x0800);
  b[14] = 0x45;
  write16(b, 16, 20 + l4len);
  b[22] = 64;
  b[23] = 17;
  write32(b, 26, saddr);
  write32(b, 30, daddr);
  write16(b, 24, checksum(b, 14, 20));
  write16(b, 34, sport);
  write16(b, 36, dport);
  write16(b, 38, l4len);
  for (let i = 0; i < payload; i++) b[42 + i] = i & 0xff;
  write16(b, 40, checksum(b, 34, l4len, pseudo4(saddr, daddr, 17, l4len)) || 0xffff);
  return b;
}
