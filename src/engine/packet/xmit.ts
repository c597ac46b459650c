// The transmit functions, one short function per forwarding method and family, chosen by the
// conn's own forwarding bits as the kernel's ip_vs_bind_xmit() chooses cp->packet_xmit: the
// bits are set once when the conn is made, so the table lookup is that binding. In the in
// direction (client → real server) each function routes, checks the MTU, rewrites and
// transmits; in the out direction (real server → client) masq and FULLNAT translate back.
// A function returns true when the frame was sent or queued for its next hop; every other
// outcome was counted under a drop reason where it happened.

import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
} from '../../core/constants.js';
import type { Dest } from '../../core/dest.js';
import { type Ipvs, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_NO_DEST, VERDICT_NO_LPORT } from '../../core/ipvs.js';
import { DROP } from '../../wire/drops.js';
import { type Frame, IPPROTO_TCP } from '../../wire/frame.js';
import { dnat, dnat6, snat, snat6 } from '../../xmit/nat.js';
import { fixReply } from '../../xmit/proxy-insert.js';
import type { Forwarder } from './forward.js';

/** Transmits `f` for conn `ref`; true when sent or queued. */
export type Xmit = (fw: Forwarder, f: Frame, ref: number) => boolean;

// --- in: client → real server ---------------------------------------------------------------

const masqIn4: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const daddr = ipvs.conn4Daddr(ref);
  const nh = fw.hop(daddr, false);
  if (!nh || fw.tooBig(f, fw.mtuOf(nh), f.daddr)) return false;
  dnat(f, daddr, ipvs.connDport(ref));
  return fw.send(f, nh);
};

const drIn4: Xmit = (fw, f, ref) => {
  const nh = fw.hop(fw.ipvs.conn4Daddr(ref), true);
  if (!nh || fw.tooBig(f, fw.mtuOf(nh), f.daddr)) return false;
  return fw.send(f, nh);
};

const fullnatIn4: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const daddr = ipvs.conn4Daddr(ref);
  const nh = fw.hop(daddr, false);
  if (!nh || fw.tooBig(f, fw.mtuOf(nh), f.daddr)) return false;
  snat(f, ipvs.conn4Laddr(ref), ipvs.connLport(ref));
  dnat(f, daddr, ipvs.connDport(ref));
  if (f.proto === IPPROTO_TCP && fw.proxyIn(f, ref, nh)) return true;
  return fw.send(f, nh);
};

/** Both families: the outer header is of the real server's family, whatever the inner one's. */
const tunIn: Xmit = (fw, f, ref) => fw.tunnel(f, fw.ipvs.connDest(ref));

const masqIn6: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const v6 = fw.v6;
  const daddr = ipvs.connAddr6(ref, 2, v6.d);
  const nh = v6.hop(daddr, false);
  if (!nh || v6.tooBig(f, fw.mtuOf(nh), f.daddr6)) return false;
  dnat6(f, daddr, ipvs.connDport(ref));
  return fw.send(f, nh);
};

const drIn6: Xmit = (fw, f, ref) => {
  const v6 = fw.v6;
  const nh = v6.hop(fw.ipvs.connAddr6(ref, 2, v6.d), true);
  if (!nh || v6.tooBig(f, fw.mtuOf(nh), f.daddr6)) return false;
  return fw.send(f, nh);
};

const fullnatIn6: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const v6 = fw.v6;
  const daddr = ipvs.connAddr6(ref, 2, v6.d);
  const nh = v6.hop(daddr, false);
  if (!nh || v6.tooBig(f, fw.mtuOf(nh), f.daddr6)) return false;
  snat6(f, ipvs.connAddr6(ref, 3, v6.l), ipvs.connLport(ref));
  dnat6(f, daddr, ipvs.connDport(ref));
  if (f.proto === IPPROTO_TCP && fw.proxyIn(f, ref, nh)) return true;
  return fw.send(f, nh);
};

// --- out: real server → client (masq and FULLNAT only) --------------------------------------

const masqOut4: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const nh = fw.hop(f.daddr, false);
  if (!nh || fw.tooBig(f, fw.mtuOf(nh), fw.rxIface().sourceFor(f.saddr))) return false;
  snat(f, ipvs.conn4Vaddr(ref), ipvs.connVport(ref));
  return fw.send(f, nh);
};

const fullnatOut4: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  // The reply goes to the local address: the client is in the conn, not the frame.
  const client = ipvs.conn4Caddr(ref);
  const nh = fw.hop(client, false);
  if (!nh || fw.tooBig(f, fw.mtuOf(nh), fw.rxIface().sourceFor(f.saddr))) return false;
  snat(f, ipvs.conn4Vaddr(ref), ipvs.connVport(ref));
  dnat(f, client, ipvs.connCport(ref));
  const pp = f.proto === IPPROTO_TCP && fw.pp.size > 0 ? fw.pp.get(ref) : undefined;
  if (pp) fixReply(f, pp);
  return fw.send(f, nh);
};

