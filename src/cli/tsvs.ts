// `tsvs`: daemon, status, realserver, lab, shim, quickstart. Subcommands load lazily so that
// each pays only for what it uses.

import { ENVIRONMENT, EXIT_USAGE, exitQuietlyOnClosedPipe, UsageError, version } from './usage.js';

const USAGE = `usage: tsvs <command> [options]      (tsvs <command> --help for its options)
commands:
  daemon [--engine packet|proxy] [--rules FILE] [--state-dir DIR] [--detach]
                                                             run the director of this netns
  daemon stop                                                stop it
  service install [--engine E] [--dir DIR] [--print]         systemd units: director at boot
  sysctl [-n] [-w] net.ipv4.vs.NAME[=VALUE]... | -a | -p FILE  the IPVS sysctls, as sysctl(8)
  status [--json]                                            engine, unserved rules, drops
  realserver start|stop|status|check --vip VIP               real-server agent
  keepalived [-f FILE] [-n] [-t] [-P|-C] [-p PIDFILE] ...    keepalived.conf checkers and VRRP
  shim install DIR                                           DIR/ipvsadm → tsvsadm, DIR/keepalived
  lab list | up|down|status|run NAME                         the seeds' labs in namespaces
  quickstart [--port N]                                      demo backends + proxy director
  --version                                                  this version
`;

type Main = (argv: string[]) => Promise<number>;
type Module = Record<string, unknown>;

async function load(entry: Command): Promise<Main | null> {
  try {
    const m = await entry[0]();
    return typeof m[entry[1]] === 'function' ? (m[entry[1]] as Main) : null;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** Each command's module and entry; literal specifiers, so that the bundler can follow them. */
type Command = [() => Promise<Module>, string];
const COMMANDS: Record<string, Command> = {
  daemon: [() => import('./daemon.js'), 'daemonMain'],
  status: [() => import('./status.js'), 'statusMain'],
  realserver: [() => import('../agent/cli.js'), 'realserverMain'],
  shim: [() => import('./shim.js'), 'shimMain'],
  service: [() => import('./service.js'), 'serviceMain'],
  sysctl: [() => import('./sysctl.js'), 'sysctlMain'],
  lab: [() => import('../lab/cli.js'), 'labMain'],
  quickstart: [() => import('./quickstart.js'), 'quickstartMain'],
  keepalived: [() => import('./keepalived.js'), 'keepalivedMain'],
};

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    (cmd === undefined ? process.stderr : process.stdout).write(`${USAGE}\n${ENVIRONMENT}`);
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`tsvs ${version()}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`tsvs: unknown command '${cmd}'\n${USAGE}`);
    return EXIT_USAGE;
  }
  const fn = await load(entry);
  if (!fn) {
    process.stderr.write(`tsvs: '${cmd}' is not built in this checkout: run "npm run build"\n`);
    return 1;
  }
  try {
    return await fn(argv.slice(1));
  } catch (e) {
    process.stderr.write(`tsvs ${cmd}: ${(e as Error).message}\n`);
    return e instanceof UsageError ? EXIT_USAGE : 1;
  }
}

exitQuietlyOnClosedPipe();
// A `keepalived` link to bin/tsvs (tsvs shim install) runs `tsvs keepalived`.
const invokedAs = (process.argv[1] ?? '').split('/').pop();
const args = process.argv.slice(2);
// No top-level await: the bins load this as CommonJS (scripts/bundle.mjs).
void main(invokedAs === 'keepalived' ? ['keepalived', ...args] : args).then((code) => {
  process.exitCode = code;
});
