// The soak's failed requests, explained: each one is put next to what the soak was doing to the
// lab at the time (a real server killed and taken out, a rule changed) and to the director's
// conn for it, and given one class. Pure: bench/soak.ts feeds it the timeline and the failures.

/** How far around a request a rule change counts as "during" it (the brief's ±1 s). */
export const NEAR_MS = 1000;

/** Something the soak did to the lab, from t0 (asked) to t1 (tsvsadm returned), ms since start. */
export interface SoakEvent {
  t0: number;
  t1: number;
  /** e.g. 'kill web1', '-d web1', '-a web1', '-e web2 -w 3', '-E -s wlc'. */
  what: string;
  /** The real server it acts on ('192.168.0.10:80'), or null for the whole service (-E). */
  dest: string | null;
}

/** A web1 death: killed at kill, out of the rules when the checker's -d returned (removed). */
export interface Death {
  dest: string;
  kill: number;
  removed: number;
}

export interface Failure {
  /** When the client saw it end, and when it started (end - curl's time_total), ms since start. */
  end: number;
  start: number;
  /** 'http /' or 'http /blob/1048576'. */
  kind: string;
  /** curl's exit code, HTTP status and error message. */
  exit: number;
  status: number;
  error: string;
  /** The client's source port, the key of the director's conn. */
  cport: number;
  /** curl's time_connect in ms: 0 when the handshake never completed. */
  connectMs: number;
  bytes: number;
  /** From the director's conn table soon after the failure: dest and state, or null if gone. */
  dest: string | null;
  state: string | null;
  /** The director's drop counters that grew between the lookups around this failure. */
  drops: Record<string, number>;
}

export type FailureClass = 'in flight to a dying RS' | 'sent to an RS during a rule change' | 'other';
export const CLASSES: readonly FailureClass[] = ['in flight to a dying RS', 'sent to an RS during a rule change', 'other'];

export interface Classified extends Failure {
  cls: FailureClass;
  /** What the soak was doing within NEAR_MS of the request, for the log. */
  near: string[];
}

function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 <= b1 && b0 <= a1;
}

/** The kill and the checker's -d are the death's, not a rule change that could explain a failure. */
function isDeath(e: SoakEvent): boolean {
  return e.what.startsWith('kill') || e.what.startsWith('-d');
}

/**
 * Classifies one failure. "Dying RS": the request's life overlaps a death of a real server it
 * went to (or whose dest is unknown) and it started before that server was out of the rules:
 * in flight when it died, or scheduled to it in the checker's delay. "Rule change": a change
 * (not a death's -d) to the dest it went to, or to the whole service, within NEAR_MS of it; a
 * request that went to a dest after its -d returned, and everything else, is "other": the
 * director's to explain.
 */
export function classify(f: Failure, deaths: readonly Death[], events: readonly SoakEvent[]): Classified {
  const near = events.filter((e) => overlaps(f.start - NEAR_MS, f.end + NEAR_MS, e.t0, e.t1)).map((e) => `${e.what}@${e.t0}..${e.t1}`);
  const dying = deaths.some((d) => (f.dest === null || f.dest === d.dest) && overlaps(f.start, f.end, d.kill, d.removed));
  if (dying) return { ...f, cls: 'in flight to a dying RS', near };
  const changed = events.some(
    (e) =>
      !isDeath(e) && (e.dest === null || f.dest === null || e.dest === f.dest) && overlaps(f.start - NEAR_MS, f.end + NEAR_MS, e.t0, e.t1),
  );
  return { ...f, cls: changed ? 'sent to an RS during a rule change' : 'other', near };
}

/** One line of the per-failure log: tab-separated, the header names the columns. */
export const LOG_HEADER = 'end_ms\tstart_ms\tkind\texit\tstatus\terror\tcport\tconnect_ms\tbytes\tdest\tstate\tdrops\tclass\tnear';
export function logLine(c: Classified): string {
  const drops = Object.entries(c.drops)
    .map(([k, v]) => `${k}+${v}`)
    .join(',');
  return [
    c.end,
    c.start,
    c.kind,
    c.exit,
    c.status,
    c.error || '-',
    c.cport,
    c.connectMs,
    c.bytes,
    c.dest ?? '?',
    c.state ?? '?',
    drops || '-',
    c.cls,
    c.near.join(' ') || '-',
  ].join('\t');
}

/** Counts per class, in CLASSES order, every class present (0 included). */
export function summary(all: readonly Classified[]): Map<FailureClass, number> {
  const m = new Map<FailureClass, number>(CLASSES.map((c) => [c, 0]));
  for (const c of all) m.set(c.cls, (m.get(c.cls) ?? 0) + 1);
  return m;
}
