// `tsvs`: daemon, realserver, lab, status, quickstart. Subcommands load lazily so that each
// pays only for what it uses.

const USAGE = `usage: tsvs <command> [options]
commands:
  daemon [--engine packet|proxy] [--rules FILE] [--detach]   run the director of this netns
  daemon stop                                                stop it
  status                                                     engine, unserved rules, drops
  realserver start|stop|status|check --vip VIP               real-server agent
  lab up|down|status|run NAME                                the seeds' labs in namespaces
  quickstart                                                 demo backends + proxy director
`;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  process.stderr.write(`tsvs: '${cmd}' is not built yet in this version\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
