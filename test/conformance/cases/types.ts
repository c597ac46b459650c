// The shape of a tsvsadm conformance case: data only, so that the in-process runner
// (test/conformance/adm.test.ts) and the daemon's runner (the real client binary against a
// real daemon in a network namespace) can share the tables.

/** What a case needs beyond a fresh, empty director. */
export type Need =
  /** Host or port names from the fixed tables of env.ts (not the host's own files). */
  | 'names'
  /** Network interfaces from env.ts (eth0, eth1, ...). */
  | 'netdev'
  /** A fixture of fixtures.ts applied through the core (counters, connections). */
  | 'fixture'
  /** ipvsadm's crash (exit 139), reproduced as a status only. */
  | 'crash';

export interface AdmCase {
  /** The spec section checked, e.g. '§4.1' (docs/spec/ipvsadm.md). */
  spec: string;
  description: string;
  /** Commands run first on the same state; each must exit 0 and print nothing on stderr. */
  given?: readonly (readonly string[])[];
  /** Name of a fixture in fixtures.ts, applied after `given`. */
  fixture?: string;
  /** The command under test (without the program name). */
  argv: readonly string[];
  /** Program name (default 'ipvsadm'). */
  argv0?: string;
  stdin?: string;
  stdout: string;
  stderr: string;
  code: number;
  /** If set, `-S -n` run afterwards must print exactly this. */
  saved?: string;
  /** A command run afterwards on the same state, and its expected stdout. */
  after?: { argv: readonly string[]; stdout: string };
  needs?: readonly Need[];
}

/** Lines joined, each ending in "\n". */
export function lines(...l: string[]): string {
  return l.map((x) => `${x}\n`).join('');
}

export const TRY = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n";
export const VERSION = 'IP Virtual Server version 1.2.1 (size=4096)\n';
export const TITLE = 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
/** The head of `-L` for the whole table. */
export const HEAD = VERSION + TITLE;

/** A default-format real-server line: "  -> %-28s %-7s %-6d %-10u %-10u". */
export function server(label: string, fwd: string, weight: number, active = 0, inact = 0): string {
  return `  -> ${label.padEnd(28)} ${fwd.padEnd(7)} ${String(weight).padEnd(6)} ${String(active).padEnd(10)} ${String(inact).padEnd(10)}\n`;
}
