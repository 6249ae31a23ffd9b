// `locker run` in a terminal: the container's init gets a pty; typing, Ctrl-C and resize work.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as pty from 'node-pty';
import { CLI, sandbox, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

test('an interactive shell: PID 1, Ctrl-C, resize, exit status', async () => {
  const term = pty.spawn(CLI, ['run', '--hostname', 'ttybox', '/bin/sh'], { cols: 100, rows: 30, env: sb.env as Record<string, string> });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  try {
    await until(() => screen.includes('ttybox'), 10000);
    term.write('echo "pid=$$"; tty; stty size\r');
    await until(() => /pid=1\r*\n/.test(screen) && /30 100/.test(screen), 5000);
    assert.match(screen, /\/dev\/pts\/\d+|\/dev\/console/);

    term.write('sleep 30\r');
    await new Promise((r) => setTimeout(r, 300));
    const mark = screen.length;
    term.write('\x03');
    term.write('echo "after=$?"\r');
    await until(() => screen.slice(mark).includes('after=130'), 5000);

    term.resize(120, 40);
    term.write('stty size\r');
    await until(() => screen.includes('40 120'), 5000);

    term.write('exit 5\r');
    assert.equal(await exited, 5);
  } finally {
    term.kill('SIGKILL');
  }
});

test('locker exec -t gives a shell in the container a pty and its exit status', async () => {
  const { startCli } = await import('../testing/harness');
  const run = startCli(sb, ['run', '--name', 'tty-exec', '--', 'sh', '-c', 'echo up; exec sleep 30']);
  await until(() => run.output().includes('up'));
  const term = pty.spawn(CLI, ['exec', '-t', 'tty-exec', '--', 'sh'], { cols: 90, rows: 20, env: sb.env as Record<string, string> });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  try {
    await until(() => screen.includes('#'), 10000);
    term.write('echo "in=$$"; stty size; exit 3\r');
    assert.equal(await exited, 3);
    assert.match(screen, /in=2\r*\n/);
    assert.match(screen, /20 90/);
  } finally {
    term.kill('SIGKILL');
    sb.run(['stop', '-t', '0', 'tty-exec']);
    await run.done;
  }
});
