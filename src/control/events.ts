// What the daemon logs about its director besides start and stop: every rule change (the
// tsvsadm command line, the caller's uid, the exit code), real-server state changes (added,
// removed, weight, overload), and the drops of each interval as one summary line, never a
// line per packet.

import { IP_VS_DEST_F_OVERLOAD } from '../core/constants.js';
import type { Dest } from '../core/dest.js';
import type { Ipvs } from '../core/ipvs.js';
import type { Service } from '../core/service.js';
import { label } from './engine.js';
import type { Log } from './log.js';
import type { AdmReply } from './protocol.js';

/** One drop summary per minute: often enough to date a problem, rare enough to read. */
export const DROP_SUMMARY_MS = 60_000;
/** Overload (-x threshold) is set by the core as conns come and go; it is looked at this often. */
export const STATE_SWEEP_MS = 5000;

/** tsvsadm options that only read: listing, save, help, version. */
const READ_LONG = new Set(['--list', '--save', '--help', '--version']);

export function isReadOnly(argv: readonly string[]): boolean {
  if (argv.length === 0) return true;
  for (const a of argv) {
    if (READ_LONG.has(a)) return true;
    if (/^-[a-zA-Z]+$/.test(a) && /[LlShV]/.test(a[1]!)) return true;
  }
  return false;
}

function destName(d: Dest): string {
  return d.addr.isV6 ? `[${String(d.addr)}]:${d.port}` : `${String(d.addr)}:${d.port}`;
}

export class DirectorEvents {
  private readonly weights = new Map<Dest, number>();
  private readonly overloaded = new Set<Dest>();
  private lastDrops: Record<string, number> = {};
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly ipvs: Ipvs,
    private readonly log: Log,
    private readonly drops: () => Record<string, number>,
  ) {
    ipvs.rules.listeners.push({
      destAdded: (svc, d) => this.destAdded(svc, d),
      destEdited: (svc, d) => this.destEdited(svc, d),
      destDeleted: (svc, d) => this.destDeleted(svc, d),
      serviceDeleted: (svc) => {
        for (const d of svc.dests) this.forget(d);
      },
    });
  }

  start(): void {
    this.lastDrops = { ...this.drops() };
    const t1 = setInterval(() => this.summariseDrops(), DROP_SUMMARY_MS);
    const t2 = setInterval(() => this.sweep(), STATE_SWEEP_MS);
    t1.unref();
    t2.unref();
    this.timers = [t1, t2];
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.summariseDrops();
  }

  /** After each tsvsadm command the daemon ran. */
  command(argv0: string, argv: readonly string[], uid: number | null, reply: AdmReply): void {
    const command = [argv0, ...argv].join(' ');
    if (isReadOnly(argv)) {
      this.log.debug('tsvsadm', { command, uid, exit: reply.code });
      return;
    }
    if (reply.code === 0) this.log.info(`rule change: ${command}`, { command, uid: uid ?? 'unknown' });
    else {
      this.log.warn(`rule change refused: ${command}`, {
        command,
        uid: uid ?? 'unknown',
        exit: reply.code,
        error: reply.stderr.trim().split('\n')[0] ?? '',
      });
    }
  }

  private destAdded(svc: Service, d: Dest): void {
    this.weights.set(d, d.weight);
    this.log.info(`real server ${destName(d)} added to ${label(svc)}`, {
      service: label(svc),
      dest: destName(d),
      weight: d.weight,
    });
  }

  private destEdited(svc: Service, d: Dest): void {
    const before = this.weights.get(d);
    this.weights.set(d, d.weight);
    if (before === d.weight) return;
    const what = d.weight === 0 ? ' (quiesced: no new conns)' : before === 0 ? ' (takes new conns again)' : '';
    this.log.info(`real server ${destName(d)} of ${label(svc)}: weight ${before ?? '?'} -> ${d.weight}${what}`, {
      service: label(svc),
      dest: destName(d),
      from: before ?? null,
      weight: d.weight,
    });
  }

  private destDeleted(svc: Service, d: Dest): void {
    this.forget(d);
    this.log.info(`real server ${destName(d)} removed from ${label(svc)}`, { service: label(svc), dest: destName(d) });
  }

  private forget(d: Dest): void {
    this.weights.delete(d);
    this.overloaded.delete(d);
  }

  /** Overload transitions (upper threshold -x reached, or back under the lower one). */
  sweep(): void {
    for (const svc of this.ipvs.rules.services()) {
      for (const d of svc.dests) {
        const now = (d.flags & IP_VS_DEST_F_OVERLOAD) !== 0;
        if (now === this.overloaded.has(d)) continue;
        if (now) this.overloaded.add(d);
        else this.overloaded.delete(d);
        this.log.warn(
          now
            ? `real server ${destName(d)} of ${label(svc)} overloaded: ${d.activeConns + d.inactConns} conns reached its upper threshold ${d.uThreshold}; no new conns until below ${d.lThreshold || Math.floor((d.uThreshold * 3) / 4)}`
            : `real server ${destName(d)} of ${label(svc)} takes new conns again (below its lower threshold)`,
          { service: label(svc), dest: destName(d), overloaded: now },
        );
      }
    }
  }

  /** One line with the drops since the last summary, by reason; nothing when none. */
  summariseDrops(): void {
    const cur = this.drops();
    const delta: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of Object.entries(cur)) {
      const d = v - (this.lastDrops[k] ?? 0);
      if (d > 0) {
        delta[k] = d;
        total += d;
      }
    }
    this.lastDrops = { ...cur };
    if (total === 0) return;
    this.log.warn(`${total} packet(s) dropped in the last interval (tsvs status lists all drops)`, { drops: delta });
  }
}
