// The resident CLI server: runs `locker` commands for locker-client (native/src/client.c) so that a
// command does not pay for starting Node (35 ms and more) and loading the runtime (50 ms). One per
// user, data dir, checkout and environment that matters (the client's socket name says which),
// started by a CLI run with Node when none was listening, ended by itself when idle, when its
// socket is removed or replaced (its data dir went), or when the build changed under it.
//
// A command runs here as it would in a CLI process of its own (io.ts): its stdin, stdout and stderr
// are the client's own descriptors, passed with the request; its environment and working
// directory are the client's; the client's signals arrive as bytes and reach the command's
// handlers; the answer is the command's exit status. What needs a process of its own (a terminal,
// --trace, a relative path) is sent back to the client to run with Node.
//
// Only its user reaches it: the socket is 0600 in a 0700 directory of the data dir, and a peer of
// another uid (root, say, or anything that got a descriptor of it) is refused by SO_PEERCRED. A
// peer of the same uid is served only when it could do all the server can itself: the same
// namespaces, groups, capabilities, no_new_privs and seccomp mode (samePrivileges). Anything else
// (a process in a container or a user namespace, a sandboxed or capability-dropped one) gets
// "fallback", and its command runs with Node there, with exactly its own privileges.
import { chmodSync, closeSync, fstatSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, unlinkSync, write, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { isatty } from 'node:tty';
import { peerCredentials, recvWithFds } from '../../../native/libc';
import { NeedsOwnProcess, withCliIo, type CliIo, type CliSignal, type CliStream } from './io';
import { networkReleased, shareRecoveries } from '../runtime/runtime';
import { main } from './main';
import { SERVED_COMMANDS } from './served-commands';

export const PROTOCOL = 'locker-cli/1';
/** Idle this long (no command running), the server ends; the next command starts another. */
const IDLE_MS = Number(process.env.LOCKER_CLI_SERVER_IDLE_MS) || 10 * 60_000;
/** A client sends its request as it connects; one that says nothing for this long is dropped. */
const REQUEST_TIMEOUT_MS = 5_000;
const MAX_REQUEST = 4 << 20;
const SIGNALS: Record<number, CliSignal> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 15: 'SIGTERM' };

export interface CliRequest {
  cwd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** The request's data after its u32 length: NUL-terminated protocol, cwd, argc, args, environment. */
export function parseRequest(data: Buffer): CliRequest {
  const parts = data.toString('utf8').split('\0');
  if (parts.pop() !== '') throw new Error('request does not end with a NUL');
  const [protocol, cwd, count, ...rest] = parts;
  if (protocol !== PROTOCOL) throw new Error(`protocol "${protocol}", expected ${PROTOCOL}`);
  const argc = Number(count);
  if (!Number.isInteger(argc) || argc < 0 || argc > rest.length) throw new Error(`argc "${count}"`);
  const env: NodeJS.ProcessEnv = {};
  for (const entry of rest.slice(argc)) {
    const eq = entry.indexOf('=');
    if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { cwd, args: rest.slice(0, argc), env };
}

/**
 * The command's stdout or stderr: the client's descriptor, written in order off the event loop (a
 * slow reader of one client's pipe holds up a pool thread, never the server). A reader gone
 * (EPIPE) ends the writing, as it would end a CLI process's.
 */
class FdWriter implements CliStream {
  private chain: Promise<void> = Promise.resolve();
  private broken = false;
  readonly isTTY: boolean;
  private readonly direct: boolean;
  private pending = 0;
  constructor(private readonly fd: number) {
    this.isTTY = isatty(fd);
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      // closed: every write fails, as it would in a CLI of its own
    }
    this.direct = !this.isTTY && !!st && (st.isFile() || st.isCharacterDevice());
  }
  write(text: string | Uint8Array): boolean {
    const buf = Buffer.from(text as Uint8Array);
    // A regular file or a device such as /dev/null takes it at once: no trip to the thread pool.
    if (this.direct && !this.pending) {
      try {
        writeSync(this.fd, buf);
      } catch {
        this.broken = true;
      }
      return true;
    }
    this.pending++;
    this.chain = this.chain.then(() => this.writeAll(buf)).finally(() => this.pending--);
    return true;
  }
  flush(): Promise<void> {
    return this.chain;
  }
  private async writeAll(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length && !this.broken) {
      try {
        off += await new Promise<number>((resolve, reject) => write(this.fd, buf, off, buf.length - off, null, (e, n) => (e ? reject(e) : resolve(n))));
      } catch (e) {
        // A description left non-blocking by whoever made it: wait for room.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') await new Promise((r) => setTimeout(r, 5));
        else this.broken = true;
      }
    }
  }
}

