// `tsvs sysctl`: procps sysctl(8) for the net.ipv4.vs keys of this namespace's director, run in
// the daemon against its table, with sysctl's output, messages and exit codes:
//   tsvs sysctl [-n] [-N] [-q] [-e] [-w] net.ipv4.vs.NAME[=VALUE]...
//   tsvs sysctl -a | -p [FILE]
// so that an LVS admin's sysctl.d lines translate one to one (`-p` reads them).

import { SYSCTL_DEFS, type SysctlTable } from '../core/sysctl.js';
import type { AdmReply } from './protocol.js';

const PREFIX = 'net.ipv4.vs.';
const NO_VARS = "sysctl: no variables specified\nTry `sysctl --help' for more information.\n";

interface Flags {
  values: boolean;
  names: boolean;
  quiet: boolean;
  ignoreUnknown: boolean;
  write: boolean;
}

/** net.ipv4.vs.NAME or net/ipv4/vs/NAME → NAME; null for any other key. */
function ownName(key: string): string | null {
  const k = key.replace(/\//g, '.');
  return k.startsWith(PREFIX) ? k.slice(PREFIX.length) : null;
}

function procPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** Runs one sysctl command line; `file` is the text of -p's file, read by the client. */
export function runSysctl(table: SysctlTable, argv: readonly string[], file?: string): AdmReply {
  const f: Flags = { values: false, names: false, quiet: false, ignoreUnknown: false, write: false };
  let all = false;
  let load = false;
  const keys: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') && keys.length === 0 && !load) {
      for (const c of a.slice(1)) {
        if (c === 'n') f.values = true;
        else if (c === 'N') f.names = true;
        else if (c === 'q') f.quiet = true;
        else if (c === 'e') f.ignoreUnknown = true;
        else if (c === 'w') f.write = true;
        else if (c === 'a' || c === 'A' || c === 'X') all = true;
        else if (c === 'p') load = true;
        else return { stdout: '', stderr: `sysctl: invalid option -- '${c}'\n`, code: 1 };
      }
    } else keys.push(a);
  }
  let out = '';
  let err = '';
  let code = 0;
  const show = (key: string, value: string) => {
    if (f.values) out += `${value}\n`;
    else if (f.names) out += `${key}\n`;
    else out += `${key} = ${value}\n`;
  };
  const read = (key: string) => {
    const name = ownName(key);
    if (name === null || !table.has(name)) {
      if (!f.ignoreUnknown) err += `sysctl: cannot stat ${procPath(key)}: No such file or directory\n`;
      code = 1;
      return;
    }
    show(key.replace(/\//g, '.'), table.text(name));
  };
  const write = (key: string, value: string) => {
    const name = ownName(key);
    if (name === null || !table.has(name)) {
      if (!f.ignoreUnknown) err += `sysctl: cannot stat ${procPath(key)}: No such file or directory\n`;
      code = 1;
      return;
    }
    const e = table.write(name, value);
    if (e) {
      err += `sysctl: setting key "${key}": Invalid argument\n`;
      code = 1;
      return;
    }
    if (!f.quiet && value.trim() !== '') show(key.replace(/\//g, '.'), value);
  };

  if (all) {
    for (const name of SYSCTL_DEFS.map((d) => d.name).sort()) show(PREFIX + name, table.text(name));
    return { stdout: out, stderr: err, code };
  }
  if (load) {
    const lines = (file ?? '').split('\n');
    lines.forEach((raw, n) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
      const eq = line.indexOf('=');
      if (eq < 0) {
        err += `sysctl: ${keys[0] ?? '/etc/sysctl.conf'}(${n + 1}): invalid syntax, continuing...\n`;
        code = 1;
        return;
      }
      write(line.slice(0, eq).trim().replace(/^-/, ''), line.slice(eq + 1).trim());
    });
    return { stdout: out, stderr: err, code };
  }
  if (keys.length === 0) return { stdout: '', stderr: NO_VARS, code: 1 };
  for (const k of keys) {
    const eq = k.indexOf('=');
    if (eq >= 0) write(k.slice(0, eq).trim(), k.slice(eq + 1).trim());
    else if (f.write) {
      err += 'sysctl: command line(0): invalid syntax, continuing...\n';
      code = 1;
    } else read(k.trim());
  }
  return { stdout: out, stderr: err, code };
}
