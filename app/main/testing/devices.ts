// A host device for device-access tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/**
 * A block device of this machine that this process may open (its own sandbox may already refuse
 * some), so a probe fails only because of the layer under test. Tests read 1 byte at most, never write.
 */
export function openableHostDisk(): { path: string; major: number; minor: number } | undefined {
  const names = readdirSync('/sys/class/block').sort((a, b) => Number(/^loop/.test(a)) - Number(/^loop/.test(b)));
  for (const name of names) {
    const path = `/dev/${name}`;
    if (!existsSync(path) || spawnSync('head', ['-c1', path], { stdio: 'ignore' }).status !== 0) continue;
    const [major, minor] = readFileSync(`/sys/class/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
    return { path, major, minor };
  }
  return undefined;
}
