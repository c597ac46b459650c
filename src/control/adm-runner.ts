// The daemon runs ipvsadm's logic (src/adm) in-process against its live state. It is imported
// at run time so that the daemon starts, and says so, even in a build without it.

import type { Ipvs } from '../core/ipvs.js';
import type { AdmReply } from './protocol.js';

export interface AdmContext {
  ipvs: Ipvs;
  now: number;
  stdin: string;
  resolver?: unknown;
  /** The clock, read again for each piece of a long `-L -c`. */
  clock?: () => number;
  /** Where a long `-L -c` sends its lines as they are made (protocol.ts, ReplyPart). */
  sink?: (part: string) => Promise<void>;
}

/** A reply, and for `-R` the input lines that failed (src/adm/run.ts's RestoreFailure), for the log. */
export interface AdmOutcome extends AdmReply {
  restoreFailures?: { line: number; text: string; code: number; message: string }[];
}

export type AdmRunner = (argv: readonly string[], argv0: string, ctx: AdmContext) => Promise<AdmOutcome>;

/** The real runner, or one that answers "not built yet" (exit 2) for every command. */
export async function loadAdmRunner(): Promise<AdmRunner> {
  try {
    const m = await import('../adm/run.js');
    const r = await import('../adm/resolve.js');
    // One resolver for the daemon's life: it caches /etc/services and name lookups.
    const resolver = r.systemResolver();
    return (argv, argv0, ctx) => m.runAdm(argv, argv0, { ...ctx, resolver });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return async () => ({
      stdout: '',
      stderr: 'tsvsadm: the ipvsadm front end is not built yet in this version\n',
      code: 2,
    });
  }
}
