// Every command answers --help (and `locker help CMD`) with its usage, exit 0, nothing run; an
// option after the operands belongs to the command being run, not to Locker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { CLI, sandbox } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());
const locker = (...args: string[]) => spawnSync(CLI, args, { env: sb.env, encoding: 'utf8', timeout: 30000 });

/** The commands `locker --help` lists. */
function commands(): string[] {
  const out = locker('--help').stdout;
  return [...out.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
}

test('every listed command prints its usage for --help and -h', () => {
  const names = commands();
  assert.ok(names.length >= 15, `locker --help lists the commands (${names.join(' ')})`);
  for (const name of names) {
    for (const flag of ['--help', '-h']) {
      // -h is docker's --hostname for run (and equivalent, which takes run's options); runc's oci has --help only
      if (['run', 'equivalent', 'oci'].includes(name) && flag === '-h') continue;
      const r = locker(name, flag);
      assert.equal(r.status, 0, `locker ${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: locker (.* )?${name}\\b`, 'm'), `locker ${name} ${flag}`);
      assert.equal(r.stderr, '', `locker ${name} ${flag} writes no error`);
    }
  }
  assert.match(locker('help', 'stop').stdout, /^Usage: locker stop /);
});

test('--help after the operands is the container command\'s', () => {
  const r = locker('exec', 'no-such-container', '--', 'sh', '--help');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no container "no-such-container"/);
});
