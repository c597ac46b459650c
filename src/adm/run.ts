// tsvsadm's entry point: one ipvsadm invocation (argv → stdout, stderr, exit status) run
// in-process against an IPVS instance. process_options's order: parse, command table, per
// command checks, then list / save / restore or a kernel call. Spec: docs/spec/ipvsadm.md §1, §3.1, §9.

import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IPPROTO_UDP } from '../core/constants.js';
import type { AdmBackend } from './backend.js';
import { checkCommandOptions, checkListConflicts, checkTunnelOptions } from './commands.js';
import { listConns } from './conns.js';
import { listDaemons, listTimeouts } from './daemon.js';
import { AdmExit, AdmIo, type AdmSink, CommandEntry, FMT_NUMERIC, FMT_RULE } from './entry.js';
import { execute, fwdMethod, serviceKey } from './execute.js';
import { MSG_LADDR_FAMILY } from './extensions.js';
import { type ListCtx, listAll, listService } from './list.js';
import { kernelMessage } from './messages.js';
import { Namer } from './names.js';
import { OPT } from './options.js';
import { parseOptions, tryHelp } from './parse.js';
import type { Resolver } from './resolve.js';
import { ConfigStream } from './restore.js';

export type { AdmBackend, AdmConnRow } from './backend.js';
export type { AdmSink } from './entry.js';
export type { Resolver } from './resolve.js';

export interface AdmContext {
  /** The IPVS instance (src/core/ipvs.ts's Ipvs, or any AdmBackend). */
  ipvs: AdmBackend;
  /** Clock in ms, for the rule store and connection expiry. */
  now: number;
  resolver: Resolver;
  /** Standard input; only `-R` reads it. */
  stdin: string;
  /** The clock again, read for each piece of a long `-L -c` (conn expiry is shown as of then); default `now`. */
  clock?: () => number;
  /** Where a long `-L -c` sends its lines as they are made (AdmIo.flush); without it they are all in `stdout`. */
  sink?: AdmSink;
}

export interface AdmResult {
  stdout: string;
  stderr: string;
  code: number;
  /** `-R`: the input lines that failed, in order (not part of ipvsadm's output; for logs). */
  restoreFailures?: RestoreFailure[];
}

/** One `-R` input line that failed: a kernel error (restore went on) or the one that ended it. */
export interface RestoreFailure {
  /** 1-based line number in the input. */
  line: number;
  /** The line as given (without its newline). */
  text: string;
  /** Its exit status (255 kernel error; 2 usage error or 1 listing failure end the restore). */
  code: number;
  /** What it printed on stderr, trimmed. */
  message: string;
}

/**
 * Runs one tsvsadm invocation. `argv` excludes the program name; `argv0` is the name it was
 * invoked as (basename), used in messages. Never throws for any argv; a refused command leaves
 * the rules unchanged. Exit status 139 stands for ipvsadm's crash on `-b ,`.
 */
export async function runAdm(argv: readonly string[], argv0: string, ctx: AdmContext): Promise<AdmResult> {
  const s = new Session(ctx, argv0);
  let code: number;
  try {
    if (argv.length === 0) {
      await listAll(s.listCtx(0), 0);
      code = 0;
    } else {
      code = await s.processOptions([argv0, ...argv], false);
    }
  } catch (e) {
    if (!(e instanceof AdmExit)) throw e;
    code = e.code;
  }
  const result: AdmResult = { stdout: s.io.stdout, stderr: s.io.stderr, code: code & 0xff };
  if (s.restoreFailures.length > 0) result.restoreFailures = s.restoreFailures;
  return result;
}

class Session {
  readonly io = new AdmIo();
  readonly restoreFailures: RestoreFailure[] = [];
  private readonly namers: [Namer, Namer];

  constructor(
    private readonly ctx: AdmContext,
    private readonly prog: string,
  ) {
    this.namers = [new Namer(ctx.resolver, false), new Namer(ctx.resolver, true)];
    this.io.sink = ctx.sink ?? null;
  }

  listCtx(format: number): ListCtx {
    return {
      io: this.io,
      rules: this.ctx.ipvs.rules,
      namer: this.namers[format & FMT_NUMERIC ? 1 : 0],
    };
  }