const masqOut6: Xmit = (fw, f, ref) => {
  const v6 = fw.v6;
  const nh = v6.hop(f.daddr6, false);
  const src = fw.rxIface().sourceFor6(f.saddr6);
  if (!nh || (src && v6.tooBig(f, fw.mtuOf(nh), src))) return false;
  snat6(f, fw.ipvs.connAddr6(ref, 1, v6.v), fw.ipvs.connVport(ref));
  return fw.send(f, nh);
};

const fullnatOut6: Xmit = (fw, f, ref) => {
  const ipvs = fw.ipvs;
  const v6 = fw.v6;
  const client = ipvs.connAddr6(ref, 0, v6.c);
  const nh = v6.hop(client, false);
  const src = fw.rxIface().sourceFor6(f.saddr6);
  if (!nh || (src && v6.tooBig(f, fw.mtuOf(nh), src))) return false;
  snat6(f, ipvs.connAddr6(ref, 1, v6.v), ipvs.connVport(ref));
  dnat6(f, client, ipvs.connCport(ref));
  const pp = f.proto === IPPROTO_TCP && fw.pp.size > 0 ? fw.pp.get(ref) : undefined;
  if (pp) fixReply(f, pp);
  return fw.send(f, nh);
};

/** Indexed by the conn's forwarding bits (IP_VS_CONN_F_FWD_MASK); null: not served here. */
function table(masq: Xmit | null, tun: Xmit | null, dr: Xmit | null, fullnat: Xmit | null): readonly (Xmit | null)[] {
  const t: (Xmit | null)[] = new Array<Xmit | null>(IP_VS_CONN_F_FWD_MASK + 1).fill(null);
  t[IP_VS_CONN_F_MASQ] = masq;
  t[IP_VS_CONN_F_TUNNEL] = tun;
  t[IP_VS_CONN_F_DROUTE] = dr;
  t[IP_VS_CONN_F_FULLNAT] = fullnat;
  return t;
}

export const XMIT_IN4 = table(masqIn4, tunIn, drIn4, fullnatIn4);
export const XMIT_IN6 = table(masqIn6, tunIn, drIn6, fullnatIn6);
export const XMIT_OUT4 = table(masqOut4, null, null, fullnatOut4);
export const XMIT_OUT6 = table(masqOut6, null, null, fullnatOut6);

/** A FULLNAT dest can be served: its service has local addresses (--laddr) for its conns. */
export function hasLocalAddrs(d: Dest | undefined): boolean {
  return d !== undefined && d.svc.laddrs.length > 0;
}

/**
 * The in-direction function for conn `ref`, or null when this engine cannot forward it (counted
 * by the caller as fwd_unsupported): FULLNAT without local addresses, an IPv6 conn to an IPv4
 * dest by anything but a tunnel, LOCALNODE and BYPASS.
 */
export function bindIn(ipvs: Ipvs, ref: number, v6: boolean): Xmit | null {
  const fwd = ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK;
  if (fwd === IP_VS_CONN_F_FULLNAT && !hasLocalAddrs(ipvs.connDest(ref))) return null;
  if (!v6) return XMIT_IN4[fwd] ?? null;
  const d = ipvs.connDest(ref);
  if (!d || (!d.addr.isV6 && fwd !== IP_VS_CONN_F_TUNNEL)) return null;
  return XMIT_IN6[fwd] ?? null;
}

/** The out-direction function for conn `ref` (-1: none), or null: the reply is no conn of ours. */
export function bindOut(ipvs: Ipvs, ref: number, v6: boolean): Xmit | null {
  if (ref < 0) return null;
  return (v6 ? XMIT_OUT6 : XMIT_OUT4)[ipvs.connFlags(ref) & IP_VS_CONN_F_FWD_MASK] ?? null;
}

/**
 * The drop reason for each of the core's verdicts that is not a conn, both families. ACCEPT
 * means "not IPVS's" to the kernel, which then delivers locally; here the kernel filter took the
 * frame, so a frame to VIP:port that matches no conn and starts none is lost: counted.
 */
const VERDICT_REASON: number[] = [];
VERDICT_REASON[-VERDICT_ACCEPT] = DROP.in_no_conn;
VERDICT_REASON[-VERDICT_DROP] = DROP.conn_dropped;
VERDICT_REASON[-VERDICT_NO_DEST] = DROP.no_dest;
VERDICT_REASON[-VERDICT_NO_LPORT] = DROP.no_lport;

export function verdictDrop(verdict: number): number {
  return VERDICT_REASON[-verdict] ?? DROP.conn_dropped;
}
