// `tsvs sysctl [-n] [-N] [-q] [-e] [-w] net.ipv4.vs.NAME[=VALUE]... | -a | -p [FILE]`: the IPVS
// sysctls of this namespace's director, as sysctl(8) reads and writes /proc/sys/net/ipv4/vs.
// The director is started if none runs, as the kernel loads ip_vs on first use.

import { readFileSync } from 'node:fs';
import type { AdmReply } from '../control/protocol.js';
import { NoDaemon, NoPermission, request, startDetached, targetSocket } from './client.js';

/** The file of `-p [FILE]` (default /etc/sysctl.conf), read here: the daemon may be elsewhere. */
function loadFile(argv: string[]): { file?: string; error?: string } {
  const p = argv.findIndex((a) => /^-[a-zA-Z]*p[a-zA-Z]*$/.test(a));
  if (p < 0) return {};
  const path = argv[p + 1] ?? '/etc/sysctl.conf';
  try {
    return { file: readFileSync(path, 'utf8') };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'No such file or directory' : (e as Error).message;
    return { error: `sysctl: cannot open "${path}": ${why}\n` };
  }
}

const HELP = `usage: tsvs sysctl [-n] [-N] [-q] [-e] [-w] net.ipv4.vs.NAME[=VALUE]... | -a | -p [FILE]
The IPVS sysctls of this namespace's director, read and written as sysctl(8) does for
/proc/sys/net/ipv4/vs (the director is started if none runs, as the kernel loads ip_vs).
  -a          every variable          -w          write NAME=VALUE
  -n          values only             -N          names only
  -q          write without echoing   -e          ignore unknown names
  -p [FILE]   load NAME = VALUE lines from FILE (default /etc/sysctl.conf); a key outside
              net.ipv4.vs is reported as unknown (-e: ignored)
`;

export async function sysctlMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const { file, error } = loadFile(argv);
  if (error) {
    process.stderr.write(error);
    return 1;
  }
  const sock = targetSocket();
  const req = { op: 'sysctl' as const, argv, file };
  let reply: AdmReply;
  try {
    try {
      reply = await request<AdmReply>(sock, req, 10_000);
    } catch (e) {
      if (!(e instanceof NoDaemon)) throw e;
      await startDetached(sock);
      reply = await request<AdmReply>(sock, req, 10_000);
    }
  } catch (e) {
    if (e instanceof NoPermission) {
      process.stderr.write('sysctl: permission denied on key "net.ipv4.vs": the director belongs to root\n');
      return 1;
    }
    throw e;
  }
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.code;
}
