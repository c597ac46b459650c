// `tsvs`: daemon, status, realserver, lab, shim, quickstart. Subcommands load lazily so that
// each pays only for what it uses.

const USAGE = `usage: tsvs <command> [options]
commands:
  daemon [--engine packet|proxy] [--rules FILE] [--detach]   run the director of this netns
  daemon stop                                                stop it
  status [--json]                                            engine, unserved rules, drops
  realserver start|stop|status|check --vip VIP               real-server agent
  keepalived [-f FILE] [-n] [-t] [-P|-C] [-p PIDFILE] ...    keepalived.conf checkers (and VRRP)
  shim install DIR                                           DIR/ipvsadm → tsvsadm, DIR/keepalived
  lab up|down|status|run NAME                                the seeds' labs in namespaces
  quickstart                                                 demo backends + proxy director
`;

type Main = (argv: string[]) => Promise<number>;

async function load(path: string, name: string): Promise<Main | null> {
  try {
    const m = (await import(new URL(path, import.meta.url).href)) as Record<string, Main>;
    return m[name] ?? null;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

const COMMANDS: Record<string, [string, string]> = {
  daemon: ['./daemon.js', 'daemonMain'],
  status: ['./status.js', 'statusMain'],
  realserver: ['../agent/cli.js', 'realserverMain'],
  shim: ['./shim.js', 'shimMain'],
  lab: ['../lab/cli.js', 'labMain'],
  quickstart: ['./quickstart.js', 'quickstartMain'],
  keepalived: ['./keepalived.js', 'keepalivedMain'],
};

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`tsvs: unknown command '${cmd}'\n${USAGE}`);
    return 2;
  }
  const fn = await load(entry[0], entry[1]);
  if (!fn) {
    process.stderr.write(`tsvs: '${cmd}' is not built yet in this version\n`);
    return 2;
  }
  try {
    return await fn(argv.slice(1));
  } catch (e) {
    process.stderr.write(`tsvs ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

// A `keepalived` link to bin/tsvs (tsvs shim install) runs `tsvs keepalived`.
const invokedAs = (process.argv[1] ?? '').split('/').pop();
const args = process.argv.slice(2);
process.exitCode = await main(invokedAs === 'keepalived' ? ['keepalived', ...args] : args);
