// `tsvs shim install DIR`: DIR/ipvsadm becomes a symlink to this checkout's tsvsadm, so that
// scripts written for ipvsadm (the seeds' init scripts) run unchanged with tsvs.

import { lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, wantsHelp } from './usage.js';

const USAGE = 'usage: tsvs shim install DIR   DIR/ipvsadm becomes a symlink to tsvsadm\n';

export async function shimMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] !== 'install' || !argv[1] || argv.length > 2) throw new UsageError(`expected install DIR\n${USAGE}`);
  const target = fileURLToPath(new URL('../../bin/tsvsadm', import.meta.url));
  const link = join(argv[1], 'ipvsadm');
  mkdirSync(argv[1], { recursive: true });
  try {
    if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
    else {
      process.stderr.write(`tsvs shim: ${link} exists and is not a symlink; not replacing it\n`);
      return 1;
    }
  } catch {
    // no link yet
  }
  symlinkSync(target, link);
  process.stdout.write(`${link} -> ${target}\n`);
  return 0;
}
