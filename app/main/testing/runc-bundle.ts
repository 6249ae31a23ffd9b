// A runc/crun bundle for tests: a copy of a rootfs and a config.json from `runc spec`, made
// non-interactive, with the given hostname and command.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function runcBundle(parent: string, rootfs: string, hostname: string, args: string[]): string {
  const dir = mkdtempSync(join(parent, 'bundle-'));
  cpSync(rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  assert.equal(spawnSync('runc', ['spec', '--bundle', dir]).status, 0, 'runc spec');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = args;
  config.hostname = hostname;
  config.root = { path: join(dir, 'rootfs'), readonly: true };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** `runc run -d` in /run/runc, where discovery looks; returns the init's PID. Detached, it gets no stdio (or this would wait for it). */
export function runcDetached(bundle: string, id: string): number {
  const r = spawnSync('runc', ['run', '-d', '--bundle', bundle, id], { timeout: 60000, stdio: 'ignore' });
  assert.equal(r.status, 0, `runc run -d ${id}`);
  return JSON.parse(spawnSync('runc', ['state', id], { encoding: 'utf8' }).stdout).pid as number;
}
