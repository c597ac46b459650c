// What the daemon's thread and the proxy workers tell each other. Messages are flat arrays of
// numbers and strings, one array per event-loop turn in each direction, so that a busy worker
// pays for one postMessage per turn, not one per connection or per segment.
//
// worker → daemon
//   ACCEPT  id svcId cport w0 w1 w2 w3   a client connected (its address as the core's 4 words)
//   IN      ref id ev bytes              client → server event (synthesised TCP flags, payload)
//   OUT     ref id ev bytes              server → client event
//   DROP    reason                       a drop counter to bump
//   HEALTH  ref id health detail         the dest of this conn answered (or not)
//   CLOSED  ref id                       both sockets are closed: no more events for this conn
//   CONNECTED ref id                     the real server accepted: its SYN+ACK, the client's
//                                        ACK, and the dest is healthy (one event for three)
//   SETTLED token                        every event before this one has been sent
//   UDP     flow svcId cport w0 w1 w2 w3 len   a datagram the core must see (a new flow, a
//                                        one-packet service, a flow told to go slow or near
//                                        its timeout); the worker holds it until UDECIDE
//   PICKED  id svcId destId cport w0 w1 w2 w3   a client connected and the worker picked its
//                                        dest from the service's plan (plans.ts) and is
//                                        connecting; its events carry ref -1 (the core's ref
//                                        is found by id)
// daemon → worker
//   DECIDE   id ref host port pp          the core's choice for ACCEPT id (ref < 0: reset it)
//   DESTROY  id                           the core expired the conn: close both sockets
//   LISTEN   svcId fd                     accept on this listening socket for this service
//   UNLISTEN svcId                        stop accepting for this service
//   SETTLE   token                        answer SETTLED once earlier events are sent
//   STOP                                  close every socket and exit (epoll workers)
//   ULISTEN  svcId fd                     receive datagrams on this bound UDP socket
//   UDECIDE  flow ref host port ops ms    the core's verdict for the flow's oldest held
//                                         datagram (ref < 0: drop it); ms: the UDP timeout
//   UFORGET  flow ref                     the core expired the flow's conn: close its socket
//   USLOW    flow                         the flow's dest was deleted: every datagram goes
//                                         through the core again (which drops them)
//   PLAN     svcId sab prefix period n (destId host port pp)×n
//                                         pick for the service from this plan (a shared
//                                         counter and the picks, plans.ts)
//   NOPLAN   svcId                         the service's plan is closed: ACCEPT again
//   RESET    id                            the core refused a PICKED conn: reset the client
//
// A worker's first message is ['ready', eventfd]: the eventfd the daemon's thread writes to
// after posting to an epoll worker (-1 for a worker on Node's sockets).

export type Batch = (number | string | SharedArrayBuffer)[];

export const W_ACCEPT = 1;
export const W_IN = 2;
export const W_OUT = 3;
export const W_DROP = 4;
export const W_HEALTH = 5;
export const W_CLOSED = 6;
export const W_SETTLED = 7;
export const W_UDP = 8;
export const W_PICKED = 9;
export const W_CONNECTED = 10;

export const D_DECIDE = 1;
export const D_DESTROY = 2;
export const D_LISTEN = 3;
export const D_UNLISTEN = 4;
export const D_SETTLE = 5;
export const D_STOP = 6;
export const D_ULISTEN = 7;
export const D_UDECIDE = 8;
export const D_UFORGET = 9;
export const D_USLOW = 10;
export const D_PLAN = 11;
export const D_NOPLAN = 12;
export const D_RESET = 13;