/** Reads the request (and its descriptors) off a connection libuv has not read from (pauseOnConnect). */
async function readRequest(fd: number): Promise<{ request: CliRequest; fds: number[] }> {
  const chunks: Buffer[] = [];
  let got = 0;
  let total = -1;
  const fds: number[] = [];
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  let waits = 0;
  try {
    while (total < 0 || got < total) {
      const buf = Buffer.alloc(total < 0 ? 65536 : Math.min(total - got, 1 << 20));
      const r = recvWithFds(fd, buf, 3);
      fds.push(...r.fds);
      if (r.bytes === 0) throw new Error('the client closed before its request was complete');
      if (r.bytes < 0) {
        if (-r.bytes !== 11 /* EAGAIN */ && -r.bytes !== 4 /* EINTR */) throw new Error(`recvmsg: errno ${-r.bytes}`);
        if (Date.now() > deadline) throw new Error('no request from the client');
        // The client sends as it connects: it is on its way (the next turn of the loop, mostly).
        await new Promise((resolve) => (++waits < 50 ? setImmediate(resolve) : setTimeout(resolve, 1)));
        continue;
      }
      chunks.push(buf.subarray(0, r.bytes));
      got += r.bytes;
      if (total < 0 && got >= 4) {
        total = Buffer.concat(chunks).readUInt32LE(0);
        if (total < 4 || total > MAX_REQUEST) throw new Error(`request of ${total} bytes`);
      }
    }
    if (fds.length !== 3) throw new Error(`${fds.length} descriptors with the request, not 3`);
    return { request: parseRequest(Buffer.concat(chunks).subarray(4, total)), fds };
  } catch (e) {
    for (const f of fds) closeSync(f);
    throw e;
  }
}

const NAMESPACES = ['user', 'mnt', 'pid', 'net', 'uts', 'ipc', 'cgroup', 'time'];
const PRIVILEGE_LINES = /^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):.*$/gm;

