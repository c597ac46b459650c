// FULLNAT local address allocation, as DPVS keeps it apart in ip_vs_laddr.c: a new conn toward
// a real server gets a <local address, local port> pair that no conn already uses with that
// server, so that the server's replies find their conn by <proto, laddr:lport, RIP:rport>.

import { FULLNAT_LPORT_MAX, FULLNAT_LPORT_MIN, FULLNAT_LPORT_TRIES } from './constants.js';
import type { ConnTable } from './conn/table.js';
import type { Dest } from './dest.js';
import type { Service } from './service.js';

/** A chosen pair: `laddr` holds the address as 32-bit words (1 for IPv4, 4 for IPv6). */
export interface LocalAddr {
  readonly laddr: Uint32Array;
  lport: number;
}

const LPORT_SPAN = FULLNAT_LPORT_MAX - FULLNAT_LPORT_MIN + 1;

/**
 * One director's cursors over its services' local addresses: addresses in turn, ports from a
 * moving cursor (DPVS's laddr_select and its port walk). alloc() returns the same object each
 * time (no allocation per conn); it is valid until the next call.
 */
export class LaddrAllocator {
  private readonly out: LocalAddr = { laddr: new Uint32Array(4), lport: 0 };
  private readonly rip = new Uint32Array(4);
  private addrCursor = 0;
  private portCursor = 0;

  /** The pair for a new conn of `dest` on `dport` in table `t`, or null when every pair is taken. */
  alloc(t: ConnTable, proto: number, svc: Service, dest: Dest, dport: number): LocalAddr | null {
    const w = t.w;
    const rip = this.rip;
    const laddr = this.out.laddr;
    for (let k = 0; k < w; k++) rip[k] = dest.addr.word(k);
    const n = svc.laddrs.length;
    for (let a = 0; a < n; a++) {
      const la = svc.laddrs[(this.addrCursor + a) % n]!;
      if (la.af !== dest.af) continue;
      for (let k = 0; k < w; k++) laddr[k] = la.word(k);
      for (let tries = 0; tries < FULLNAT_LPORT_TRIES; tries++) {
        const port = FULLNAT_LPORT_MIN + (this.portCursor++ % LPORT_SPAN);
        if (t.lookupOut(proto, rip, 0, dport, laddr, 0, port) < 0) {
          this.out.lport = port;
          this.addrCursor = (this.addrCursor + a + 1) % n;
          return this.out;
        }
      }
    }
    return null;
  }
}
