// ARP for IPv4 over Ethernet (RFC 826): reading requests and replies, and writing the
// director's own (requests to resolve a next hop, replies and gratuitous announcements for a
// VIP that no interface of the director holds).

import { read16, read32, write16, write32 } from './csum.js';
import { ETH_ALEN, ETH_HLEN, ETH_P_ARP, ETH_P_IP } from './eth.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
/** Ethernet header + ARP body. */
export const ARP_FRAME_LEN = ETH_HLEN + 28;

export class ArpInfo {
  op = 0;
  /** Offset of the sender's MAC in the frame buffer. */
  shaAt = 0;
  spa = 0;
  tpa = 0;

  /** Reads the ARP body at `l3`; false when it is not IPv4-over-Ethernet ARP. */
  read(buf: Uint8Array, l3: number): boolean {
    if (read16(buf, l3) !== 1 || read16(buf, l3 + 2) !== ETH_P_IP) return false;
    if (buf[l3 + 4] !== ETH_ALEN || buf[l3 + 5] !== 4) return false;
    const op = read16(buf, l3 + 6);
    if (op !== ARP_REQUEST && op !== ARP_REPLY) return false;
    this.op = op;
    this.shaAt = l3 + 8;
    this.spa = read32(buf, l3 + 14);
    this.tpa = read32(buf, l3 + 24);
    return true;
  }
}

const BROADCAST = new Uint8Array([255, 255, 255, 255, 255, 255]);
const ZERO = new Uint8Array(6);

/**
 * Writes a whole ARP frame at `off` and returns its length. A request has `tha` null and goes
 * to broadcast; a gratuitous announcement is a request with spa = tpa.
 */
export function writeArp(
  buf: Uint8Array,
  off: number,
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array | null,
  tpa: number,
): number {
  const dst = tha ?? BROADCAST;
  buf.set(dst, off);
  buf.set(sha, off + 6);
  write16(buf, off + 12, ETH_P_ARP);
  const a = off + ETH_HLEN;
  write16(buf, a, 1);
  write16(buf, a + 2, ETH_P_IP);
  buf[a + 4] = ETH_ALEN;
  buf[a + 5] = 4;
  write16(buf, a + 6, op);
  buf.set(sha, a + 8);
  write32(buf, a + 14, spa);
  buf.set(tha ?? ZERO, a + 18);
  write32(buf, a + 24, tpa);
  return ARP_FRAME_LEN;
}
