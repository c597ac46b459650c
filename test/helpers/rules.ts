// Builders for core tests: a Rules instance with the real scheduler registry, and specs with
// ipvsadm's defaults so that a test states only what it cares about.

import { AF_INET, type FwdMethod, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../src/core/constants.js';
import { type DestSpec, defaultDestSpec } from '../../src/core/dest.js';
import { Addr } from '../../src/core/inet.js';
import { Rules } from '../../src/core/rules.js';
import { lookupScheduler } from '../../src/core/sched/registry.js';
import type { SchedEnv, SchedPacket } from '../../src/core/sched/types.js';
import type { ServiceSpec } from '../../src/core/service.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export function makeEnv(random32: () => number = () => 0): SchedEnv {
  return { random32, lblcExpiration: DAY_MS, lblcrExpiration: DAY_MS };
}

export function makeRules(env: SchedEnv = makeEnv()): Rules {
  return new Rules(lookupScheduler, env);
}

export function addr(s: string): Addr {
  const a = Addr.parse(s);
  if (!a) throw new Error(`bad address in test: ${s}`);
  return a;
}

/** A TCP service spec with ipvsadm defaults (wlc unless given). */
export function svcSpec(vip: string, port: number, over: Partial<ServiceSpec> = {}): ServiceSpec {
  const a = addr(vip);
  return {
    af: a.af,
    protocol: IPPROTO_TCP,
    addr: a,
    port,
    fwmark: 0,
    schedName: 'wlc',
    flags: 0,
    timeout: 0,
    netmask: a.af === AF_INET ? 0xffffffff : 128,
    peName: '',
    ...over,
  };
}

export function destSpec(
  rip: string,
  port: number,
  weight = 1,
  fwd: FwdMethod = IP_VS_CONN_F_MASQ,
  over: Partial<DestSpec> = {},
): DestSpec {
  return { ...defaultDestSpec(addr(rip), port), fwd, weight, ...over };
}

export const DR: FwdMethod = IP_VS_CONN_F_DROUTE;

/** A packet from client:cport to vip:vport. */
export function packet(client: string, cport: number, vip: string, vport: number): SchedPacket {
  const s = addr(client);
  return {
    af: s.af,
    protocol: IPPROTO_TCP,
    saddr: s,
    sport: cport,
    daddr: addr(vip),
    dport: vport,
    inverse: false,
  };
}
