// `tsvs shim install DIR`: DIR/ipvsadm becomes a symlink to this checkout's tsvsadm and
// DIR/keepalived one to its tsvs (which runs `tsvs keepalived` under that name), so that
// scripts and units written for ipvsadm and keepalived (the seeds' init scripts) run unchanged.

import { lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, wantsHelp } from './usage.js';

const USAGE = 'usage: tsvs shim install DIR   DIR/ipvsadm -> tsvsadm and DIR/keepalived -> tsvs\n';

const LINKS: [name: string, bin: string][] = [
  ['ipvsadm', 'tsvsadm'],
  ['keepalived', 'tsvs'],
];

export async function shimMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] !== 'install' || !argv[1] || argv.length > 2) throw new UsageError(`expected install DIR\n${USAGE}`);
  mkdirSync(argv[1], { recursive: true });
  let code = 0;
  for (const [name, bin] of LINKS) {
    const target = fileURLToPath(new URL(`../../bin/${bin}`, import.meta.url));
    const link = join(argv[1], name);
    try {
      if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
      else {
        process.stderr.write(`tsvs shim: ${link} exists and is not a symlink; not replacing it\n`);
        code = 1;
        continue;
      }
    } catch {
      // no link yet
    }
    symlinkSync(target, link);
    process.stdout.write(`${link} -> ${target}\n`);
  }
  return code;
}