  /** process_options: one command line; returns its result (0 or -1) or throws AdmExit. */
  async processOptions(argv: readonly string[], readingStdin: boolean): Promise<number> {
    const io = this.io;
    const ce = new CommandEntry();
    if (await parseOptions(argv, ce, { io, resolver: this.ctx.resolver, prog: this.prog })) {
      return -1;
    }
    checkCommandOptions(io, ce);
    this.commandChecks(ce);

    const rules = this.ctx.ipvs.rules;
    switch (ce.cmd) {
      case 'list':
        checkListConflicts(io, ce);
        if (ce.has(OPT.connection)) {
          const clock = this.ctx.clock ?? (() => this.ctx.now);
          await listConns(io, this.ctx.ipvs, clock, this.listCtx(ce.format).namer, ce.format);
        } else if (ce.has(OPT.service)) {
          const svc = rules.findService(serviceKey(ce));
          if (!svc) {
            io.err(`${kernelMessage('get-service', 'ESRCH')}\n`);
            throw new AdmExit(1);
          }
          await listService(this.listCtx(ce.format), svc, ce.format);
        } else if (ce.has(OPT.timeout)) listTimeouts(io, rules);
        else if (ce.has(OPT.daemon)) listDaemons(io, rules);
        else await listAll(this.listCtx(ce.format), ce.format);
        return 0;
      case 'restore':
        return this.restore(readingStdin);
      case 'save':
        await listAll(this.listCtx(ce.format), ce.format | FMT_RULE);
        return 0;
      default:
        return execute(ce, { io, rules, now: this.ctx.now, resolver: this.ctx.resolver });
    }
  }

  /** §3.1 steps 6-8: what depends on the whole command line. */
  private commandChecks(ce: CommandEntry): void {
    const io = this.io;
    const svc = ce.svc;
    if (ce.cmd === 'add-service' || ce.cmd === 'edit-service') {
      if (!svc.fwmark && !svc.port && !(svc.flags & IP_VS_SVC_F_PERSISTENT)) {
        io.fail(2, 'Zero port specified for non-persistent service');
      }
      if (svc.flags & IP_VS_SVC_F_ONEPACKET && !svc.fwmark && svc.protocol !== IPPROTO_UDP) {
        io.fail(2, 'One-Packet Scheduling is only for UDP virtual services');
      }
      if (!svc.schedName) svc.schedName = 'wlc';
      for (const a of svc.laddrs) if (a.af !== svc.af) io.fail(2, MSG_LADDR_FAMILY);
    }
    if (ce.cmd === 'start-daemon' && !ce.daemon.ifname) ce.daemon.ifname = 'eth0';
    if (ce.cmd === 'add-server' || ce.cmd === 'edit-server') {
      const fwd = fwdMethod(ce);
      if (!svc.fwmark && (fwd === IP_VS_CONN_F_TUNNEL || fwd === IP_VS_CONN_F_DROUTE)) {
        ce.dest.port = svc.port;
      }
      if (ce.dest.af !== svc.af && fwd !== IP_VS_CONN_F_TUNNEL) {
        io.fail(2, 'Different address family is allowed only for tunneling servers');
      }
      const tunOpts = [OPT.tunType, OPT.tunPort, OPT.tunNocsum, OPT.tunCsum, OPT.tunRemcsum];
      if (tunOpts.some((b) => ce.has(b)) && fwd !== IP_VS_CONN_F_TUNNEL) {
        io.fail(2, 'Tunnel options conflict with forward method');
      }
      checkTunnelOptions(io, ce);
    }
  }

  /** restore_table: each stdin line is a command line of its own; the last result counts. */
  private async restore(readingStdin: boolean): Promise<number> {
    if (readingStdin) tryHelp(this.io, this.prog);
    const stream = new ConfigStream(this.ctx.stdin);
    let result = 0;
    for (let line = stream.read(); line !== null; line = stream.read()) {
      if (line.length === 0) continue;
      const errAt = this.io.stderr.length;
      const failed = (code: number) =>
        this.restoreFailures.push({
          line: stream.lineNumber,
          text: stream.lineText(),
          code: code & 0xff,
          message: this.io.stderr.slice(errAt).trim(),
        });
      try {
        result = await this.processOptions([this.prog, ...line], true);
      } catch (e) {
        if (e instanceof AdmExit) failed(e.code);
        throw e;
      }
      if (result !== 0) failed(result);
    }
    return result;
  }
}
