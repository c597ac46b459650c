// Limits and kernel constants of the packet engine's raw-frame I/O, in one place.
// Values from <linux/if_packet.h> and <linux/if_ether.h> (x86-64 and arm64 agree on all of
// them); the general socket, mmap, poll and errno ones are in sys/constants.ts.
// MAP_LOCKED is not used: it would need RLIMIT_MEMLOCK, and the ring is touched constantly.

export const AF_PACKET = 17;
export const SOL_PACKET = 263;
/** htons(ETH_P_ALL): receive every protocol, seen before the netdev ingress hook (see notes). */
export const ETH_P_ALL_BE = 0x0300;

export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_VERSION = 10;
export const PACKET_VNET_HDR = 15;
export const PACKET_FANOUT = 18;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;
export const TPACKET_V3 = 2;
export const PACKET_FANOUT_HASH = 0;
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1;
export const TP_STATUS_VLAN_VALID = 0x10;

/** sizeof(struct virtio_net_hdr): prefixed to frames when PACKET_VNET_HDR is on. */
export const VNET_HDR_LEN = 10;

// Ring geometry. A block holds many frames (TPACKET_V3 packs them back to back); the block is
// handed to user space when full or when the retire timer fires.
/** 256 KiB blocks: room for several 64 KiB GRO frames. */
export const RX_BLOCK_SIZE = 1 << 18;
/**
 * 128 blocks = 32 MiB per ring. A block retires after RX_BLOCK_TIMEOUT_MS even when nearly
 * empty, so at light load the ring holds only (blocks × timeout) of traffic: with 32 blocks,
 * 32 ms, less than one scheduler slice when the director shares its core (measured: loss
 * from 50k pps). 128 blocks hold 128 ms.
 */
export const RX_BLOCK_NR = 128;
/** Nominal frame size (V3 ignores it for placement but validates it). */
export const RX_FRAME_SIZE = 2048;
/** Retire a partly filled block after this many ms so that light traffic is not delayed. */
export const RX_BLOCK_TIMEOUT_MS = 1;

/** Frames sent per sendmmsg call. */
export const TX_BATCH = 256;
/** Bytes reserved per frame in the transmit arena (a GRO frame fits). */
export const TX_SLOT_SIZE = 65536 + 64;

// Following the kernel's network state over rtnetlink (rtnl.ts).
/**
 * Receive buffer of the netlink socket: 4 MiB holds the notifications of a burst such as a
 * routing daemon installing some ten thousand routes at once (about 100 bytes each with their
 * skb overhead several times that); past it the kernel reports ENOBUFS and everything is dumped again.
 */
export const RTNL_RCVBUF = 4 << 20;
/** One recv: the kernel builds dump datagrams of at most 32 KiB (netlink_dump), twice that is safe. */
export const RTNL_RECV_LEN = 64 << 10;
/** Datagrams read per call before the data path gets its turn again. */
export const RTNL_RECV_PER_PUMP = 64;
/** The start-up dump must finish within this (a full routing table takes a few seconds). */
export const RTNL_DUMP_TIMEOUT_MS = 30_000;

/**
 * The forwarder warms the conn table for a ring block (forward.ts, warmFlush) from this many
 * conns on. Below it the table's records and index (about 70 B a conn) stay in this machine
 * kind's 1 MiB L2 per core, and the extra pass over the block only costs: measured (bench
 * `table`, warming forced) 0.92-0.95x at 1,000 conns, 1.18-1.32x at 30,000, 1.6x at 1 M.
 */
export const WARM_MIN_CONNS = 16384;
/** Hashes collected before the table is touched: the loads of one batch overlap (ConnTable.warm). */
export const WARM_BATCH = 32;

/** AF_XDP (docs/packet-engine.md, "AF_XDP"): UMEM frames, each one page, and ring sizes. */
export const XDP_FRAME_SIZE = 4096;
export const XDP_FRAMES = 4096;
export const XDP_RX_RING_SIZE = 2048;
export const XDP_FILL_RING_SIZE = 4096;
/** Longest frame the XDP program redirects: a UMEM frame less the kernel's 256-byte headroom, with room to spare; longer ones (GRO'd by a local stack) stay on the packet socket. */
export const XDP_MAX_FRAME = 3072;
/** Descriptors walked per AF_XDP "block" (one turn of the engine per interface). */
export const XDP_RX_BATCH = 256;
