// net.ipv4.ip_forward: masquerading a container's traffic out of the host needs the host to
// forward. Locker turns it on with the first bridged container, after recording the value it found
// (RUN_DIR/ip_forward.prior, written once, O_EXCL), and puts that value back when the last bridged
// container is gone (teardown, recovery, `locker cleanup`). Forwarding already on stays on.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syscallLog } from '../../../../native/syscall-log';
import { RUN_DIR, containerLeases } from './addresses';

export const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
export const PRIOR_FILE = join(RUN_DIR, 'ip_forward.prior');

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function write(value: string): void {
  writeFileSync(IP_FORWARD, value);
  syscallLog.record({ where: 'host', name: 'write', args: `"${IP_FORWARD}", "${value}"`, result: value.length, t: Date.now() });
}

/** On, with the value found recorded first. Answers whether Locker turned it on (now or before). */
export function ensureForwarding(): boolean {
  const now = read(IP_FORWARD) ?? '0';
  const prior = read(PRIOR_FILE);
  if (prior === undefined) {
    try {
      writeFileSync(PRIOR_FILE, now + '\n', { flag: 'wx', mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if (now !== '1') write('1');
  return (prior ?? read(PRIOR_FILE)) !== '1';
}

/** Whether Locker holds ip_forward on (a prior value is on record that is not 1). */
export function forwardingChangedByLocker(): { prior: string } | undefined {
  const prior = read(PRIOR_FILE);
  return prior !== undefined && prior !== '1' ? { prior } : undefined;
}

/**
 * Puts the recorded value back once no bridged container holds an address (a spare network's does
 * not count: it is no container). A launch that raced
 * with this (its lease appeared meanwhile) gets forwarding back at once. Answers what was restored.
 */
export function restoreForwardingIfUnused(): string | undefined {
  if (containerLeases().length > 0) return undefined;
  const prior = read(PRIOR_FILE);
  if (prior === undefined) return undefined;
  try {
    unlinkSync(PRIOR_FILE);
  } catch {
    return undefined; // another process restored it
  }
  if (prior !== '1' && read(IP_FORWARD) === '1') write(prior);
  if (containerLeases().length > 0) ensureForwarding();
  return prior;
}
