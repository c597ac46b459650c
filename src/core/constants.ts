// IPVS constants, with the kernel's names and values (include/uapi/linux/ip_vs.h, ip_vs.h).
// Spec: docs/spec/ipvs-kernel.md §0.

export const AF_INET = 2;
export const AF_INET6 = 10;
export type Af = typeof AF_INET | typeof AF_INET6;

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export type Protocol = typeof IPPROTO_TCP | typeof IPPROTO_UDP | typeof IPPROTO_SCTP;

// Service flags (svc->flags).
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
export const IP_VS_SVC_F_HASHED = 0x0002;
export const IP_VS_SVC_F_ONEPACKET = 0x0004;
export const IP_VS_SVC_F_SCHED1 = 0x0008;
export const IP_VS_SVC_F_SCHED2 = 0x0010;
export const IP_VS_SVC_F_SCHED3 = 0x0020;
export const IP_VS_SVC_F_SCHED_SH_FALLBACK = IP_VS_SVC_F_SCHED1;
export const IP_VS_SVC_F_SCHED_SH_PORT = IP_VS_SVC_F_SCHED2;
export const IP_VS_SVC_F_SCHED_MH_FALLBACK = IP_VS_SVC_F_SCHED1;
export const IP_VS_SVC_F_SCHED_MH_PORT = IP_VS_SVC_F_SCHED2;
export const IP_VS_SVC_F_SCHED_MASK = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

// Dest status flags (dest->flags).
export const IP_VS_DEST_F_AVAILABLE = 0x0001;
export const IP_VS_DEST_F_OVERLOAD = 0x0002;

// Connection flags (cp->flags). The low three bits are the forwarding method.
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;
export const IP_VS_CONN_F_BYPASS = 0x0004;
/** Out of tree (Alibaba LVS, DPVS): both addresses rewritten. tsvs extension. */
export const IP_VS_CONN_F_FULLNAT = 0x0005;
/**
 * FULLNAT local ports handed out toward a real server (DPVS's default range starts at 1025 too):
 * below are the well-known ports a director may use itself.
 */
export const FULLNAT_LPORT_MIN = 1025;
export const FULLNAT_LPORT_MAX = 65535;
/** Ports tried per local address before the next address: bounds the work of one SYN. */
export const FULLNAT_LPORT_TRIES = 1024;
export const IP_VS_CONN_F_SYNC = 0x0020;
export const IP_VS_CONN_F_HASHED = 0x0040;
export const IP_VS_CONN_F_NOOUTPUT = 0x0080;
export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_NO_CPORT = 0x0800;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;
export const IP_VS_CONN_F_DEST_MASK = IP_VS_CONN_F_FWD_MASK | IP_VS_CONN_F_ONE_PACKET;

/** Forwarding method as stored in a dest: the FWD_MASK bits of its conn flags. */
export type FwdMethod =
  | typeof IP_VS_CONN_F_MASQ
  | typeof IP_VS_CONN_F_LOCALNODE
  | typeof IP_VS_CONN_F_TUNNEL
  | typeof IP_VS_CONN_F_DROUTE
  | typeof IP_VS_CONN_F_FULLNAT;

// Tunnel types and encapsulation flags (dest tun_type, tun_flags).
export const IP_VS_CONN_F_TUNNEL_TYPE_IPIP = 0;
export const IP_VS_CONN_F_TUNNEL_TYPE_GUE = 1;
export const IP_VS_CONN_F_TUNNEL_TYPE_GRE = 2;
export type TunType = 0 | 1 | 2;
export const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM = 0;
export const IP_VS_TUNNEL_ENCAP_FLAG_CSUM = 1 << 0;
export const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM = 1 << 1;

/** libipvs default persistence timeout when `-p` has no value (6*60). */
export const IPVS_SVC_PERSISTENT_TIMEOUT = 360;
/** Upper bound ipvsadm accepts for -p and --set values (31 days). */
export const IPVS_MAX_TIMEOUT = 2678400;
/** INT_MAX / HZ with HZ=1000: the kernel's bound for --set values. */
export const IPVS_MAX_TIMEOUT_KERNEL = 2147483;

/** Default timeouts (seconds) changed by `--set tcp tcpfin udp`. */
export const DEFAULT_TCP_TIMEOUT = 900;
export const DEFAULT_TCPFIN_TIMEOUT = 120;
export const DEFAULT_UDP_TIMEOUT = 300;

/** What `-L` reports: IPVS 1.2.1 and 2^12 connection hash buckets. */
export const IP_VS_VERSION_CODE = 0x010201;
export const IP_VS_CONN_TAB_SIZE = 4096;

/** A deleted dest stays revivable for this long once unreferenced (IP_VS_DEST_TRASH_PERIOD). */
export const IP_VS_DEST_TRASH_PERIOD = 120;

/** Sync daemon defaults (ip_vs_sync.c). */
export const IP_VS_SYNC_GROUP = '224.0.0.81';
export const IP_VS_SYNC_PORT = 8848;
export const IP_VS_SYNC_TTL = 1;
export const IP_VS_STATE_MASTER = 1;
export const IP_VS_STATE_BACKUP = 2;
