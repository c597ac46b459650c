// The IPVS sync protocol's wire constants, with the kernel's names and values
// (net/netfilter/ipvs/ip_vs_sync.c, include/net/ip_vs.h). Layout: docs/sync.md.

/** v1 message header: reserved, syncid, size, nr_conns, version, spare. */
export const SYNC_HDR_V1 = 8;
/** v0 message header: nr_conns, syncid, size. */
export const SYNC_HDR_V0 = 4;
/** SYNC_PROTO_VER: the version byte of a v1 header. */
export const SYNC_PROTO_VER = 1;
/** Fixed part of a v1 entry, IPv4 and IPv6. */
export const SYNC_ENTRY_V4 = 36;
export const SYNC_ENTRY_V6 = 72;
/** A v0 entry, and its trailing sequence block when IN_SEQ/OUT_SEQ is set. */
export const SYNC_ENTRY_V0 = 24;
export const SYNC_SEQ_LEN = 24;
/** STYPE_F_INET6: bit 0 of a v1 entry's type byte. */
export const STYPE_F_INET6 = 1;
/** ver_size: high 4 bits the entry version (must be 0), low 12 bits the entry length. */
export const SVER_SHIFT = 12;
export const SVER_MASK = 0x0fff;

// Options (type, length, data), after the addresses.
export const IPVS_OPT_SEQ_DATA = 1;
export const IPVS_OPT_PE_DATA = 2;
export const IPVS_OPT_PE_NAME = 3;
/** An option type with this bit is optional: a receiver that does not know it skips it. */
export const IPVS_OPT_F_PARAM = 1 << 6;
/**
 * tsvs's FULLNAT option: lport (2) then laddr (4 or 16, the entry's family). Optional, so a
 * kernel backup ignores it (its switch masks IPVS_OPT_F_PARAM off, so the low bits must not be
 * 1..3; 0x10 is far from the kernel's list).
 */
export const TSVS_OPT_FNAT_LOCAL = IPVS_OPT_F_PARAM | 0x10;
/** IP_VS_PEDATA_MAXLEN, IP_VS_PENAME_MAXLEN. */
export const IP_VS_PEDATA_MAXLEN = 255;
export const IP_VS_PENAME_MAXLEN = 16;

export const IP_VS_CONN_F_OUT_SEQ = 0x0200;
export const IP_VS_CONN_F_IN_SEQ = 0x0400;
export const IP_VS_CONN_F_SEQ_MASK = 0x0600;

/** nr_conns is a byte; the kernel does not check for overflow, tsvs closes the message. */
export const SYNC_MAX_CONNS = 255;
/** Largest UDP payload over IPv4 (65535 - 20 - 8). */
export const SYNC_MAXLEN_MAX = 65507;
/** UDP+IP header sizes used to derive the default maxlen from 1500 or the MTU. */
export const SYNC_HDRLEN_V4 = 28;
export const SYNC_HDRLEN_V6 = 48;

/** Default IPv4 group (IP_VS_SYNC_GROUP), port (IP_VS_SYNC_PORT) and TTL. */
export const IP_VS_SYNC_GROUP = '224.0.0.81';
export const IP_VS_SYNC_PORT = 8848;
export const IP_VS_SYNC_TTL = 1;

// Sender pacing (include/net/ip_vs.h).
/** IPVS_SYNC_SEND_DELAY: the first queued message waits this long for company (HZ/50). */
export const IPVS_SYNC_SEND_DELAY_MS = 20;
/** IPVS_SYNC_WAKEUP_RATE: the sender is woken at once when this many messages wait. */
export const IPVS_SYNC_WAKEUP_RATE = 8;
/** IPVS_SYNC_CHECK_PERIOD and IPVS_SYNC_FLUSH_TIME: a partly filled message leaves after 2 s. */
export const IPVS_SYNC_CHECK_PERIOD_MS = 1000;
export const IPVS_SYNC_FLUSH_TIME_MS = 2000;
/**
 * sync_qlen_max: the kernel's default is 1/32 of free buffer pages; tsvs fixes a bound so that a
 * master that cannot send (no route, full socket) holds at most this many messages (~6 MB).
 */
export const SYNC_QLEN_MAX_DEFAULT = 4096;
