// Every byte of a large output, in order, through each terminal path a container's pty takes: the
// runtime's handle in-process, web mode's WebSocket to a client that acks like TerminalPane (with
// the exit after the last byte), and `locker run -t` into a pipe. The output is 4 MB of numbered
// 80-column lines catted in a container, far more than the pty and flow control hold, ending at exit.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Channel, type Envelope, type RunResult, type ServerMessage, type TerminalData, type TerminalExit, type TerminalSnapshot } from '../../shared/api';
import { tokenProtocols } from '../../shared/web-auth';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { Runtime } from '../runtime/runtime';
import { CLI, sandbox } from '../testing/harness';
import { ByteCheck, writeLinesFile } from '../testing/pty-lines';
import { startWeb } from '../web/start';
import { SCROLLBACK_BYTES } from './session';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-paths-test-'));
const rootfs = join(work, 'rootfs');
let expected: Buffer;
before(() => {
  cpSync(defaultRootfs(imagesDir(sb.dataDir)), rootfs, { recursive: true, verbatimSymlinks: true });
  expected = writeLinesFile(join(rootfs, 'lines'), 50_000);
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  sb.cleanup();
});

test('in-process: the container handle delivers every byte, the end after exit', async () => {
  const rt = new Runtime({ dataDir: sb.dataDir, autoRemove: true });
  const h = await rt.run({ command: ['/bin/cat', '/lines'], rootfs, tty: true });
  const got = new ByteCheck();
  h.terminal!.onData((b) => got.push(b));
  assert.equal((await h.exited).exitCode, 0);
  await h.terminal!.drain!();
  assert.equal(got.problem(expected), undefined);
  h.terminal!.close();
});

test('exec -t: a pty of the container\'s own devpts delivers every byte before the exit status', async () => {
  const rt = new Runtime({ dataDir: sb.dataDir, autoRemove: true });
  const c = await rt.run({ command: ['/bin/sleep', '60'], rootfs });
  try {
    const e = await rt.exec(c.info.id, ['/bin/cat', '/lines'], { tty: true });
    const got = new ByteCheck();
    e.terminal!.onData((b) => got.push(b));
    assert.equal(await e.exited, 0);
    await e.terminal!.drain!();
    assert.equal(got.problem(expected), undefined);
    e.terminal!.close();
  } finally {
    await rt.stop(c.info.id, 0);
  }
});

test('web mode: a client acking each chunk gets every byte, then the exit', async () => {
  const rt = new Runtime({ dataDir: sb.dataDir });
  const web = await startWeb({ host: '127.0.0.1', port: 0, runtime: rt });
  const hostPort = new URL(web.url).host;
  const ws = new WebSocket(web.wsUrl, tokenProtocols(web.token), { headers: { Origin: web.origin } });
  try {
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    assert.ok(hostPort);
    const pending = new Map<number, (env: Envelope<unknown>) => void>();
    let next = 1;
    const got = new ByteCheck();
    let terminalId = '';
    let end = -1;
    const early: TerminalData[] = [];
    let exit!: (e: TerminalExit) => void;
    const exited = new Promise<TerminalExit>((r) => (exit = r));
    let bytesAtExit = -1;
    const show = (d: TerminalData): void => {
      assert.equal(bytesAtExit, -1, 'data came after the exit');
      got.push(d.data);
      // TerminalPane's ack: fire-and-forget, after "xterm" has taken the chunk
      setImmediate(() => ws.send(JSON.stringify({ t: 'notify', ch: Channel.ackTerminal, arg: { terminalId, bytes: d.bytes } })));
    };
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as ServerMessage;
      if (msg.t === 'reply') return void pending.get(msg.id)?.(msg.env);
      if (msg.ch === Channel.terminalData) {
        const d = msg.payload as TerminalData;
        assert.equal(d.terminalId, terminalId, 'data of a terminal this client did not attach');
        if (end < 0) early.push(d);
        else if (d.offset >= end) show(d);
      } else if (msg.ch === Channel.terminalExit && (msg.payload as TerminalExit).terminalId === terminalId) {
        bytesAtExit = got.bytes;
        exit(msg.payload as TerminalExit);
      }
    });
    const call = <T>(name: keyof typeof Channel, arg: unknown): Promise<T> => new Promise<Envelope<unknown>>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ t: 'call', id, ch: Channel[name], arg }));
    }).then((env) => {
      if ('error' in env) throw new Error(env.error);
      return env.result as T;
    });
    const run = await call<RunResult>('run', { command: ['/bin/cat', '/lines'], rootfs, namespaces: ['pid', 'uts', 'mnt', 'ipc'], cols: 80, rows: 24 });
    terminalId = run.terminal!.terminalId;
    const snap = await call<TerminalSnapshot>('attachTerminal', { terminalId });
    // the snapshot holds what came before the attach (up to the scrollback); live chunks from its end
    got.push(snap.data);
    end = snap.end;
    for (const d of early.splice(0)) if (d.offset >= end) show(d);
    if (snap.exited) bytesAtExit = got.bytes;
    else assert.equal((await exited).exitCode, 0);
    // a new terminal's output waits for its first reader, so the scrollback still holds its start
    assert.ok(snap.end <= SCROLLBACK_BYTES, `the output ran ${snap.end} bytes ahead of the first reader`);
    assert.equal(got.problem(expected), undefined);
    assert.equal(bytesAtExit, expected.length, 'the exit came before the last byte');
    await call('remove', { id: run.container.id });
  } finally {
    ws.close();
    await web.close();
    for (const c of rt.list()) await rt.remove(c.id, true).catch(() => undefined);
  }
});

test('locker run -t into a pipe: every byte reaches stdout (and `| wc -c` counts them all)', async () => {
  const child = spawn(CLI, ['run', '-t', '--rootfs', rootfs, '--', '/bin/cat', '/lines'], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const got = new ByteCheck();
  let err = '';
  child.stdout.on('data', (b: Buffer) => got.push(b));
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 0, err);
  assert.equal(got.problem(expected), undefined);
  const wc = spawnSync('/bin/sh', ['-c', `"${CLI}" run -t --rootfs "${rootfs}" -- /bin/cat /lines | wc -c`], { env: sb.env, encoding: 'utf8', timeout: 120000 });
  assert.equal(wc.stdout.trim(), String(expected.length), wc.stderr);
});