/** What a process may do, as far as running a command for it goes: its namespaces and credentials. */
function privileges(pid: number | 'self'): string | undefined {
  try {
    const ns = NAMESPACES.map((n) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/${n}`);
      } catch {
        return `${n}:none`; // a kernel without it: the same for both
      }
    });
    return [...ns, ...(readFileSync(`/proc/${pid}/status`, 'utf8').match(PRIVILEGE_LINES) ?? [])].join('\n');
  } catch {
    return undefined;
  }
}

/** Whether the peer (by SO_PEERCRED's pid: it waits for the answer, so it is still that process) may do what this server does. */
export function samePrivileges(pid: number): boolean {
  if (pid <= 0) return false; // in a PID namespace we cannot see
  const peer = privileges(pid);
  return peer !== undefined && peer === privileges('self');
}

/** The build the server was started from: the compiled CLI it runs; a newer one means it is stale. */
function buildStamp(): string {
  return [join(__dirname, 'main.js'), __filename].map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 'gone').join(',');
}

export interface CliServer {
  close(): Promise<void>;
}

/** Serves commands on socketPath until idle (see the top). Resolves when it has ended. */
export async function serveCli(socketPath: string): Promise<void> {
  const stamp = buildStamp();
  const uid = process.getuid!();
  // DATA_DIR/run, made by the CLI that started this server (bin/locker.js): never made recursively here.
  try {
    mkdirSync(dirname(socketPath), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  chmodSync(dirname(socketPath), 0o700);
  let active = 0;
  let stale = false;
  let idle: NodeJS.Timeout | undefined;
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => void serve(socket));
  if (!(await listen(server, socketPath))) return; // another server is listening there
  chmodSync(socketPath, 0o600);
  process.stderr.write(`locker cli server: pid ${process.pid} listening on ${socketPath}\n`);
  const ino = lstatSync(socketPath).ino;
  process.chdir('/'); // the server pins no directory; each command has its client's
  // A Runtime per command: 50 `run -d` at once share one crash recovery a second (runtime.ts).
  shareRecoveries(1000);

  let finish: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  let ending: Promise<void> | undefined;
  const end = (unlink: boolean): Promise<void> => (ending ??= new Promise<void>((resolve) => {
    clearInterval(watch);
    if (idle) clearTimeout(idle);
    if (unlink && ours()) unlinkSync(socketPath);
    // Ended once the commands running now are done too (their clients wait for their answers).
    server.close();
    // A served run answered before its veth and address were released (RunOptions.releaseNetworkLater).
    const drained = (): void => void (active === 0 ? networkReleased().then(() => (resolve(), finish())) : setTimeout(drained, 50));
    drained();
  }));
  const ours = (): boolean => {
    try {
      return lstatSync(socketPath).ino === ino;
    } catch {
      return false;
    }
  };
  // The data dir removed (a test's, say) or another server in our place: nothing reaches us now.
  const watch = setInterval(() => void (!ours() && end(false)), 2000);
  const idleAgain = (): void => {
    if (idle) clearTimeout(idle);
    if (active === 0) idle = setTimeout(() => void end(true), IDLE_MS);
  };
  idleAgain();
  warmUp();

  async function serve(socket: Socket): Promise<void> {
    // A client gone mid-way (ECONNRESET, EPIPE) is the end of its request, never of the server.
    socket.on('error', () => undefined);
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    active++;
    if (idle) clearTimeout(idle);
    let fds: number[] = [];
    try {
      const peer = peerCredentials(fd);
      if (peer.uid !== uid) return void socket.destroy();
      const got = await readRequest(fd);
      fds = got.fds;
      if (!samePrivileges(peer.pid)) return void socket.end('fallback\n');
      if (stale || buildStamp() !== stamp) {
        // Rebuilt since this server started: the client runs it with Node, which starts a new one.
        stale = true;
        socket.end('fallback-start\n');
        void end(true);
        return;
      }
      const run = runServed(socket, got.request, fds);
      socket.end(`${await run.answer}\n`);
      // The descriptors stay open until the command is done with them, answered or not.
      await run.done;
    } catch (e) {
      process.stderr.write(`locker cli server: ${(e as Error).stack ?? e}\n`);
      socket.destroy();
    } finally {
      for (const f of fds) closeSync(f);
      active--;
      if (!stale) idleAgain();
    }
  }
  // A fault in one command (an exception escaping its promise) is logged; the others go on.
  process.on('uncaughtException', (e) => process.stderr.write(`locker cli server: uncaught: ${e.stack ?? e}\n`));
  process.on('unhandledRejection', (e) => process.stderr.write(`locker cli server: unhandled: ${(e as Error)?.stack ?? e}\n`));
  await ended;
}

/**
 * Runs one request's command with its client's io. answer: the line for the client ("exit N", or
 * "fallback"), which comes early when the client is gone or got a signal the command has no
 * handler for (it would have ended the CLI); done: when the command has finished with its io.
 */
function runServed(socket: Socket, request: CliRequest, fds: number[]): { answer: Promise<string>; done: Promise<void> } {
  const handlers = new Map<CliSignal, Array<() => void>>();
  const goneHandlers: Array<() => void> = [];
  const stdout = new FdWriter(fds[1]);
  const stderr = new FdWriter(fds[2]);
  let finished = false;
  let ended = false;
  const io: CliIo = {
    stdout, stderr, env: request.env, cwd: request.cwd, stdinIsTTY: isatty(fds[0]),
    stdioFds: [fds[0], fds[1], fds[2]], served: true,
    onSignal: (sig, handler) => void handlers.set(sig, [...(handlers.get(sig) ?? []), handler]),
    onGone: (handler) => void goneHandlers.push(handler),
  };
  let early: (line: string) => void = () => undefined;
  const cut = new Promise<string>((resolve) => (early = resolve));
  // The CLI's end: its client died, or the default action of a signal would have ended it.
  const clientEnded = (line: string): void => {
    if (finished || ended) return;
    ended = true;
    goneHandlers.forEach((h) => h());
    early(line);
  };
  socket.on('data', (bytes: Buffer) => {
    for (const n of bytes) {
      const sig = SIGNALS[n];
      const hs = sig ? handlers.get(sig) : undefined;
      if (hs?.length) hs.forEach((h) => h());
      else if (sig) clientEnded(`exit ${128 + n}`);
    }
  });
  socket.on('close', () => clientEnded('gone'));
  socket.resume();
  if (!SERVED_COMMANDS.has(request.args[0])) return { answer: Promise.resolve('fallback'), done: Promise.resolve() };
  const command = withCliIo(io, () => main(request.args)).then((code) => `exit ${code}`, (e) => {
    if (e instanceof NeedsOwnProcess) return 'fallback';
    stderr.write(`locker: internal error: ${(e as Error).stack ?? e}\n`);
    return 'exit 125';
  });
  const done = command.then(async () => {
    finished = true;
    await Promise.all([stdout.flush(), stderr.flush()]);
  });
  return { answer: Promise.race([done.then(() => command), cut]), done };
}

/**
 * Loads what commands load at their first use (lazy.ts keeps a Node CLI's start small), and the
 * native library, now: the first client's command does not wait for the compile.
 */
function warmUp(): void {
  setImmediate(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    for (const m of ['./run', './control', './lifecycle', './each', './stdio', './discovered', '../runtime/detach', '../runtime/inspect', '../runtime/exec']) require(m);
    require('../../../native/libc').getuid();
    /* eslint-enable @typescript-eslint/no-require-imports */
  });
}

/** listen() on path; false when another live server holds it (a stale socket file is replaced). */
async function listen(server: Server, path: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const r = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(path, () => (server.off('error', resolve), resolve(undefined)));
    });
    if (!r) return true;
    if (r.code !== 'EADDRINUSE' || attempt > 0) throw r;
    const live = await new Promise<boolean>((resolve) => {
      const c = createConnection(path, () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (live) return false;
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path);
    } catch {
      // gone meanwhile
    }
  }
}
