// Netlink, the kernel's message interface for networking, in the layout every netlink family shares:
// a 16-byte nlmsghdr, a family header, then attributes (type-length-value, 4-byte aligned, which
// may nest). Encoding and ack parsing are pure (rtnetlink.test.ts); NetlinkSocket sends requests
// through native/libc.ts and logs each as one readable syscall-log row with the kernel's answer; a
// refusal carries the kernel's own words for it (extended acks) where the kernel gives some.
// Families build their messages on top: rtnetlink.ts (links, addresses, routes).
import { SyscallError, errnoName } from '../../../../native/errors';
import { close, describeErrno, netlinkRecv, netlinkSend, netlinkSocket, setsockoptInt } from '../../../../native/libc';
import { syscallLog } from '../../../../native/syscall-log';

/** Netlink protocols (socket(AF_NETLINK, SOCK_RAW, protocol)). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

/** nlmsghdr flags for every request. */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
/** GET requests: every object, not one (NLM_F_ROOT|NLM_F_MATCH). */
export const NLM_F_DUMP = 0x300;
/** Flags of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** Marks an attribute whose payload is attributes (required by newer families such as nf_tables). */
export const NLA_F_NESTED = 0x8000;

export const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
export const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: u16 length (header + payload, unpadded), u16 type, the payload padded to 4 bytes. */
export function attr(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(align4(NLA_HDRLEN + payload.length));
  out.writeUInt16LE(NLA_HDRLEN + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

export const u8Attr = (type: number, v: number): Buffer => attr(type, Buffer.from([v]));
export function u16Attr(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return attr(type, b);
}
export function u32Attr(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
}
/** A u32 in network byte order (nf_tables' integers are big-endian). */
export function u32beAttr(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return attr(type, b);
}
/** A NUL-terminated string (interface names, link kinds). */
export const stringAttr = (type: number, s: string): Buffer => attr(type, Buffer.from(s + '\0', 'utf8'));
/** An attribute holding attributes; `flag` sets NLA_F_NESTED in its type. */
export const nestedAttr = (type: number, children: readonly Buffer[], flag = false): Buffer =>
  attr(flag ? type | NLA_F_NESTED : type, Buffer.concat(children));

/**
 * One message: nlmsghdr { u32 len, u16 type, u16 flags, u32 seq, u32 pid } + the family's header +
 * attributes. seq is set by NetlinkSocket when it sends; pid 0 addresses the kernel.
 */
export function message(type: number, flags: number, familyHeader: Buffer, attrs: readonly Buffer[] = [], seq = 0): Buffer {
  const body = Buffer.concat([familyHeader, Buffer.alloc(align4(familyHeader.length) - familyHeader.length), ...attrs]);
  const head = Buffer.alloc(NLMSG_HDRLEN);
  head.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([head, body]);
}

export interface ReceivedMessage {
  type: number;
  flags: number;
  seq: number;
  /** What follows the nlmsghdr. */
  payload: Buffer;
}

/** The messages of one datagram from the kernel; a truncated tail is left out. */
export function parseMessages(buf: Buffer): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length;) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** For an NLMSG_ERROR message (the ack): 0 for success, else the positive errno; undefined for other messages. */
export function ackErrno(m: ReceivedMessage): number | undefined {
  if (m.type !== NLMSG_ERROR || m.payload.length < 4) return undefined;
  return -m.payload.readInt32LE(0) || 0; // not -0 for success
}

/** nlmsgerr flags: the request is not echoed back whole (only its header); attributes follow it. */
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

/**
 * The kernel's explanation in an extended ack (NLMSG_ERROR, or a dump's NLMSG_DONE): the text of
 * NLMSGERR_ATTR_MSG, e.g. "Attribute failed policy validation"; undefined when it gave none.
 */
export function ackMessage(m: ReceivedMessage): string | undefined {
  if (!(m.flags & NLM_F_ACK_TLVS) || m.payload.length < 4) return undefined;
  let offset = 4; // the errno
  if (m.type === NLMSG_ERROR) {
    if (m.payload.length < 4 + NLMSG_HDRLEN) return undefined;
    // the request comes back after the errno: its header only when capped, else whole
    offset += m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(m.payload.readUInt32LE(4));
  } else if (m.type !== NLMSG_DONE) return undefined;
  const text = parseAttrs(m.payload, offset).get(NLMSGERR_ATTR_MSG);
  if (!text) return undefined;
  const end = text.indexOf(0);
  return text.subarray(0, end < 0 ? text.length : end).toString('utf8') || undefined;
}

/** Attributes of a payload from `offset` (after the family header): type (NLA_F_* bits cleared) → payload. */
export function parseAttrs(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = offset; off + NLA_HDRLEN <= buf.length;) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

const PROTOCOL_NAMES: Record<number, string> = { [NETLINK_ROUTE]: 'NETLINK_ROUTE', [NETLINK_NETFILTER]: 'NETLINK_NETFILTER' };
/** errno of a request the kernel did not answer (it answers in sendmsg's own call, so none came). */
const ENOMSG = 42;
const EAGAIN = 11;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;

/**
 * A netlink socket of this process's network namespace. Each request() sends its messages in one
 * send and reads the kernel's acks (every message must ask for one: NLM_F_ACK); the kernel answers
 * within the send, so the read never waits. The request is one syscall-log row, `sendmsg(PROTOCOL,
 * what)`, with the kernel's answer as its result; a refusal throws that row's SyscallError.
 */
export class NetlinkSocket {
  private seq = 0;
  private readonly reply = Buffer.alloc(65536);
  readonly protocolName: string;

  private constructor(readonly fd: number, protocol: number) {
    this.protocolName = PROTOCOL_NAMES[protocol] ?? `netlink protocol ${protocol}`;
  }

  static open(protocol: number): NetlinkSocket {
    return NetlinkSocket.adopt(netlinkSocket(protocol, PROTOCOL_NAMES[protocol] ?? String(protocol)), protocol);
  }

  /** A socket made elsewhere (namespace-thread.ts makes them inside other namespaces); closed by close(). */
  static adopt(fd: number, protocol: number): NetlinkSocket {
    try {
      // The kernel then says why it refused, not only the errno (Linux 4.12 and later; older ones just don't).
      setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, 'SOL_NETLINK, NETLINK_EXT_ACK');
    } catch {
      // without it, refusals are the errno alone
    }
    return new NetlinkSocket(fd, protocol);
  }

  private fail(args: string, err: number, explanation: string | undefined): never {
    throw new SyscallError('sendmsg', args, err, explanation ? `${describeErrno(err)}: ${explanation}` : describeErrno(err));
  }

  /** Sends `messages` (each with NLM_F_ACK) as one datagram; `what` says in the log what they do. */
  request(what: string, ...messages: Buffer[]): void {
    const pending = new Set<number>();
    // The kernel reports an error for any message, acked or not (a netfilter batch's BEGIN when nf_tables is missing).
    const sentSeqs = new Set<number>();
    const out = Buffer.concat(messages.map((m) => {
      const copy = Buffer.from(m);
      const seq = ++this.seq;
      copy.writeUInt32LE(seq, 8);
      sentSeqs.add(seq);
      if (copy.readUInt16LE(6) & NLM_F_ACK) pending.add(seq);
      return copy;
    }));
    if (pending.size === 0) throw new Error(`netlink request without NLM_F_ACK: ${what}`);
    const args = `${this.protocolName}, ${what}`;
    let err = 0;
    let explanation: string | undefined;
    const sent = netlinkSend(this.fd, out);
    if (sent < 0) err = -sent;
    while (err === 0 && pending.size > 0) {
      const n = netlinkRecv(this.fd, this.reply);
      if (n < 0) {
        err = -n === EAGAIN ? ENOMSG : -n;
        break;
      }
      for (const m of parseMessages(this.reply.subarray(0, n))) {
        const e = ackErrno(m);
        if (e === undefined || !sentSeqs.has(m.seq)) continue;
        pending.delete(m.seq);
        if (e !== 0) {
          err = e;
          explanation = ackMessage(m);
          break;
        }
      }
    }
    // What a failed batch left unanswered must not be read as the next request's acks.
    if (err !== 0) while (netlinkRecv(this.fd, this.reply) > 0) { /* drain */ }
    syscallLog.record({ where: 'host', name: 'sendmsg', args, result: err ? -1 : out.length, errno: err ? errnoName(err) : undefined, t: Date.now() });
    if (err) this.fail(args, err, explanation);
  }

  /**
   * Sends one dump request (NLM_F_DUMP) and answers the messages of its reply up to NLMSG_DONE (the
   * kernel makes each further part as the previous one is read, so no read waits). One log row.
   */
  dump(what: string, request: Buffer): ReceivedMessage[] {
    const out = Buffer.from(request);
    const seq = ++this.seq;
    out.writeUInt32LE(seq, 8);
    const args = `${this.protocolName}, ${what}`;
    const answers: ReceivedMessage[] = [];
    let err = 0;
    let explanation: string | undefined;
    let done = false;
    const sent = netlinkSend(this.fd, out);
    if (sent < 0) err = -sent;
    while (err === 0 && !done) {
      const n = netlinkRecv(this.fd, this.reply);
      if (n < 0) {
        err = -n === EAGAIN ? ENOMSG : -n;
        break;
      }
      for (const m of parseMessages(this.reply.subarray(0, n))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) {
          // a dump that fails part way ends with DONE carrying -errno
          if (m.payload.length >= 4 && m.payload.readInt32LE(0) < 0) {
            err = -m.payload.readInt32LE(0);
            explanation = ackMessage(m);
          }
          done = true;
          break;
        }
        const e = ackErrno(m);
        if (e) {
          err = e;
          explanation = ackMessage(m);
          break;
        }
        // A copy: the reply buffer is read into again.
        if (e === undefined) answers.push({ ...m, payload: Buffer.from(m.payload) });
      }
    }
    if (err !== 0) while (netlinkRecv(this.fd, this.reply) > 0) { /* drain */ }
    syscallLog.record({ where: 'host', name: 'sendmsg', args, result: err ? -1 : answers.length, errno: err ? errnoName(err) : undefined, t: Date.now() });
    if (err) this.fail(args, err, explanation);
    return answers;
  }

  close(): void {
    close(this.fd);
  }
}

/** Opens a socket of `protocol`, runs fn with it and closes it. */
export function withNetlink<T>(protocol: number, fn: (nl: NetlinkSocket) => T): T {
  const nl = NetlinkSocket.open(protocol);
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/** Whether e is a netlink request the kernel refused with errno `code` (e.g. 'EEXIST'). */
export function refusedWith(e: unknown, code: string): boolean {
  return e instanceof SyscallError && e.syscall === 'sendmsg' && e.code === code;
}
