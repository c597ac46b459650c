// Partial checksums on the AF_XDP path. A local stack on veth (a client or real server in another
// namespace) hands over TCP/UDP segments with CHECKSUM_PARTIAL: the checksum field holds only the
// pseudo-header's sum, for the NIC that never comes. The packet socket tells such frames apart by
// their virtio_net_hdr (VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_start, csum_offset); an AF_XDP frame has
// no metadata, so this writes that header itself, in the frame's headroom, when the field equals
// the pseudo-header sum. The forwarder then treats the frame as on the packet socket (skips the
// check, adjusts the field incrementally) and the transmit socket's vnet header has the kernel
// complete the checksum. A complete checksum that happens to equal the pseudo-header sum (1 in
// 65536) is harmless: completing it again yields the same value.

import { fold, sum16 } from '../../../wire/csum.js';
import { VNET_HDR_LEN } from '../constants.js';

const VNET_F_NEEDS_CSUM = 1;

/**
 * Writes the virtio_net_hdr at `vnet` (VNET_HDR_LEN bytes before the frame at `off`): all zero, or
 * NEEDS_CSUM with csum_start/csum_offset when the TCP/UDP checksum is the pseudo-header sum only.
 * Returns true for a partial checksum.
 */
export function writeVnetHdr(b: Uint8Array, off: number, len: number, vnet: number): boolean {
  b.fill(0, vnet, vnet + VNET_HDR_LEN);
  if (len < 14 + 20 + 8) return false;
  const type = (b[off + 12]! << 8) | b[off + 13]!;
  let l4: number;
  let proto: number;
  let l4len: number;
  let acc: number;
  if (type === 0x0800) {
    const ip = off + 14;
    const ihl = (b[ip]! & 0x0f) * 4;
    if (ihl < 20 || ((b[ip + 6]! & 0x3f) | b[ip + 7]!) !== 0) return false;
    proto = b[ip + 9]!;
    l4 = ip + ihl;
    l4len = ((b[ip + 2]! << 8) | b[ip + 3]!) - ihl;
    acc = sum16(b, ip + 12, 8, proto + l4len);
  } else if (type === 0x86dd) {
    const ip = off + 14;
    if (len < 14 + 40 + 8) return false;
    proto = b[ip + 6]!;
    l4 = ip + 40;
    l4len = (b[ip + 4]! << 8) | b[ip + 5]!;
    acc = sum16(b, ip + 8, 32, proto + l4len);
  } else return false;
  const csumOff = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (csumOff < 0 || l4len < csumOff + 2 || l4 + csumOff + 2 > off + len) return false;
  const field = (b[l4 + csumOff]! << 8) | b[l4 + csumOff + 1]!;
  if (field === 0 || field !== fold(acc)) return false;
  const dv = new DataView(b.buffer, b.byteOffset);
  b[vnet] = VNET_F_NEEDS_CSUM;
  dv.setUint16(vnet + 6, l4 - off, true);
  dv.setUint16(vnet + 8, csumOff, true);
  return true;
}
