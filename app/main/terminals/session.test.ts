// A terminal session over a real pty: every byte of a large output reaches each reader, in order,
// with flow control (the pty paused while a reader is behind, resumed by its acks), and the exit
// is told only after the last byte.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TerminalData } from '../../shared/api';
import { BATCH_BYTES, openPty } from '../runtime/terminal';
import { ByteCheck, writeLinesFile } from '../testing/pty-lines';
import { HIGH_WATERMARK } from './flow';
import { TerminalSession } from './session';

const dir = mkdtempSync(join(tmpdir(), 'locker-session-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'lines');
const expected = writeLinesFile(file, 50_000); // 4 MB: several times the high watermark

function catSession(onData: (d: TerminalData, s: TerminalSession) => void, onPause: () => void = () => {}) {
  const pty = openPty(80, 24);
  const child = spawn('cat', [file], { stdio: [pty.slaveFd, pty.slaveFd, pty.slaveFd] });
  pty.releaseSlave();
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  let exit!: (code: number) => void;
  const told = new Promise<number>((r) => (exit = r));
  let session!: TerminalSession;
  let paused = 0;
  const handle = { ...pty.handle, pause: () => (paused++, pty.handle.pause(), onPause()) };
  session = new TerminalSession({ terminalId: 't', kind: 'container', title: 'cat' }, handle, exited, {
    data: (d) => onData(d, session),
    exit: (e) => exit(e.exitCode),
  });
  return { session, told, pauses: () => paused };
}

test('a reader acking late gets every byte, in order, and the exit after the last one', async () => {
  const got = new ByteCheck();
  let atExit = -1;
  let maxBehind = 0;
  let behind = 0;
  // a slow renderer: it acks what it has parsed only once the pty has had to stop, a moment later
  const { session, told, pauses } = catSession((d) => {
    assert.equal(atExit, -1, 'data came after the exit was told');
    got.push(d.data);
    behind += d.bytes;
    maxBehind = Math.max(maxBehind, behind);
  }, () => setTimeout(() => {
    const n = behind;
    behind = 0;
    session.ack(n, 'pane');
  }, 5));
  session.snapshot('pane');
  assert.equal(await told.then((code) => ((atExit = got.bytes), code)), 0);
  assert.equal(got.problem(expected), undefined);
  assert.equal(atExit, expected.length, 'the exit came before the last byte');
  assert.ok(pauses() > 0, 'the pty was never paused: flow control did not engage');
  // Bounded: the pause comes after the chunk that crossed the watermark (one read batch), and at the
  // end what the kernel's pty buffers still hold (tens of KiB) is read even while paused.
  assert.ok(maxBehind < HIGH_WATERMARK + BATCH_BYTES + 64 * 1024, `a reader was ${maxBehind} bytes behind`);
  session.close();
});

test('flow control is per reader: a reader that left no longer holds the pty', async () => {
  const fast = new ByteCheck();
  const { session, told } = catSession((d, s) => {
    fast.push(d.data);
    setImmediate(() => s.ack(d.bytes, 'fast'));
  });
  session.snapshot('fast');
  // a second reader that never acks: once it detaches, the fast one runs to the end
  session.snapshot('stuck');
  setTimeout(() => session.detach('stuck'), 50);
  assert.equal(await told, 0);
  assert.equal(fast.problem(expected), undefined);
  session.close();
});
