// Fuzzer of VRRP's receive path (issue #16, "Hostile input"): VRRPv2/v3 adverts from the real
// encoder, over IPv4 (whole raw reads, IP header included) and IPv6, with mutated version,
// type, VRID, priority, address count, auth type and data, interval, checksum, IP lengths and
// TTL, plus random bytes, through rx.ts (rxIpv4, judgeAdvert) into the state machines of four
// instances (v2 PASS, v2 none, v3 IPv4, v3 IPv6) whose timers also run. Invariants: no
// exception; a refused packet has a named reason and leaves its instance's machine exactly as
// it was; every machine stays in a valid state (its deadlines set as its state requires).

import { Addr } from '../../../src/core/inet.js';
import type { VrrpInstanceConfig } from '../../../src/ha/vrrp/config.js';
import { type FsmAction, VrrpFsm } from '../../../src/ha/vrrp/fsm.js';
import { AUTH_NONE, AUTH_PASS, encodeAdvert, passAuthData, VRRP_DROP_REASONS } from '../../../src/ha/vrrp/packet.js';
import { judgeAdvert, type RxConfig, type RxPacket, rxIpv4 } from '../../../src/ha/vrrp/rx.js';
import { checksum, write16 } from '../../../src/wire/csum.js';
import { FuzzFailure, mutateBytes, Rng } from './rng.js';

interface Inst {
  vrid: number;
  family: 4 | 6;
  cfg: RxConfig;
  fsm: VrrpFsm;
  my: Uint8Array;
}

const b4 = (s: string) => Addr.parse(s)!.toBytes();
const MCAST4 = b4('224.0.0.18');
const MCAST6 = b4('ff02::12');
const PEERS4 = ['10.0.0.2', '10.0.0.3', '10.0.0.1'].map(b4);
const PEERS6 = ['fe80::2', 'fe80::3', 'fe80::1'].map(b4);
const STATES = new Set(['INIT', 'BACKUP', 'MASTER', 'FAULT']);

function instance(vrid: number, family: 4 | 6, version: 2 | 3, authPass: string | null, priority: number): Inst {
  const my = family === 4 ? b4('10.0.0.1') : b4('fe80::1');
  const cfg: RxConfig = { version, authPass, intervalCs: 100, unicastPeers: [] as VrrpInstanceConfig['unicastPeers'] };
  const fsm = new VrrpFsm({ version, priority, intervalCs: 100, initialMaster: false, preempt: true, preemptDelayMs: 0, myAddr: my });
  return { vrid, family, cfg, fsm, my };
}

function snapshot(f: VrrpFsm): string {
  return JSON.stringify([f.state, f.effectivePriority, f.masterAdverIntCs, f.masterAddr && [...f.masterAddr], f.adverAt, f.masterDownAt]);
}

function invalid(f: VrrpFsm): string | null {
  if (!STATES.has(f.state)) return `state ${f.state}`;
  if (!(f.masterAdverIntCs >= 1 && f.masterAdverIntCs <= 4095)) return `master advert interval ${f.masterAdverIntCs}`;
  if (f.state === 'MASTER' && (f.adverAt === null || !Number.isFinite(f.adverAt) || f.masterDownAt !== null))
    return 'MASTER without its advert timer';
  if (f.state === 'BACKUP' && (f.masterDownAt === null || !Number.isFinite(f.masterDownAt) || f.adverAt !== null))
    return 'BACKUP without its down timer';
  if (f.state === 'FAULT' && (f.adverAt !== null || f.masterDownAt !== null)) return 'FAULT with a timer';
  return null;
}

export interface VrrpFuzzResult {
  packets: number;
  taken: number;
  drops: Record<string, number>;
  transitions: number;
  states: Record<string, string>;
}

