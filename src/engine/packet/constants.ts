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
/** The program of a CBPF fanout group (a struct sock_fprog). */
export const PACKET_FANOUT_DATA = 22;
export const PACKET_IGNORE_OUTGOING = 23;
export const TPACKET_V3 = 2;
export const PACKET_FANOUT_HASH = 0;
/** The group's classic BPF program returns the member's index (modulo the member count). */
export const PACKET_FANOUT_CBPF = 6;
/** The kernel picks an unused group id; only the creating socket passes it (Linux 4.19). */
export const PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
/** The group's hook skips frames this host sends, as PACKET_IGNORE_OUTGOING does for one socket (Linux 6.2). */
export const PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
/** setsockopt(SOL_SOCKET) options of a socket's own classic BPF filter (<asm-generic/socket.h>). */
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;

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
 * 128 blocks = 32 MiB per ring, the size a ring grows to under load. A block retires after
 * RX_BLOCK_TIMEOUT_MS even when nearly empty, so at light load the ring holds only
 * (blocks × timeout) of traffic: with 32 blocks, 32 ms, less than one scheduler slice when the
 * director shares its core (measured: loss from 50k pps). 128 blocks hold 128 ms.
 */
export const RX_BLOCK_NR = 128;
/**
 * The ring a port starts with: 16 blocks of 128 KiB, 2 MiB. The kernel maps every page of a ring
 * at mmap, so an idle director with two interfaces held 64 MiB of 128-block rings (RSS 124 MB);
 * the small ring keeps that to 4 MiB and grows to RX_BLOCK_NR once traffic needs it (rxring.ts).
 * At light load a block retires per timeout with a few frames in it, so the small ring holds
 * RX_SMALL_BLOCK_NR × RX_SMALL_BLOCK_TIMEOUT_MS of traffic, and must hold it until the big ring
 * has taken over (some 20-60 ms). 8 blocks of 256 KiB at 1 ms held 8 ms: a CI run lost 10 of
 * 20,000 frames at 10k/s during the growth on a loaded machine, and with two CPU hogs on the
 * 2 cores 2 of 4 runs lost 150 and 160; 16 blocks at 2 ms hold 32 ms in the same 2 MiB, and
 * lost none in 10 such runs.
 */
export const RX_SMALL_BLOCK_NR = 16;
/** 128 KiB: still room for one 64 KiB GRO frame with its headers, which must never be cut. */
export const RX_SMALL_BLOCK_SIZE = 1 << 17;
/** The small ring's retire timeout: latency at light load, traded for the time its 16 blocks hold. */
export const RX_SMALL_BLOCK_TIMEOUT_MS = 2;
/**
 * Grow when, at a release, this many blocks are ready behind the walked one: half the small
 * ring. The director fell that far behind once, a second stall as long would fill it.
 */
export const RX_GROW_BACKLOG = RX_SMALL_BLOCK_NR / 2;
/** Nominal frame size (V3 ignores it for placement but validates it). */
export const RX_FRAME_SIZE = 2048;
/** Retire a partly filled block after this many ms so that light traffic is not delayed. */
export const RX_BLOCK_TIMEOUT_MS = 1;
/**
 * After the handover the small ring's last partly filled block retires on the kernel's block
 * timer (which retires a block only at its second tick on it): the old socket is kept at
 * least this long, and until no block of it holds frames.
 */
export const RX_HANDOVER_MIN_MS = 2 * RX_SMALL_BLOCK_TIMEOUT_MS;
/**
 * Grow when the small ring turns over (RX_SMALL_BLOCK_NR blocks walked) faster than this: it
 * then holds less traffic than the full ring holds at light load, RX_BLOCK_NR block timeouts
 * (the stall it was sized for). Light traffic retires a block per timeout, so this fires from
 * some 60 frames/s on; an idle director's ARP and checks take seconds to turn it over.
 */
export const RX_GROW_TURNOVER_MS = RX_BLOCK_NR * RX_BLOCK_TIMEOUT_MS;
/**
 * A safety bound, never reached when the kernel behaves as read: the timer retires a block
 * within two ticks (a few ms even at HZ=100). Past this the small ring is closed anyway, with a
 * warning, rather than hold back the big ring's frames for ever.
 */
export const RX_HANDOVER_MAX_MS = 1000;

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

/**
 * AF_XDP (docs/packet-engine.md, "AF_XDP"): UMEM frames and ring sizes. A frame is half a page,
 * the smallest chunk the kernel takes: an Ethernet frame of MTU 1500 fits (XDP_MAX_FRAME), and
 * the same pinned memory holds twice the frames a page each would.
 */
export const XDP_FRAME_SIZE = 2048;
/** XDP_PACKET_HEADROOM: copy mode writes a frame this far into its chunk. */
export const XDP_HEADROOM = 256;
/**
 * Frames of one socket's slice of the shared UMEM: as many as its RX ring holds. The ring is the
 * only buffer between the kernel and a daemon that falls behind: a fresh daemon's first burst
 * runs before V8 has optimised the path (its compiler on the director's core too), and at
 * 100 kpps one turn took 70 ms, 7000 frames, which 2048 did not hold (the CPU bench lost 0.2–2 %
 * of its first trial, all in that turn).
 */
export const XDP_FRAMES = 8192;
/**
 * Sockets (interfaces) sharing one UMEM, so that frames leave another interface's TX ring without
 * a copy. The kernel pins a UMEM whole at registration: 4 slices are 64 MiB, two interfaces'
 * packet rings once grown; a fifth interface starts a second UMEM (frames between the two groups
 * leave through the packet socket).
 */
export const XDP_UMEM_SLICES = 4;
export const XDP_RX_RING_SIZE = XDP_FRAMES;
export const XDP_FILL_RING_SIZE = XDP_FRAMES;
/**
 * TX ring and completion ring: the completion ring bounds the frames in flight (the kernel takes a
 * TX descriptor only with room to complete it); copy mode's socket send buffer bounds them far
 * lower (a few hundred 64 B frames), so 1024 never limits.
 */
export const XDP_TX_RING_SIZE = 1024;
export const XDP_COMPLETION_RING_SIZE = 1024;
/** sendto() kicks per flush that may find the kernel busy before the rest waits for the next flush. */
export const XDP_TX_KICKS = 64;
/** Longest frame the XDP program redirects: what a UMEM frame holds after the kernel's headroom (the kernel drops a longer one); longer ones (jumbo frames, a local stack's GRO'd segments) stay on the packet socket. */
export const XDP_MAX_FRAME = XDP_FRAME_SIZE - XDP_HEADROOM;
/** Descriptors walked per AF_XDP "block" (one turn of the engine per interface). */
export const XDP_RX_BATCH = 256;
