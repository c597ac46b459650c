// The kernel calls of the changing commands (-A -E -D -C -Z -a -e -d --set --start-daemon
// --stop-daemon) against the rule store; a refused call prints libipvs's message and returns -1
// (exit 255). Every check happens before anything changes, so a refused command changes
// nothing. Spec: docs/spec/ipvsadm.md §4, §6.4.

import { AF_INET, AF_INET6, type Af, IP_VS_CONN_F_FWD_MASK } from '../core/constants.js';
import type { DestSpec } from '../core/dest.js';
import { isIpvsError } from '../core/errors.js';
import { Addr } from '../core/inet.js';
import type { Rules } from '../core/rules.js';
import type { ServiceKey, ServiceSpec } from '../core/service.js';
import { startDaemon } from './daemon.js';
import type { AdmIo, CommandEntry } from './entry.js';
import { type KernelOp, kernelMessage } from './messages.js';
import { type Command, OPT } from './options.js';
import type { Resolver } from './resolve.js';

/** The service the command entry names, as the core keys it. */
export function serviceKey(ce: CommandEntry): ServiceKey {
  const s = ce.svc;
  const af: Af = s.af === AF_INET6 ? AF_INET6 : AF_INET;
  if (s.fwmark) return { af, protocol: s.protocol, addr: Addr.any(af), port: 0, fwmark: s.fwmark };
  return { af, protocol: s.protocol, addr: s.addr, port: s.port, fwmark: 0 };
}

function serviceSpec(ce: CommandEntry): ServiceSpec {
  const s = ce.svc;
  return {
    ...serviceKey(ce),
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask,
    peName: s.peName,
    // -E without --laddr keeps the service's local addresses.
    ...(ce.cmd === 'add-service' || ce.has(OPT.laddr) ? { laddrs: s.laddrs } : {}),
  };
}

function destSpec(ce: CommandEntry): DestSpec {
  const d = ce.dest;
  return {
    addr: d.addr,
    port: d.port,
    fwd: d.fwd,
    weight: d.weight,
    uThreshold: d.uThreshold,
    lThreshold: d.lThreshold,
    tunType: d.tunType,
    tunPort: d.tunPort,
    tunFlags: d.tunFlags,
    proxyProtocol: d.proxyProtocol,
  };
}

export interface ExecEnv {
  io: AdmIo;
  rules: Rules;
  now: number;
  resolver: Resolver;
}

/** Runs a changing command; 0 on success, -1 after printing the kernel's refusal. */
export async function execute(ce: CommandEntry, env: ExecEnv): Promise<number> {
  const { rules, now } = env;
  const key = serviceKey(ce);
  const op: KernelOp = KERNEL_OP[ce.cmd!]!;
  try {
    switch (ce.cmd) {
      case 'flush':
        rules.flush(now);
        break;
      case 'add-service':
        rules.addService(serviceSpec(ce), now);
        break;
      case 'edit-service':
        rules.editService(serviceSpec(ce), now);
        break;
      case 'delete-service':
        rules.delService(key, now);
        break;
      case 'zero':
        rules.zero(ce.has(OPT.service) ? key : null);
        break;
      case 'add-server':
        rules.addDest(key, destSpec(ce), now);
        break;
      case 'edit-server':
        rules.editDest(key, destSpec(ce));
        break;
      case 'delete-server':
        rules.delDest(key, ce.dest.addr, ce.dest.port, now);
        break;
      case 'set':
        rules.setTimeouts({ ...ce.timeouts });
        break;
      case 'start-daemon':
        await startDaemon(rules, ce.daemon, env.resolver);
        break;
      case 'stop-daemon':
        rules.stopDaemon(ce.daemon.state);
        break;
      default:
        throw new Error(`tsvsadm: ${ce.cmd} is not a changing command`);
    }
  } catch (e) {
    if (!isIpvsError(e)) throw e;
    env.io.err(`${kernelMessage(op, e.errno)}\n`);
    return -1;
  }
  return 0;
}

const KERNEL_OP: Partial<Record<Command, KernelOp>> = {
  flush: 'flush',
  'add-service': 'add-service',
  'edit-service': 'edit-service',
  'delete-service': 'del-service',
  zero: 'zero',
  'add-server': 'add-dest',
  'edit-server': 'edit-dest',
  'delete-server': 'del-dest',
  set: 'set-timeout',
  'start-daemon': 'start-daemon',
  'stop-daemon': 'stop-daemon',
};

/** The forwarding method bits of a dest entry. */
export function fwdMethod(ce: CommandEntry): number {
  return ce.dest.fwd & IP_VS_CONN_F_FWD_MASK;
}
