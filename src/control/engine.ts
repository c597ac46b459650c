// What the daemon needs from a data plane. The control plane answers as the kernel would
// whatever the engine can serve; what an engine cannot serve shows up in status().

import { createRequire } from 'node:module';
import type { Ipvs } from '../core/ipvs.js';
import { formatAddrPort } from '../core/inet.js';
import type { Service } from '../core/service.js';
import { type Logger, stderrLogger } from './log.js';

export interface UnservedRule {
  /** The rule as `ipvsadm -S -n` would write it. */
  rule: string;
  reason: string;
}

export interface EngineStatus {
  engine: 'packet' | 'proxy';
  /** Interfaces (packet) or listening addresses (proxy) in use. */
  interfaces: string[];
  unserved: UnservedRule[];
  /** Drop counters by reason. */
  drops: Record<string, number>;
  /** Free-form notes for the operator (one line each). */
  notes?: string[];
  /** Set when the engine asked for could not be loaded: why, and what to do. */
  loadError?: string;
  /**
   * Monotonic data-plane counters by snake_case name, exported as tsvs_engine_<name>_total
   * (e.g. received_frames). Optional: an engine without any leaves it out.
   */
  counters?: Record<string, number>;
}

export interface Engine {
  readonly name: 'packet' | 'proxy';
  /** `clock` is the daemon's: milliseconds, the `now` every core call takes. */
  start(ipvs: Ipvs, clock: () => number): Promise<void>;
  stop(): Promise<void>;
  status(): EngineStatus;
  /** Resolves once the data plane follows the latest rule change (e.g. kernel filters). */
  settle?(): Promise<void>;
  /** VIPs that VRRP owns (protocol.ts VrrpVipsRequest): never announced by the engine. */
  setVrrpVips?(addrs: string[]): void;
}

export type EngineName = Engine['name'];

/**
 * Stands in for an engine that could not be loaded: rules are accepted and listed, and
 * status() says plainly that nothing is forwarded and why. Never another engine in its place:
 * an operator who asked for the packet engine must not get a proxy without being told.
 */
export class NullEngine implements Engine {
  private ipvs: Ipvs | null = null;

  constructor(
    readonly name: EngineName,
    private readonly reason: string,
    private readonly log: Logger = stderrLogger,
  ) {}

  async start(ipvs: Ipvs): Promise<void> {
    this.ipvs = ipvs;
    // Once per change, as the real engines do: what is not served, and why.
    ipvs.rules.listeners.push({
      serviceAdded: (svc) => this.log(`${this.name} engine: ${label(svc)} not served: ${this.reason}`),
    });
  }

  async stop(): Promise<void> {
    this.ipvs = null;
  }

  status(): EngineStatus {
    const unserved: UnservedRule[] = [];
    for (const svc of this.ipvs?.rules.services() ?? []) {
      unserved.push({ rule: `-A ${label(svc)}`, reason: this.reason });
    }
    return { engine: this.name, interfaces: [], unserved, drops: {}, loadError: this.reason };
  }
}

type Module = Record<string, unknown>;

/**
 * Where each engine's code is, and its factory. The import specifiers are literal so that the
 * bundler (scripts/bundle.mjs) can follow them and still load each engine only when chosen.
 */
const ENGINE_MODULES: Record<EngineName, { name: string; load: () => Promise<Module>; factory: string }> = {
  packet: { name: 'engine/packet/index.js', load: () => import('../engine/packet/index.js'), factory: 'createPacketEngine' },
  proxy: { name: 'engine/proxy/index.js', load: () => import('../engine/proxy/index.js'), factory: 'createProxyEngine' },
};

/** The native binding through which the engines make their system calls. */
const NATIVE_MODULE = 'koffi';

export interface LoadedEngine {
  engine: Engine;
  /** What the operator must know about how it was loaded (for status notes). */
  notes: string[];
}

/** Overrides for tests: an engine module or a native module that does not resolve. */
export interface EngineSources {
  module?: URL;
  native?: string;
}

/** Why the native binding cannot be used here, or null when it can (Linux only). */
export function nativeProblem(native = NATIVE_MODULE): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const m = createRequire(import.meta.url)(native) as { load(name: string): unknown };
    m.load('libc.so.6');
    return null;
  } catch (e) {
    return `${native} cannot be loaded (${firstLine(e)}): run "npm ci" in the tsvs checkout`;
  }
}

/**
 * Loads the engine asked for. A load failure (a partial build, a missing module, koffi missing
 * for the packet engine) gives a NullEngine of that name whose status says why, and a log
 * line; it never gives another engine. The proxy engine runs without koffi (Node's sockets,
 * as on other systems); on Linux that is said in a note.
 */
export async function loadEngine(name: EngineName, log: Logger = stderrLogger, src: EngineSources = {}): Promise<LoadedEngine> {
  const { name: where, load, factory } = ENGINE_MODULES[name];
  const failed = (why: string): LoadedEngine => {
    const reason = `the ${name} engine failed to load: ${why}; rules are kept but no traffic is forwarded`;
    log(reason);
    return { engine: new NullEngine(name, reason, log), notes: [] };
  };
  const native = nativeProblem(src.native);
  if (native && name === 'packet') return failed(native);
  let m: Module;
  try {
    m = src.module ? ((await import(src.module.href)) as Module) : await load();
  } catch (e) {
    const code = (e as { code?: string }).code;
    const hint = code === 'ERR_MODULE_NOT_FOUND' ? 'the build is incomplete: run "npm run build"' : 'run "npm run build"';
    return failed(`${firstLine(e)} (${hint})`);
  }
  const make = m[factory];
  if (typeof make !== 'function')
    return failed(`${src.module?.pathname ?? where} has no ${factory} (a build of another version: run "npm run build")`);
  const notes: string[] = [];
  if (native) {
    const note = `${native}; the proxy workers use Node's sockets instead of epoll`;
    log(`proxy engine: ${note}`);
    notes.push(note);
  }
  return { engine: (make as (l: Logger) => Engine)(log), notes };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** A service as `ipvsadm -S -n` names it. */
export function label(svc: Service): string {
  if (svc.fwmark) return `-f ${svc.fwmark}${svc.isIpv4 ? '' : ' -6'}`;
  const opt = svc.protocol === 17 ? '-u' : svc.protocol === 132 ? '--sctp-service' : '-t';
  return `${opt} ${formatAddrPort(svc.addr, svc.port)}`;
}
