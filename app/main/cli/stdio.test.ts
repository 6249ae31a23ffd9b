// A container's stdio never loses data: a megabyte through a slow reader and from a slow writer,
// over real pipes (a shell pipeline) and over the sockets Node's spawn gives (issue 9, item 5).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { CLI, sandbox } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());
const MB = 1_000_000;

/** A shell pipeline around the CLI: `sh -c` wires real pipes between the parts. */
const pipeline = (script: string) =>
  spawnSync('/bin/sh', ['-c', script], { env: { ...sb.env, LOCKER: CLI }, encoding: 'utf8', timeout: 30000 });

describe('container stdio without a tty', () => {
  test('a megabyte out through a pipe into a slow reader arrives whole', () => {
    const r = pipeline(`"$LOCKER" run -- sh -c 'head -c ${MB} /dev/zero' | (sleep 1; wc -c)`);
    assert.equal(r.stderr, '', 'no EAGAIN from head');
    assert.equal(r.stdout.trim(), String(MB));
  });

  test('a megabyte of stderr through a pipe into a slow reader arrives whole', () => {
    const r = pipeline(`"$LOCKER" run -- sh -c 'head -c ${MB} /dev/zero >&2' 2>&1 >/dev/null | (sleep 1; wc -c)`);
    assert.equal(r.stdout.trim(), String(MB), r.stderr);
  });

  test('a megabyte in through a pipe from a slow writer arrives whole', () => {
    const r = pipeline(`(sleep 1; head -c ${MB} /dev/zero) | "$LOCKER" run -- sh -c 'cat | wc -c'`);
    assert.equal(r.stderr, '', 'no EAGAIN from cat');
    assert.equal(r.stdout.trim(), String(MB));
  });

  test('over sockets (Node spawn): out into a reader that pauses, in from a writer that waits', async () => {
    const out = spawn(CLI, ['run', '--', 'sh', '-c', `head -c ${MB} /dev/zero; head -c ${MB} /dev/zero >&2`], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    out.stdout.pause();
    out.stderr.pause();
    let bytes = 0;
    let errBytes = 0;
    setTimeout(() => {
      out.stdout.on('data', (d: Buffer) => (bytes += d.length)).resume();
      out.stderr.on('data', (d: Buffer) => (errBytes += d.length)).resume();
    }, 1000);
    const outCode = await new Promise((resolve) => out.on('close', resolve));
    assert.equal(outCode, 0);
    assert.equal(bytes, MB);
    assert.equal(errBytes, MB);

    const inp = spawn(CLI, ['run', '--', 'sh', '-c', 'cat | wc -c'], { env: sb.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    inp.stdout.on('data', (d) => (text += d));
    inp.stderr.on('data', (d) => (err += d));
    setTimeout(() => inp.stdin.end(Buffer.alloc(MB)), 1000);
    const inCode = await new Promise((resolve) => inp.on('close', resolve));
    assert.equal(err, '');
    assert.equal(inCode, 0);
    assert.equal(text.trim(), String(MB));
  });
});

describe('exec stdio without a tty', () => {
  test('a megabyte out of an exec into a slow reader, and in from a slow writer, arrives whole', () => {
    const started = spawnSync(CLI, ['run', '-d', '--', 'sleep', '300'], { env: sb.env, encoding: 'utf8', timeout: 30000 });
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    try {
      const out = pipeline(`"$LOCKER" exec ${id} -- sh -c 'head -c ${MB} /dev/zero' | (sleep 1; wc -c)`);
      assert.equal(out.stderr, '', 'no EAGAIN (or EIO) from head');
      assert.equal(out.stdout.trim(), String(MB));
      const inp = pipeline(`(sleep 1; head -c ${MB} /dev/zero) | "$LOCKER" exec ${id} -- sh -c 'cat | wc -c'`);
      assert.equal(inp.stderr, '', 'no EAGAIN from cat');
      assert.equal(inp.stdout.trim(), String(MB));
    } finally {
      spawnSync(CLI, ['rm', '-f', id], { env: sb.env, timeout: 30000 });
    }
  });
});
