// One check's outcome, and the probe each checker kind runs (docs/spec/ha.md §B.4).

export interface ProbeResult {
  ok: boolean;
  /** What happened, for status and logs: `connected`, `HTTP 503`, `exit 1`, `timeout`. */
  detail: string;
  /** misc_dynamic: the weight the script asked for (exit 2..255 → code − 2). */
  weight?: number;
}

export type Probe = () => Promise<ProbeResult>;