export async function runVrrpFuzz(count: number, seed = 1): Promise<VrrpFuzzResult> {
  const r = new Rng(seed);
  const insts = [
    instance(51, 4, 2, 'secret12', 100),
    instance(52, 4, 2, null, 150),
    instance(53, 4, 3, null, 100),
    instance(54, 6, 3, null, 100),
  ];
  let now = 0;
  const out: FsmAction[] = [];
  for (const i of insts) i.fsm.start(now, out);
  const drops: Record<string, number> = {};
  const drop = (why: string) => (drops[why] = (drops[why] ?? 0) + 1);
  let taken = 0;
  let transitions = 0;

  const advert = (inst: Inst, family: 4 | 6): { msg: Uint8Array; src: Uint8Array; dst: Uint8Array } => {
    const version = family === 6 ? 3 : r.chance(0.8) ? inst.cfg.version : r.pick([2, 3] as const);
    const src = r.pick(family === 4 ? PEERS4 : PEERS6);
    const dst = r.chance(0.9) ? (family === 4 ? MCAST4 : MCAST6) : src;
    const n = r.chance(0.9) ? 1 + r.int(3) : r.int(20);
    const pass = inst.cfg.authPass;
    const msg = encodeAdvert(
      {
        version,
        vrid: r.chance(0.95) ? inst.vrid : r.edge(8),
        priority: r.chance(0.8) ? r.pick([100, 150, 200, 50, 0, 255, 254, 1]) : r.edge(8),
        intervalCs: r.chance(0.9) ? 100 : version === 2 ? 100 * r.int(256) : r.edge(12),
        addrs: Array.from({ length: n }, () => r.bytes(family === 4 ? 4 : 16)),
        authType: version === 3 ? AUTH_NONE : r.chance(0.9) ? (pass !== null ? AUTH_PASS : AUTH_NONE) : r.edge(8),
        authData: pass !== null && r.chance(0.9) ? passAuthData(pass) : r.bytes(8),
      },
      { family, src, dst, v3ChecksumAsV2: r.chance(0.2) },
    );
    let m = msg;
    switch (r.int(8)) {
      case 0:
        m[0] = r.chance(0.5) ? (r.edge(4) << 4) | 1 : (m[0]! & 0xf0) | r.edge(4); // version or type
        break;
      case 1:
        m[3] = r.edge(8); // count
        break;
      case 2:
        write16(m, 6, r.edge(16)); // checksum
        break;
      case 3:
        m = mutateBytes(r, m, 0);
        break;
      default:
        break;
    }
    // Often a right checksum again over what changed (v2's covers the message alone).
    if (m !== msg || r.chance(0.5)) {
      if (m.length >= 8 && m[0]! >> 4 === 2 && r.chance(0.6)) {
        write16(m, 6, 0);
        write16(m, 6, checksum(m, 0, m.length));
      }
    }
    return { msg: m, src, dst };
  };

  /** An IPv4 raw read: header, then the message; lengths, protocol and TTL sometimes wrong. */
  const ipv4 = (msg: Uint8Array, src: Uint8Array, dst: Uint8Array): Uint8Array => {
    const ihl = r.chance(0.9) ? 20 : 4 * r.int(16);
    const p = new Uint8Array(Math.max(ihl, 20) + msg.length);
    p[0] = r.chance(0.95) ? 0x40 | (ihl >> 2) : r.edge(8);
    write16(p, 2, r.chance(0.9) ? p.length : r.edge(16));
    p[8] = r.chance(0.9) ? 255 : r.edge(8);
    p[9] = r.chance(0.95) ? 112 : r.edge(8);
    p.set(src, 12);
    p.set(dst, 16);
    p.set(msg, Math.max(ihl, 20));
    return r.chance(0.05) ? p.slice(0, r.int(p.length)) : p;
  };

  let shown: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < count; i++) {
    now += r.int(300);
    const target = r.pick(insts);
    let pkt: RxPacket | string;
    if (target.family === 4) {
      const raw = r.chance(0.1)
        ? r.bytes(r.int(80))
        : (() => {
            const a = advert(target, 4);
            return ipv4(a.msg, a.src, a.dst);
          })();
      shown = raw;
      pkt = rxIpv4(raw);
    } else {
      const a = r.chance(0.1) ? { msg: r.bytes(r.int(80)), src: r.pick(PEERS6), dst: MCAST6 } : advert(target, 6);
      shown = a.msg;
      pkt = { src: a.src, dst: a.dst, ttl: r.chance(0.9) ? 255 : r.edge(8), msg: a.msg };
    }
    const before = insts.map((x) => snapshot(x.fsm)).join();
    let refused = true;
    try {
      if (typeof pkt === 'string') drop(pkt);
      else {
        // As Vrrp.received: the instance of this VRID on the packet's link, else unknown_vrid.
        const fam = target.family;
        const inst = insts.find((x) => x.family === fam && x.vrid === pkt.msg[1]);
        if (!inst) drop('unknown_vrid');
        else {
          const v = judgeAdvert(inst.cfg, fam, pkt);
          if (!v.ok) drop(v.drop);
          else {
            taken++;
            refused = false;
            inst.fsm.advert(now, { priority: v.advert.priority, intervalCs: v.advert.intervalCs, src: pkt.src }, out);
          }
        }
      }
      if (refused && insts.map((x) => snapshot(x.fsm)).join() !== before)
        throw new FuzzFailure('vrrp', seed, i, 'a refused packet changed a state machine', shown);
      if (r.chance(0.3)) for (const x of insts) if ((x.fsm.nextDeadline() ?? Infinity) <= now) x.fsm.tick(now, out);
      if (r.chance(0.001)) for (const x of insts) x.fsm.setFault(now, 'interface eth0', r.chance(0.5), out);
    } catch (e) {
      if (e instanceof FuzzFailure) throw e;
      throw new FuzzFailure('vrrp', seed, i, `threw: ${(e as Error).stack}`, shown);
    }
    const dropsNow = Object.values(drops).reduce((a, b) => a + b, 0);
    if (dropsNow + taken !== i + 1) throw new FuzzFailure('vrrp', seed, i, 'a packet was neither taken nor counted', shown);
    for (const x of insts) {
      const bad = invalid(x.fsm);
      if (bad) throw new FuzzFailure('vrrp', seed, i, `VRID ${x.vrid}: ${bad}`, shown);
    }
    transitions += out.filter((a) => a.kind === 'transition').length;
    out.length = 0;
  }
  const named = [...VRRP_DROP_REASONS, 'unknown_vrid', 'version_mismatch', 'auth_mismatch', 'interval_mismatch'] as string[];
  for (const k of Object.keys(drops)) if (!named.includes(k)) throw new Error(`vrrp fuzz: a drop without a known name: ${k}`);
  return { packets: count, taken, drops, transitions, states: Object.fromEntries(insts.map((x) => [x.vrid, x.fsm.state])) };
}
