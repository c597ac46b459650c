// `-v` and `-h`. The version line is ipvsadm's (scripts parse it); the help text is tsvs's own
// wording: a usage summary of every command and option. Spec: docs/spec/ipvsadm.md §7.7.

export const VERSION_LINE = 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n';

/** The `-h` text; `prog` is the name the tool was invoked as. */
export function helpText(prog: string): string {
  const p = prog;
  return `${VERSION_LINE}Usage:
  ${p} -A|-E SERVICE [-s SCHED] [-p [SECONDS]] [-M MASK] [--pe ENGINE] [-b FLAGS] [-o] [--laddr ADDR]...
  ${p} -D SERVICE
  ${p} -C
  ${p} -R < RULES
  ${p} -S [-n]
  ${p} -a|-e SERVICE -r SERVER[:PORT] [-g|-i|-m|--fullnat] [-w WEIGHT] [-x UPPER] [-y LOWER] [TUNNEL] [--proxy-protocol v1|v2]
  ${p} -d SERVICE -r SERVER[:PORT]
  ${p} -L|-l [SERVICE] [LIST OPTIONS]
  ${p} -Z [SERVICE]
  ${p} --set TCP TCPFIN UDP
  ${p} --start-daemon master|backup [DAEMON OPTIONS]
  ${p} --stop-daemon master|backup
  ${p} -h
  ${p} -v

SERVICE is one of
  -t, --tcp-service HOST[:PORT]    a TCP virtual service
  -u, --udp-service HOST[:PORT]    a UDP virtual service
  --sctp-service HOST[:PORT]       an SCTP virtual service
  -f, --fwmark-service MARK [-6]   packets carrying firewall mark MARK (1..4294967295);
                                   -6 (--ipv6) makes it an IPv6 fwmark service
HOST is an IPv4 address or name, or an IPv6 address in brackets ([2001:db8::1]:80).
PORT is a number or a service name from /etc/services; it may be 0 only with -p.

Commands:
  -A, --add-service        add a virtual service
  -E, --edit-service       change a virtual service (unspecified settings return to defaults)
  -D, --delete-service     delete a virtual service and its real servers
  -C, --clear              delete every virtual service
  -R, --restore            read commands from standard input, one per line
  -S, --save               print the rules in a form that -R reads back
  -a, --add-server         add a real server to a virtual service
  -e, --edit-server        change a real server (unspecified settings return to defaults)
  -d, --delete-server      delete a real server
  -L, -l, --list           show the table (or one service)
  -Z, --zero               reset packet, byte and connection counters and rates
  --set TCP TCPFIN UDP     set connection timeouts in seconds (0 leaves a value unchanged)
  --start-daemon STATE     start the connection synchronisation daemon (master or backup)
  --stop-daemon STATE      stop it
  -h, --help               print this summary
  -v, --version            print the version

Virtual service options (-A, -E):
  -s, --scheduler NAME     rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos none (wlc)
  -p, --persistent [SECS]  keep a client on the same server for SECS (360)
  -M, --netmask MASK       group clients by this mask for persistence (IPv6: prefix length)
  --pe ENGINE              persistence engine (sip)
  -b, --sched-flags LIST   comma separated: flag-1 flag-2 flag-3; sh-fallback sh-port (sh);
                           mh-fallback mh-port (mh)
  -o, --ops                one-packet scheduling (UDP and fwmark services)
  --laddr ADDR             a local address for FULLNAT real servers (may be repeated)

Real server options (-a, -e):
  -r, --real-server SERVER[:PORT]  the real server (PORT defaults to the service's)
  -g, --gatewaying         direct routing (the default)
  -i, --ipip               tunnelling
  -m, --masquerading       NAT
  --fullnat                full NAT: client and server addresses both rewritten
  -w, --weight N           0..65535 (1)
  -x, --u-threshold N      stop sending new connections above N (0: no limit)
  -y, --l-threshold N      resume below N
  --tun-type TYPE          ipip (default), gue or gre; with -i only
  --tun-port PORT          destination port of gue tunnels
  --tun-nocsum             tunnel without checksums (default)
  --tun-csum               tunnel with checksums
  --tun-remcsum            gue with remote checksum offload
  --proxy-protocol v1|v2   send a PROXY protocol header to the real server

List options (-L):
  -n, --numeric            addresses and ports as numbers
  -c, --connection         list connections
  --timeout                show the timeouts
  --daemon                 show the synchronisation daemons
  --stats                  counters
  --rate                   rates
  -X, --exact              exact numbers with --stats and --rate
  --thresholds             upper and lower thresholds
  --persistent-conn        persistent connection counts
  --tun-info               tunnel settings of each real server
  --laddr-info             with -c: each FULLNAT connection's local address (tsvs)
  --nosort                 do not sort services and servers
  --sort                   sort (the default; accepted for compatibility)

Daemon options (--start-daemon):
  --mcast-interface IF     interface to send or receive on (eth0)
  --syncid ID              0..255 (0)
  --sync-maxlen BYTES      largest synchronisation message
  --mcast-group ADDR       multicast group (224.0.0.81)
  --mcast-port PORT        multicast port (8848)
  --mcast-ttl TTL          multicast TTL (1)
`;
}
