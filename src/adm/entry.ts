// One parsed command line (ipvsadm's struct ipvs_command_entry plus its option bits and print
// format), the process-exit signal and the output streams. Spec: docs/spec/ipvsadm.md §1, §3.

import { AF_INET, IP_VS_CONN_F_DROUTE, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM } from '../core/constants.js';
import type { DestSpec } from '../core/dest.js';
import { Addr } from '../core/inet.js';
import { type Command, NUMBER_OF_OPT, type OptBit } from './options.js';

// Print format flags (FMT_*).
export const FMT_NUMERIC = 0x0001;
export const FMT_RULE = 0x0002;
export const FMT_STATS = 0x0004;
export const FMT_RATE = 0x0008;
export const FMT_THRESHOLDS = 0x0010;
export const FMT_PERSISTENTCONN = 0x0020;
export const FMT_NOSORT = 0x0040;
export const FMT_EXACT = 0x0080;
export const FMT_TUN_INFO = 0x0100;
/** tsvs extension: `-c` shows each FULLNAT conn's local address and port. */
export const FMT_LADDR_INFO = 0x10000;

/** Virtual-service fields; af 0 until a service option sets it. */
export interface SvcEntry {
  af: number;
  protocol: number;
  addr: Addr;
  port: number;
  fwmark: number;
  schedName: string;
  flags: number;
  timeout: number;
  /** IPv4: host-order mask; IPv6: prefix length. */
  netmask: number;
  peName: string;
  /** tsvs extension: FULLNAT local addresses (`--laddr`). */
  laddrs: Addr[];
}

/** A real server as `-a`/`-e`/`-d` give it: the core's DestSpec plus the family parsed. */
export interface DestEntry extends DestSpec {
  af: number;
}

export interface DaemonEntry {
  state: 'master' | 'backup';
  ifname: string;
  syncid: number;
  /** 0: let the kernel choose. */
  maxlen: number;
  /** null: the kernel's default group. */
  group: Addr | null;
  port: number;
  ttl: number;
}

export class CommandEntry {
  cmd: Command | null = null;
  readonly opts = new Uint8Array(NUMBER_OF_OPT);
  format = 0;
  readonly svc: SvcEntry = {
    af: 0,
    protocol: 0,
    addr: Addr.v4(0),
    port: 0,
    fwmark: 0,
    schedName: '',
    flags: 0,
    timeout: 0,
    netmask: 0xffffffff,
    peName: '',
    laddrs: [],
  };
  readonly dest: DestEntry = {
    af: 0,
    addr: Addr.v4(0),
    port: 0,
    fwd: IP_VS_CONN_F_DROUTE,
    weight: 1,
    uThreshold: 0,
    lThreshold: 0,
    tunType: 0,
    tunPort: 0,
    tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
    proxyProtocol: 0,
  };
  readonly timeouts = { tcp: 0, tcpfin: 0, udp: 0 };
  readonly daemon: DaemonEntry = {
    state: 'master',
    ifname: '',
    syncid: 0,
    maxlen: 0,
    group: null,
    port: 0,
    ttl: 0,
  };
  /** The -b value, parsed once the scheduler is known. */
  schedFlagsArg: string | null = null;

  has(bit: OptBit): boolean {
    return this.opts[bit] === 1;
  }

  /** The service's family for -M parsing: IPv6 only once an IPv6 service was seen. */
  get isV6(): boolean {
    return this.svc.af !== 0 && this.svc.af !== AF_INET;
  }
}

/** exit(code): ends the invocation (and a whole -R run). */
export class AdmExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'AdmExit';
  }
}

/** Where a long listing's stdout goes as it is made (the daemon's control socket); resolves when it may go on. */
export type AdmSink = (part: string) => Promise<void>;

/** What the invocation printed. */
export class AdmIo {
  stdout = '';
  stderr = '';
  /** With a sink, flush() hands it the stdout so far; without one, stdout is kept whole. */
  sink: AdmSink | null = null;

  out(s: string): void {
    this.stdout += s;
  }

  err(s: string): void {
    this.stderr += s;
  }

  /**
   * Between two pieces of a long listing: the stdout so far goes to the sink, if any, and the
   * event loop gets a turn either way, so that a director listing millions of conns keeps
   * forwarding, answering and timing out conns meanwhile.
   */
  async flush(): Promise<void> {
    if (this.sink !== null && this.stdout.length > 0) {
      const part = this.stdout;
      this.stdout = '';
      await this.sink(part);
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** ipvsadm's fail(): message, newline, exit. */
  fail(code: number, msg: string): never {
    this.stderr += `${msg}\n`;
    throw new AdmExit(code);
  }
}
