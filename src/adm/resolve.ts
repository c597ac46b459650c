// Name lookups tsvsadm needs, behind one injectable interface: host names (gethostbyname, IPv4
// only, first address), reverse lookups for listings (gethostbyaddr), port names by protocol
// (/etc/services) and network interfaces (the kernel's ENODEV check for sync daemons).
// Spec: docs/spec/ipvsadm.md §4.1, §4.9, §7.1. The system resolver does I/O; tests use staticResolver.

import { readFile } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Addr } from '../core/inet.js';
import { inetPton4 } from './inet.js';
import { type ServProto, ServicesTable } from './services-file.js';

export type { ServProto } from './services-file.js';

export interface Resolver {
  /** gethostbyname: the first IPv4 address (host order), or null when there is none. */
  hostByName(name: string): Promise<number | null>;
  /** gethostbyaddr: the host's name, or null (the listing then prints the number). */
  hostByAddr(addr: Addr): Promise<string | null>;
  /** getservbyname(name, proto). */
  portByName(name: string, proto: ServProto): Promise<number | null>;
  /** getservbyport(port, proto): the official name. */
  nameByPort(port: number, proto: ServProto): Promise<string | null>;
  /** MTU of the named interface in this network namespace, or null if there is no such device. */
  interfaceMtu(name: string): Promise<number | null>;
}

export interface SystemResolverOptions {
  servicesPath?: string;
  sysNetPath?: string;
}

// node:dns and node:fs/promises are not imported at load: the daemon holds a resolver for its
// whole life and most runs never look a name up, and each costs a few hundred KB resident.
const readText = (path: string): Promise<string> =>
  new Promise((resolve, reject) => readFile(path, 'utf8', (e, t) => (e ? reject(e) : resolve(t))));
let dnsModule: Promise<typeof import('node:dns').promises> | null = null;
const lookups = () => (dnsModule ??= import('node:dns').then((m) => m.promises));

/** Lookups through the C library (node:dns) and the files of this host. */
export function systemResolver(o: SystemResolverOptions = {}): Resolver {
  const servicesPath = o.servicesPath ?? '/etc/services';
  const sysNet = o.sysNetPath ?? '/sys/class/net';
  let services: Promise<ServicesTable> | null = null;
  const table = (): Promise<ServicesTable> => {
    services ??= readText(servicesPath).then(
      (t) => new ServicesTable(t),
      () => new ServicesTable(''),
    );
    return services;
  };
  return {
    async hostByName(name) {
      if (name === '') return null;
      try {
        const r = await (await lookups()).lookup(name, { family: 4 });
        return r.family === 4 ? inetPton4(r.address) : null;
      } catch {
        return null;
      }
    },
    async hostByAddr(addr) {
      const numeric = addr.toString();
      try {
        const r = await (await lookups()).lookupService(numeric, 0);
        return r.hostname && r.hostname !== numeric ? r.hostname : null;
      } catch {
        return null;
      }
    },
    async portByName(name, proto) {
      return (await table()).portByName(name, proto);
    },
    async nameByPort(port, proto) {
      return (await table()).nameByPort(port, proto);
    },
    async interfaceMtu(name) {
      if (name === '' || name.includes('/') || name === '.' || name === '..') return null;
      try {
        const mtu = Number((await readText(`${sysNet}/${name}/mtu`)).trim());
        return Number.isFinite(mtu) ? mtu : null;
      } catch {
        return networkInterfaces()[name] ? 1500 : null;
      }
    },
  };
}

export interface StaticTables {
  /** name → dotted IPv4 address; the first name of an address is its reverse name. */
  hosts?: Record<string, string>;
  /** /etc/services text. */
  services?: string;
  /** interface name → MTU. */
  interfaces?: Record<string, number>;
}

/** A resolver over fixed tables: deterministic, no I/O (tests, fuzzing). */
export function staticResolver(t: StaticTables): Resolver {
  const forward = new Map<string, number>();
  const reverse = new Map<string, string>();
  for (const [name, a] of Object.entries(t.hosts ?? {})) {
    const n = inetPton4(a);
    if (n === null) continue;
    forward.set(name, n);
    const k = `4:${n}`;
    if (!reverse.has(k)) reverse.set(k, name);
  }
  const services = new ServicesTable(t.services ?? '');
  const ifs = new Map(Object.entries(t.interfaces ?? {}));
  return {
    hostByName: async (name) => forward.get(name) ?? null,
    hostByAddr: async (addr) => reverse.get(addr.key()) ?? null,
    portByName: async (name, proto) => services.portByName(name, proto),
    nameByPort: async (port, proto) => services.nameByPort(port, proto),
    interfaceMtu: async (name) => ifs.get(name) ?? null,
  };
}
