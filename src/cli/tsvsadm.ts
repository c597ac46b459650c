// `tsvsadm`: the ipvsadm drop-in. A lean client: it forwards argv (and stdin for -R) to the
// director of this network namespace, starting one if none answers, and prints the reply.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { AdmReply } from '../control/protocol.js';
import { NoDaemon, NoPermission, request, startDetached, targetSocket } from './client.js';
import { exitQuietlyOnClosedPipe } from './usage.js';

const CANT_INIT =
  "Can't initialize ipvs: Permission denied (you must be root)\n" +
  'Are you sure that IP Virtual Server is built in the kernel or as module?\n';

/** -R / --restore (alone or leading a short-option cluster) reads the rules from stdin. */
function wantsStdin(argv: string[]): boolean {
  const first = argv[0] ?? '';
  return first === '--restore' || (/^-[A-Za-z0-9]*R/.test(first) && !first.startsWith('--'));
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const argv0 = basename(process.argv[1] ?? 'ipvsadm');
  const stdin = wantsStdin(argv) ? readFileSync(0, 'utf8') : '';
  const sock = targetSocket();
  const req = { op: 'adm' as const, argv, argv0, stdin };
  // A long -L -c arrives in parts, printed as they come; a full stdout (a pager) holds the daemon.
  const onPart = (part: string) =>
    process.stdout.write(part) ? undefined : new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  let reply: AdmReply;
  try {
    try {
      reply = await request<AdmReply>(sock, req, undefined, onPart);
    } catch (e) {
      if (!(e instanceof NoDaemon)) throw e;
      await startDetached(sock);
      reply = await request<AdmReply>(sock, req, undefined, onPart);
    }
  } catch (e) {
    if (e instanceof NoPermission) {
      process.stderr.write(CANT_INIT);
      return 2;
    }
    process.stderr.write(`tsvsadm: ${(e as Error).message}\n`);
    return 2;
  }
  await new Promise<void>((r) => process.stdout.write(reply.stdout, () => r()));
  process.stderr.write(reply.stderr);
  return reply.code;
}

exitQuietlyOnClosedPipe();
// No top-level await: the bins load this as CommonJS (scripts/bundle.mjs).
void main().then((code) => {
  process.exitCode = code;
});
