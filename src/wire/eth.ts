// Ethernet II and 802.1Q: what the director reads and rewrites of a frame's link header.

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;
export const VLAN_HLEN = 4;

/** Writes destination and source MACs (6 bytes each) at the frame's start. */
export function setMacs(buf: Uint8Array, off: number, dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number): void {
  for (let i = 0; i < ETH_ALEN; i++) {
    buf[off + i] = dst[dstOff + i]!;
    buf[off + ETH_ALEN + i] = src[srcOff + i]!;
  }
}

export function formatMac(b: Uint8Array, off = 0): string {
  const p: string[] = [];
  for (let i = 0; i < ETH_ALEN; i++) p.push(b[off + i]!.toString(16).padStart(2, '0'));
  return p.join(':');
}

/** Parses "aa:bb:cc:dd:ee:ff"; null when malformed. */
export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(s);
  if (!m) return null;
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}
