// ipvsadm 1.31's option table: what popt recognises (long and short names, argument kind) and
// the option bits the command table checks, in ipvsadm's order, plus tsvs's extensions
// (--fullnat, --laddr, --proxy-protocol, --laddr-info) appended at the end. Spec: docs/spec/ipvsadm.md §2.1, §3.

export type ArgKind = 'none' | 'string' | 'optional';

/** The option bits, numbered in the order §3 walks them when checking a command. */
export const OPT = {
  numeric: 0,
  connection: 1,
  service: 2,
  scheduler: 3,
  persistent: 4,
  netmask: 5,
  server: 6,
  forward: 7,
  weight: 8,
  uThreshold: 9,
  lThreshold: 10,
  mcastIfn: 11,
  timeout: 12,
  daemon: 13,
  stats: 14,
  rate: 15,
  thresholds: 16,
  persistentConn: 17,
  nosort: 18,
  syncid: 19,
  exact: 20,
  ops: 21,
  pe: 22,
  schedFlags: 23,
  mcastGroup: 24,
  mcastPort: 25,
  mcastTtl: 26,
  syncMaxlen: 27,
  tunInfo: 28,
  tunType: 29,
  tunPort: 30,
  tunNocsum: 31,
  tunCsum: 32,
  tunRemcsum: 33,
  // tsvs extensions
  laddr: 34,
  proxyProtocol: 35,
  laddrInfo: 36,
} as const;

export type OptBit = (typeof OPT)[keyof typeof OPT];
export const NUMBER_OF_OPT = 37;

/** The names used in messages ("multiple 'weight' options specified"), indexed by bit. */
export const OPT_NAMES: readonly string[] = [
  'numeric',
  'connection',
  'service-address',
  'scheduler',
  'persistent',
  'netmask',
  'real-server',
  'forwarding-method',
  'weight',
  'u-threshold',
  'l-threshold',
  'mcast-interface',
  'timeout',
  'daemon',
  'stats',
  'rate',
  'thresholds',
  'persistent-conn',
  'nosort',
  'syncid',
  'exact',
  'ops',
  'pe',
  'sched-flags',
  'mcast-group',
  'mcast-port',
  'mcast-ttl',
  'sync-maxlen',
  'tun-info',
  'tun-type',
  'tun-port',
  'tun-nocsum',
  'tun-csum',
  'tun-remcsum',
  'laddr',
  'proxy-protocol',
  'laddr-info',
];

export interface PoptOption {
  long: string;
  short: string | null;
  arg: ArgKind;
}

const o = (long: string, short: string | null, arg: ArgKind = 'none'): PoptOption => ({
  long,
  short,
  arg,
});

/** popt's table in ipvsadm's order (the first match wins: `--list` is `-L`). */
export const POPT_TABLE: readonly PoptOption[] = [
  o('add-service', 'A'),
  o('edit-service', 'E'),
  o('delete-service', 'D'),
  o('clear', 'C'),
  o('list', 'L'),
  o('list', 'l'),
  o('zero', 'Z'),
  o('add-server', 'a'),
  o('edit-server', 'e'),
  o('delete-server', 'd'),
  o('set', null),
  o('help', 'h'),
  o('version', 'v'),
  o('restore', 'R'),
  o('save', 'S'),
  o('start-daemon', null, 'string'),
  o('stop-daemon', null, 'string'),
  o('tcp-service', 't', 'string'),
  o('udp-service', 'u', 'string'),
  o('sctp-service', null, 'string'),
  o('fwmark-service', 'f', 'string'),
  o('scheduler', 's', 'string'),
  o('persistent', 'p', 'optional'),
  o('netmask', 'M', 'string'),
  o('real-server', 'r', 'string'),
  o('masquerading', 'm'),
  o('ipip', 'i'),
  o('gatewaying', 'g'),
  o('weight', 'w', 'string'),
  o('u-threshold', 'x', 'string'),
  o('l-threshold', 'y', 'string'),
  o('numeric', 'n'),
  o('connection', 'c'),
  o('mcast-interface', null, 'string'),
  o('syncid', null, 'string'),
  o('timeout', null),
  o('daemon', null),
  o('stats', null),
  o('rate', null),
  o('thresholds', null),
  o('persistent-conn', null),
  o('nosort', null),
  o('sort', null),
  o('exact', 'X'),
  o('ipv6', '6'),
  o('ops', 'o'),
  o('pe', null, 'string'),
  o('sched-flags', 'b', 'string'),
  o('mcast-group', null, 'string'),
  o('mcast-port', null, 'string'),
  o('mcast-ttl', null, 'string'),
  o('sync-maxlen', null, 'string'),
  o('tun-info', null),
  o('tun-type', null, 'string'),
  o('tun-port', null, 'string'),
  o('tun-nocsum', null),
  o('tun-csum', null),
  o('tun-remcsum', null),
  // tsvs extensions (see extensions.ts)
  o('fullnat', null),
  o('laddr', null, 'string'),
  o('proxy-protocol', null, 'string'),
  o('laddr-info', null),
];

/** The commands, as ipvsadm names them in messages (cmdnames[]). */
export type Command =
  | 'add-service'
  | 'edit-service'
  | 'delete-service'
  | 'flush'
  | 'list'
  | 'add-server'
  | 'delete-server'
  | 'edit-server'
  | 'set'
  | 'start-daemon'
  | 'stop-daemon'
  | 'restore'
  | 'save'
  | 'zero';

/** Long option name of each command option → the command it selects. */
export const COMMAND_OPTIONS: ReadonlyMap<string, Command> = new Map([
  ['add-service', 'add-service'],
  ['edit-service', 'edit-service'],
  ['delete-service', 'delete-service'],
  ['clear', 'flush'],
  ['list', 'list'],
  ['zero', 'zero'],
  ['add-server', 'add-server'],
  ['edit-server', 'edit-server'],
  ['delete-server', 'delete-server'],
  ['set', 'set'],
  ['restore', 'restore'],
  ['save', 'save'],
  ['start-daemon', 'start-daemon'],
  ['stop-daemon', 'stop-daemon'],
]);
