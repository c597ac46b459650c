// The IPVS sysctls of one namespace (net.ipv4.vs.*), with the kernel's names, defaults, ranges
// and write checks (ip_vs_ctl.c: proc_dointvec, proc_do_defense_mode, proc_do_sync_mode,
// proc_do_sync_ports, proc_do_sync_threshold, the est_nice and sync_retries bounds). Values are
// written as the kernel parses them: integers in base 0 (decimal, 0x hex, 0 octal) separated by
// blanks; a value outside the int range or with trailing garbage is EINVAL and changes nothing.
// Spec: ipvs-kernel.md §2.7, §2.8. Pure: the daemon reads and writes it, the core and engines
// read the values through the Ipvs instance.

/** What acts on a value: the core, the defence (defence.ts), or nothing yet in tsvs. */
export type SysctlUse = 'core' | 'defence' | 'none';

export interface SysctlDef {
  name: string;
  /** Number of integers (sync_threshold has two). */
  count: 1 | 2;
  def: readonly number[];
  /** Null when acceptable, else the errno the kernel returns. */
  check?: (v: readonly number[]) => 'EINVAL' | null;
  use: SysctlUse;
  /** Why nothing acts on it yet (use 'none'). */
  why?: string;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
/** 24 h in seconds: lblc_expiration and lblcr_expiration (jiffies shown as seconds). */
const DAY_S = 24 * 60 * 60;

const defenceMode = (v: readonly number[]) => (v[0]! < 0 || v[0]! > 3 ? 'EINVAL' : null);
const range = (lo: number, hi: number) => (v: readonly number[]) => (v[0]! < lo || v[0]! > hi ? 'EINVAL' : null);
const NO_SYNC_PORTS = 'one sync socket per daemon: the sender and receiver threads of sync_ports are not split';

/** Every net.ipv4.vs sysctl tsvs knows, in the kernel's table order. */
export const SYSCTL_DEFS: readonly SysctlDef[] = [
  { name: 'amemthresh', count: 1, def: [1024], use: 'defence' },
  { name: 'am_droprate', count: 1, def: [10], use: 'defence' },
  { name: 'drop_entry', count: 1, def: [0], check: defenceMode, use: 'defence' },
  { name: 'drop_packet', count: 1, def: [0], check: defenceMode, use: 'defence' },
  { name: 'conntrack', count: 1, def: [0], use: 'none', why: 'tsvs keeps no netfilter conntrack entries' },
  { name: 'secure_tcp', count: 1, def: [0], check: defenceMode, use: 'defence' },
  { name: 'snat_reroute', count: 1, def: [1], use: 'none', why: 'the engines route replies by their own table' },
  { name: 'sync_version', count: 1, def: [1], check: range(0, 1), use: 'core' },
  {
    name: 'sync_ports',
    count: 1,
    def: [1],
    check: (v) => (v[0]! < 1 || (v[0]! & (v[0]! - 1)) !== 0 ? 'EINVAL' : null),
    use: 'none',
    why: NO_SYNC_PORTS,
  },
  { name: 'sync_persist_mode', count: 1, def: [0], use: 'core' },
  {
    name: 'sync_qlen_max',
    count: 1,
    def: [0],
    use: 'none',
    why: 'the master holds at most 4,096 unsent messages (SYNC_QLEN_MAX_DEFAULT in sync/constants.ts)',
  },
  { name: 'sync_sock_size', count: 1, def: [0], use: 'core' },
  { name: 'cache_bypass', count: 1, def: [0], use: 'none', why: 'the engines have no route cache to bypass to' },
  { name: 'expire_nodest_conn', count: 1, def: [0], use: 'core' },
  { name: 'sloppy_tcp', count: 1, def: [0], use: 'core' },
  { name: 'sloppy_sctp', count: 1, def: [0], use: 'core' },
  { name: 'expire_quiescent_template', count: 1, def: [0], use: 'core' },
  {
    name: 'sync_threshold',
    count: 2,
    def: [3, 50],
    check: (v) => (v[0]! < 0 || v[1]! < 0 || (v[0]! >= v[1]! && v[1]! !== 0) ? 'EINVAL' : null),
    use: 'core',
  },
  { name: 'sync_refresh_period', count: 1, def: [0], use: 'core' },
  { name: 'sync_retries', count: 1, def: [0], check: range(0, 3), use: 'core' },
  { name: 'nat_icmp_send', count: 1, def: [0], use: 'none', why: 'the packet engine sends no ICMP for NAT replies without a conn' },
  { name: 'pmtu_disc', count: 1, def: [1], use: 'none', why: 'the packet engine always sends fragmentation-needed' },
  { name: 'backup_only', count: 1, def: [0], use: 'none', why: 'a backup sync daemon does not stop the director function' },
  { name: 'conn_reuse_mode', count: 1, def: [1], use: 'core' },
  { name: 'schedule_icmp', count: 1, def: [0], use: 'none', why: 'ICMP errors are never scheduled' },
  { name: 'ignore_tunneled', count: 1, def: [0], use: 'none', why: 'the packet engine ignores no tunneled packets' },
  { name: 'run_estimation', count: 1, def: [1], use: 'core' },
  { name: 'est_nice', count: 1, def: [0], check: range(-20, 19), use: 'none', why: 'the estimator runs in the daemon’s own thread' },
  { name: 'lblc_expiration', count: 1, def: [DAY_S], use: 'core' },
  { name: 'lblcr_expiration', count: 1, def: [DAY_S], use: 'core' },
];

const BY_NAME = new Map(SYSCTL_DEFS.map((d) => [d.name, d]));

/** The kernel's reading of a written value (proc_get_long, base 0); null is EINVAL. */
export function parseInts(text: string, count: number): number[] | null {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const out: number[] = [];
  for (const w of words.slice(0, count)) {
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(w);
    if (!m) return null;
    const body = m[2]!;
    const mag =
      body.startsWith('0x') || body.startsWith('0X')
        ? parseInt(body, 16)
        : body.startsWith('0')
          ? parseInt(body || '0', 8)
          : parseInt(body, 10);
    const v = m[1] === '-' ? -mag : mag;
    if (v < INT_MIN || v > INT_MAX) return null;
    out.push(v);
  }
  return out;
}

export type SysctlError = 'ENOENT' | 'EINVAL';

/** One namespace's values; listeners hear every accepted write. */
export class SysctlTable {
  private readonly values = new Map<string, number[]>();
  private readonly initial = new Map<string, string>();
  readonly listeners: ((name: string, v: readonly number[]) => void)[] = [];

