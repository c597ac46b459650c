// VRRP's numbers (RFC 3768, RFC 5798) and keepalived's defaults (docs/spec/ha.md A.1, A.5-A.7), in
// one place, each with where it comes from.

/** IP protocol number of VRRP (IANA). */
export const VRRP_PROTO = 112;
/** Adverts are sent with TTL / hop limit 255 so that a receiver knows they came from the link. */
export const VRRP_TTL = 255;
/** Version/type byte's low nibble: ADVERTISEMENT is the only type. */
export const VRRP_TYPE_ADVERT = 1;
/** Fixed part of the message before the addresses. */
export const VRRP_HEADER_LEN = 8;
/** VRRPv2's authentication data after the addresses (RFC 2338: 8 bytes). */
export const VRRP_AUTH_DATA_LEN = 8;
/** Multicast groups of VRRP. */
export const VRRP_MCAST4 = '224.0.0.18';
export const VRRP_MCAST6 = 'ff02::12';

/** Priority of the address owner: master at once. */
export const PRIO_OWNER = 255;
/** Priority of a master that is stopping: backups take over after skew time. */
export const PRIO_STOP = 0;
/** keepalived's default priority. */
export const PRIO_DEFAULT = 100;

/** keepalived's default advert_int: 1 s. */
export const ADVERT_INT_DEFAULT_CS = 100;
/** v3's 12-bit interval field caps it at 40.95 s; v2's byte at 255 s. */
export const ADVERT_INT_MAX_V3_CS = 4095;
export const ADVERT_INT_MAX_V2_S = 255;
/** Adverts missed before the master is declared down (RFC's 3; keepalived's down_timer_adverts). */
export const DOWN_TIMER_ADVERTS = 3;
/** keepalived's limit on preempt_delay, seconds. */
export const PREEMPT_DELAY_MAX_S = 1000;

/** keepalived's vrrp_garp_master_repeat: GARP/NA per address on becoming master. */
export const GARP_MASTER_REPEAT_DEFAULT = 5;
/** keepalived's vrrp_garp_master_delay: the second burst, seconds after becoming master. */
export const GARP_MASTER_DELAY_DEFAULT_S = 5;

/**
 * How often the sockets are read and the timers looked at, ms. Adverts come a few per second;
 * 5 ms keeps the failover latency added by polling far below the 100 ms margin of the target
 * while costing a few hundred cheap calls a second.
 */
export const VRRP_POLL_MS = 5;
/** Largest VRRP packet read: IPv4 header with options + 255 IPv6 addresses fits easily. */
export const VRRP_RECV_BUF = 8192;
/** How often track_interface and the instance's interface are looked at, ms. */
export const LINK_POLL_MS = 100;

/** A director answers a control request in milliseconds; 5 s means it is wedged. */
export const DIRECTOR_REPLY_MS = 5000;
/**
 * How often the keepalived process pings the director it told the VIPs (director-vips.ts): a
 * killed director is started again and told within a second, the order of one VRRP advert
 * interval, for one cheap request a second.
 */
export const DIRECTOR_WATCH_MS = 1000;
