// A pty handle keeps what was printed before anyone subscribed: a shell's first prompt can arrive
// before the launch has handed the handle to a terminal session.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ByteCheck, writeLinesFile } from '../testing/pty-lines';
import { EARLY_BYTES, openPty } from './terminal';

const dir = mkdtempSync(join(tmpdir(), 'locker-pty-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// 4 MB of 80-column lines: far more than the kernel's pty buffers, so the end of it is still in
// the kernel when the writer exits
const LINES = 50_000;
const file = join(dir, 'lines');
const expected = writeLinesFile(file, LINES);

/** `cat FILE` on the pty's slave, as a container's init would; resolves when it has exited. */
function catOnPty(pty: ReturnType<typeof openPty>, keepSlave = false): Promise<number | null> {
  const child = spawn('cat', [file], { stdio: [pty.slaveFd, pty.slaveFd, pty.slaveFd] });
  if (!keepSlave) pty.releaseSlave();
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

function collect(handle: ReturnType<typeof openPty>['handle'], until: (s: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const off = handle.onData((b) => {
      text += b.toString('latin1');
      if (until(text)) {
        off();
        resolve(text);
      }
    });
  });
}

test('output written before the first listener reaches it, in order, before later output', async () => {
  const pty = openPty(80, 24);
  try {
    writeSync(pty.slaveFd, 'prompt# ');
    // let the read stream pick it up while nobody listens
    await sleep(100);
    const got = collect(pty.handle, (s) => s.includes('later'));
    writeSync(pty.slaveFd, 'later');
    assert.equal(await got, 'prompt# later');
  } finally {
    pty.handle.close();
  }
});

test('with nobody listening, reading stops past the early buffer and resumes for the first listener', async () => {
  const pty = openPty(80, 24);
  try {
    const chunk = Buffer.alloc(4096, 'x');
    let written = 0;
    // a non-blocking writer stands in for the container: it must hit EAGAIN once the kernel's pty
    // buffer fills behind the held stream, instead of the handle reading (and holding) without bound
    const writer = openSync(pty.slavePath, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
    for (;;) {
      try {
        written += writeSync(writer, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        await sleep(50);
        try {
          written += writeSync(writer, chunk);
        } catch (e2) {
          if ((e2 as NodeJS.ErrnoException).code !== 'EAGAIN') throw e2;
          break;
        }
      }
      if (written > 4 * EARLY_BYTES) break;
    }
    assert.ok(written < 4 * EARLY_BYTES, `the writer was never held back (${written} bytes taken)`);
    let received = 0;
    const all = new Promise<void>((resolve) => {
      pty.handle.onData((b) => {
        received += b.length;
        if (received >= written) resolve();
      });
    });
    await all;
    closeSync(writer);
    assert.equal(received, written);
  } finally {
    pty.handle.close();
  }
});

test('every byte of a large output arrives, in order, when the writer exits right after it', async () => {
  const pty = openPty(80, 24);
  try {
    const got = new ByteCheck();
    pty.handle.onData((b) => got.push(b));
    assert.equal(await catOnPty(pty), 0);
    await pty.handle.ended;
    assert.equal(got.problem(expected), undefined);
  } finally {
    pty.handle.close();
  }
});

test('every byte arrives under flow control: paused after each read, resumed later', async () => {
  const pty = openPty(80, 24);
  try {
    const got = new ByteCheck();
    let pauses = 0;
    pty.handle.onData((b) => {
      got.push(b);
      pty.handle.pause();
      pauses++;
      // resumed from a timer (a renderer's ack comes later, never in the same tick)
      setTimeout(() => pty.handle.resume(), pauses % 7);
    });
    const exited = catOnPty(pty);
    assert.equal(await exited, 0);
    // the process is gone while the kernel (and the paused handle) still hold its output
    await pty.handle.drain!();
    await pty.handle.ended;
    assert.equal(got.problem(expected), undefined);
    assert.ok(pauses > 1);
  } finally {
    pty.handle.close();
  }
});

test('drain() after the writer exits delivers all of it while another process keeps the slave open', async () => {
  const pty = openPty(80, 24);
  try {
    const got = new ByteCheck();
    pty.handle.onData((b) => got.push(b));
    // the parent keeps its copy of the slave: no EIO ever comes, as with an exec's leftover process
    assert.equal(await catOnPty(pty, true), 0);
    await pty.handle.drain!();
    assert.equal(got.problem(expected), undefined);
  } finally {
    pty.handle.close();
  }
});
