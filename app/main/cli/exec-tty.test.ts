// `locker exec -t`: the terminal comes from the container's own devpts (as docker exec -t), as
// root and rootless: inside, `tty` names /dev/pts/N and `ls /dev/pts` lists N next to ptmx.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import * as pty from 'node-pty';
import { CLI, TEST_USER, cliForTestUser, runAsUser, sandbox, startCli, until, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
});

interface Side {
  start(args: string[]): { done: Promise<unknown>; output(): string };
  cli(args: string[]): void;
  /** The command and arguments that run the CLI (in a pty). */
  argv(args: string[]): [string, string[]];
}

const asUser = (args: string[]): [string, string[]] =>
  ['runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${userData}`, 'HOME=/tmp', cliForTestUser(), ...args]];

const SIDES: Array<[string, Side]> = [
  ['root', { start: (a) => startCli(sb, a), cli: (a) => void sb.run(a), argv: (a) => [CLI, a] }],
  ['rootless', {
    start: (a) => {
      const [cmd, args] = asUser(a);
      const child = spawn(cmd, args, { cwd: '/tmp', stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      return { done: new Promise((r) => child.once('exit', r)), output: () => out };
    },
    cli: (a) => void runAsUser(userData, a),
    argv: asUser,
  }],
];

for (const [mode, side] of SIDES) {
  test(`${mode}: exec -t gets a pty of the container's own devpts`, async () => {
    const name = `pts-${mode}`;
    const run = side.start(['run', '--name', name, '--', 'sh', '-c', 'echo ready; exec sleep 30']);
    try {
      await until(() => run.output().includes('ready'), 10000);
      const [cmd, args] = side.argv(['exec', '-t', name, '--', 'sh']);
      const term = pty.spawn(cmd, args, { cols: 90, rows: 20, cwd: '/tmp', env: sb.env as Record<string, string> });
      let screen = '';
      term.onData((d) => (screen += d));
      const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
      try {
        await until(() => screen.includes('#'), 10000);
        term.write('echo "tty=$(tty)"; echo "pts=$(ls /dev/pts | tr "\\n" " ")"; stty size; exit 3\r');
        assert.equal(await exited, 3, screen);
        const n = /tty=\/dev\/pts\/(\d+)\s/.exec(screen)?.[1];
        assert.ok(n !== undefined, `tty names a pty of the container's /dev/pts:\n${screen}`);
        const listed = /pts=([^\r\n]*)/.exec(screen.slice(screen.indexOf('tty=/dev/pts')))?.[1].trim().split(' ');
        assert.ok(listed?.includes(n) && listed.includes('ptmx'), `ls /dev/pts lists ${n} and ptmx: ${listed?.join(' ')}`);
        assert.doesNotMatch(screen, /not a tty/);
        assert.match(screen, /20 90/);
      } finally {
        term.kill('SIGKILL');
      }
    } finally {
      side.cli(['rm', '-f', name]);
      await run.done;
    }
  });
}