  /** `overrides`: defaults the kernel computes at boot (sync_qlen_max from memory). */
  constructor(overrides: Record<string, readonly number[]> = {}) {
    for (const d of SYSCTL_DEFS) {
      const v = [...(overrides[d.name] ?? d.def)];
      this.values.set(d.name, v);
      this.initial.set(d.name, v.join('\t'));
    }
  }

  /** Whether `name` still has its boot value. */
  isDefault(name: string): boolean {
    return this.text(name) === this.initial.get(name);
  }

  has(name: string): boolean {
    return BY_NAME.has(name);
  }

  /** The values of `name` (throws for an unknown name: callers check has()). */
  get(name: string): readonly number[] {
    const v = this.values.get(name);
    if (!v) throw new Error(`no sysctl net.ipv4.vs.${name}`);
    return v;
  }

  /** The first value, for the single-integer sysctls. */
  int(name: string): number {
    return this.get(name)[0]!;
  }

  /** The text /proc/sys shows: integers separated by tabs. */
  text(name: string): string {
    return this.get(name).join('\t');
  }

  /**
   * Writes `text` as the kernel does; returns the errno on failure (nothing changes). An empty
   * write changes nothing and succeeds, as proc_dointvec does.
   */
  write(name: string, text: string): SysctlError | null {
    const d = BY_NAME.get(name);
    if (!d) return 'ENOENT';
    const parsed = parseInts(text, d.count);
    if (parsed === null) return 'EINVAL';
    if (parsed.length === 0) return null;
    const next = [...this.get(name)];
    for (let k = 0; k < parsed.length; k++) next[k] = parsed[k]!;
    const err = d.check?.(next) ?? null;
    if (err) return err;
    this.values.set(name, next);
    for (const l of this.listeners) l(name, next);
    return null;
  }

  /** Internal writes (the defence switching modes 1 ↔ 2), without the checks. */
  setInternal(name: string, v: number): void {
    const cur = this.values.get(name);
    if (cur) cur[0] = v;
  }

  /** Names and the reason of every sysctl nothing acts on in tsvs. */
  static unused(): { name: string; why: string }[] {
    return SYSCTL_DEFS.filter((d) => d.use === 'none').map((d) => ({ name: d.name, why: d.why ?? '' }));
  }
}
