// What a new master tells the link (docs/spec/ha.md A.7): for each IPv4 VIP a gratuitous ARP request
// (broadcast, sender = target = VIP, the interface's own MAC, as keepalived does without
// use_vmac); for each IPv6 VIP an unsolicited neighbour advertisement to ff02::1 with the
// override flag and the target link-layer address. Sent on a packet socket, protocol 0 (send only).

import { readFileSync } from 'node:fs';
import { Addr } from '../../core/inet.js';
import { ARP_FRAME_LEN, ARP_REQUEST, writeArp } from '../../wire/arp.js';
import { ALL_NODES, ND_FRAME_LEN, writeNa } from '../../wire/ndp.js';
import { AF_PACKET, SOCK_CLOEXEC, SOCK_RAW, check, sockaddrLl, sys } from './sys.js';

const ETH_P_ARP = 0x0806;
const ETH_P_IPV6 = 0x86dd;
/** Ethernet's minimum frame (without FCS); an ARP frame is padded to it. */
const ETH_MIN_FRAME = 60;

/** The interface's MAC from sysfs (the namespace's own view under `ip netns exec`). */
export function ifaceMac(iface: string): Uint8Array {
  const text = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  const parts = text.split(':').map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p))) {
    throw new Error(`VRRP: cannot read the MAC address of ${iface} (got '${text}')`);
  }
  return Uint8Array.from(parts);
}

export class Announcer {
  private fd = -1;
  sent = 0;
  failed = 0;

  /** Sends one GARP or NA per address out of `ifindex` with source MAC `mac`. */
  announce(ifindex: number, mac: Uint8Array, addrs: Addr[]): void {
    const s = sys();
    if (this.fd < 0) this.fd = check('socket(AF_PACKET)', s.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), 'VRRP needs root (CAP_NET_RAW)');
    for (const a of addrs) {
      let frame: Uint8Array;
      let proto: number;
      if (a.isV6) {
        frame = new Uint8Array(ND_FRAME_LEN);
        writeNa(frame, 0, mac, [a.w0, a.w1, a.w2, a.w3], null, ALL_NODES);
        proto = ETH_P_IPV6;
      } else {
        frame = new Uint8Array(Math.max(ARP_FRAME_LEN, ETH_MIN_FRAME));
        writeArp(frame, 0, ARP_REQUEST, mac, a.w0, null, a.w0);
        proto = ETH_P_ARP;
      }
      if (s.sendto(this.fd, frame, sockaddrLl(ifindex, proto)) < 0) this.failed++;
      else this.sent++;
    }
  }

  close(): void {
    if (this.fd >= 0) sys().close(this.fd);
    this.fd = -1;
  }
}
