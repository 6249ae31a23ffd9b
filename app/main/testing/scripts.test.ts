// The shell scripts we ship (CI, Vagrant provisioning) pass shellcheck.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './harness';

test('shellcheck passes on every shipped shell script', () => {
  const scripts = ['.ci/run', 'vagrant/provision.sh', 'packaging/deb/after-install.sh', 'packaging/deb/after-remove.sh'].map((s) => join(REPO, s));
  const r = spawnSync('shellcheck', scripts, { encoding: 'utf8' });
  assert.ok(!r.error, 'shellcheck is installed (apt-get install shellcheck)');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the Vagrantfile forwards web mode to the host loopback only and provisions with the checked script', () => {
  const vagrantfile = require('node:fs').readFileSync(join(REPO, 'Vagrantfile'), 'utf8') as string;
  assert.match(vagrantfile, /forwarded_port", guest: 8080, host: 8080, host_ip: "127\.0\.0\.1"/);
  assert.match(vagrantfile, /path: "vagrant\/provision\.sh"/);
});
