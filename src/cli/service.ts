// `tsvs service install [--engine packet|proxy] [--dir DIR] [--print]`: the systemd units that
// start the director at boot and again after any crash, the way LVS admins run ipvsadm's
// save/restore service. The director restores its state file (control/state.ts) before it
// serves, so a restart brings the rules back. tsvs.service serves the init namespace;
// tsvs@NAME.service the named namespace /run/netns/NAME.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_STATE_DIR } from '../control/state.js';

export const UNIT_DIR = '/etc/systemd/system';
/**
 * systemd's default (100 ms) would do; 200 ms leaves the kernel time to release the dead
 * director's sockets and nft table, which it does at once, so the restart stays fast.
 */
export const RESTART_SEC = '200ms';

const USAGE = 'usage: tsvs service install [--engine packet|proxy] [--dir DIR] [--print]\n';
const HELP = `${USAGE}
Writes tsvs.service (the director of the init network namespace) and tsvs@.service (one per
namespace /run/netns/NAME) with Restart=always, so that systemd starts the director at boot and
again after any crash; the director restores its saved rules before it serves.
  --engine packet|proxy   the data plane (default packet)
  --dir DIR               where to write the units (default ${UNIT_DIR})
  --print                 print the units instead of writing them
Then: systemctl daemon-reload && systemctl enable --now tsvs.service
`;

export interface UnitOptions {
  engine: 'packet' | 'proxy';
  node: string;
  bin: string;
  /** Template for named namespaces (tsvs@NAME.service). */
  template: boolean;
}

/** The unit file's text. */
export function renderUnit(o: UnitOptions): string {
  const where = o.template ? 'network namespace %i' : 'the init network namespace';
  return [
    '[Unit]',
    `Description=tsvs director (Linux Virtual Server) of ${where}`,
    'Documentation=man:ipvsadm(8)',
    'After=network-online.target',
    'Wants=network-online.target',
    // A load balancer keeps coming back: no limit on restarts.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    ...(o.template ? ['NetworkNamespacePath=/run/netns/%i'] : []),
    `ExecStart=${o.node} ${o.bin} daemon --engine ${o.engine}`,
    `ExecStop=${o.node} ${o.bin} daemon stop`,
    'Restart=always',
    `RestartSec=${RESTART_SEC}`,
    // The state file of each namespace lives here; the control socket in /run/tsvs.
    `Environment=TSVS_STATE_DIR=${ROOT_STATE_DIR}`,
    'StateDirectory=tsvs',
    'StateDirectoryMode=0700',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export async function serviceMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv[0] !== 'install') {
    process.stderr.write(`tsvs service: ${argv[0] === undefined ? 'missing command' : `unknown command ${argv[0]}`}\n${USAGE}`);
    return 2;
  }
  let engine: UnitOptions['engine'] = 'packet';
  let dir = UNIT_DIR;
  let print = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--engine') {
      const v = argv[++i];
      if (v !== 'packet' && v !== 'proxy') {
        process.stderr.write(`tsvs service: --engine ${v ?? ''}: use packet or proxy\n${USAGE}`);
        return 2;
      }
      engine = v;
    } else if (a === '--dir') {
      const v = argv[++i];
      if (!v) {
        process.stderr.write(`tsvs service: --dir needs a directory\n${USAGE}`);
        return 2;
      }
      dir = v;
    } else if (a === '--print') print = true;
    else {
      process.stderr.write(`tsvs service: unknown option ${a}\n${USAGE}`);
      return 2;
    }
  }
  const bin = fileURLToPath(new URL('../../bin/tsvs', import.meta.url));
  const units: [string, string][] = [
    ['tsvs.service', renderUnit({ engine, node: process.execPath, bin, template: false })],
    ['tsvs@.service', renderUnit({ engine, node: process.execPath, bin, template: true })],
  ];
  if (print) {
    for (const [name, text] of units) process.stdout.write(`# ${name}\n${text}`);
    return 0;
  }
  for (const [name, text] of units) {
    const path = join(dir, name);
    try {
      writeFileSync(path, text, { mode: 0o644 });
    } catch (e) {
      process.stderr.write(`tsvs service: cannot write ${path}: ${(e as Error).message} (root? or --dir DIR)\n`);
      return 1;
    }
    process.stdout.write(`wrote ${path}\n`);
  }
  process.stdout.write('next: systemctl daemon-reload && systemctl enable --now tsvs  (or tsvs@NAME for /run/netns/NAME)\n');
  return 0;
}
