// The README's one setup step puts `locker` on PATH, and its commands then work from any directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO, sandbox } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** The setup line as README.md writes it (the first command of the CLI section). */
function readmeSetup(): string {
  const cli = readFileSync(join(REPO, 'README.md'), 'utf8').split('## The CLI')[1];
  const line = /```sh\n(.*)\n/.exec(cli)?.[1] ?? '';
  assert.match(line, /^export PATH=/, 'the CLI section starts with the PATH step');
  return line.replace(/\s+#.*$/, '');
}

test('after the README setup step (run in the checkout), locker works from /tmp', () => {
  const r = spawnSync('/bin/sh', ['-c', `${readmeSetup()} && cd /tmp && locker --version && locker run -- sh -c 'echo $$'`],
    { cwd: REPO, env: { ...sb.env, PATH: '/usr/local/bin:/usr/bin:/bin' }, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `locker ${version}\n1\n`);
});

test('the symlink variant works as well (a link to bin/locker elsewhere on PATH)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'locker-path-'));
  try {
    assert.equal(spawnSync('ln', ['-s', join(REPO, 'bin', 'locker'), join(bin, 'locker')]).status, 0);
    const r = spawnSync('/bin/sh', ['-c', 'cd / && locker --version && locker doctor --json >/dev/null; echo doctor=$?'],
      { env: { ...sb.env, PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 30000 });
    assert.match(r.stdout, new RegExp(`^locker ${version.replace(/\./g, '\\.')}\\ndoctor=[01]\\n$`), r.stderr);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
