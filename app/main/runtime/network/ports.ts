// -p checks and reservations. Before anything is made: the host address must be one of this host's
// and the port free (no listening TCP / bound UDP socket on it in /proc/net, no other container
// publishing it). While a container runs, each host port it publishes is held by a lock file
// RUN_DIR/ports/<proto>-<port> (hard-linked, as addresses.ts takes addresses), so two launches can
// never both get one; recovery releases those whose container is gone.
import { linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LockerError } from '../errors';
import { processStartTime } from '../records';
import type { PortSpec } from '../../../shared/types';
import { RUN_DIR } from './addresses';

export const PORTS_DIR = join(RUN_DIR, 'ports');

export interface PortLease { key: string; id: string; pid: number; pidStartTime: string }

const keyOf = (p: PortSpec): string => `${p.protocol}-${p.hostPort}`;
const shownPort = (p: PortSpec): string => `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}/${p.protocol}`;

/** Local addresses (sockets bound in this network namespace) from /proc/net/{tcp,udp}[6]: "addr:port". */
function boundSockets(proto: 'tcp' | 'udp'): { address: string; port: number }[] {
  const out: { address: string; port: number }[] = [];
  for (const file of [proto, `${proto}6`]) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      // TCP: only listeners (state 0A) hold a port for incoming connections; UDP: every bound socket.
      if (proto === 'tcp' && f[3] !== '0A') continue;
      const [hex, portHex] = f[1].split(':');
      const address = hex.length === 8 ? hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.') : hex === '0'.repeat(32) ? '::' : `v6:${hex}`;
      out.push({ address, port: parseInt(portHex, 16) });
    }
  }
  return out;
}

/** One line for the first -p that cannot work here: a foreign address, a port in use. Nothing is made. */
export function checkPublishable(ports: readonly PortSpec[], ownId?: string): void {
  const local = new Set(Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4').map((a) => a!.address));
  for (const p of ports) {
    if (p.hostIp && !local.has(p.hostIp)) {
      throw new LockerError(`-p ${shownPort(p)}: ${p.hostIp} is not an address of this host; use one it has (e.g. 127.0.0.1) or leave the address out`);
    }
    const user = boundSockets(p.protocol).find((s) => s.port === p.hostPort && (!p.hostIp || s.address === p.hostIp || s.address === '0.0.0.0' || s.address === '::'));
    if (user) throw new LockerError(`-p ${shownPort(p)}: port ${p.hostPort}/${p.protocol} is in use on the host (${user.address}:${user.port}); pick another host port`);
    const held = portLeases().find((l) => l.key === keyOf(p) && l.id !== ownId && leaseLive(l));
    if (held) throw new LockerError(`-p ${shownPort(p)}: port ${p.hostPort}/${p.protocol} is published by container ${held.id}; pick another host port or stop it`);
  }
}

export function leaseLive(l: PortLease): boolean {
  return l.pid > 0 && l.pidStartTime !== '' && processStartTime(l.pid) === l.pidStartTime;
}

/** Takes every port for container `id` (its init `pid`), or none: one line for the first taken. */
export function reservePorts(id: string, pid: number, ports: readonly PortSpec[]): void {
  if (ports.length === 0) return;
  mkdirSync(PORTS_DIR, { recursive: true, mode: 0o755 });
  const tmp = join(PORTS_DIR, `.new-${id}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify({ id, pid, pidStartTime: processStartTime(pid) ?? '' }) + '\n', { flag: 'wx', mode: 0o644 });
  const taken: string[] = [];
  try {
    for (const p of ports) {
      const path = join(PORTS_DIR, keyOf(p));
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, path);
          taken.push(path);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          const other = readLease(keyOf(p));
          // A lease whose container is gone is taken over (once: a live one means the port is in use).
          if (attempt > 0 || (other && leaseLive(other))) throw new LockerError(`-p ${shownPort(p)}: port ${p.hostPort}/${p.protocol} is published by container ${other?.id ?? 'another'}; pick another host port`);
          unlinkQuiet(path);
        }
      }
    }
  } catch (e) {
    for (const path of taken) unlinkQuiet(path);
    throw e;
  } finally {
    unlinkQuiet(tmp);
  }
}

function readLease(key: string): PortLease | undefined {
  try {
    const l = JSON.parse(readFileSync(join(PORTS_DIR, key), 'utf8')) as Partial<PortLease>;
    return { key, id: String(l.id ?? ''), pid: Number(l.pid ?? 0), pidStartTime: String(l.pidStartTime ?? '') };
  } catch {
    return undefined;
  }
}

export function portLeases(): PortLease[] {
  let names: string[];
  try {
    names = readdirSync(PORTS_DIR);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.')).map(readLease).filter((l): l is PortLease => !!l);
}

/** Releases container `id`'s ports (only files that still name it). */
export function releasePorts(id: string): string[] {
  const out: string[] = [];
  for (const l of portLeases()) {
    if (l.id !== id) continue;
    unlinkQuiet(join(PORTS_DIR, l.key));
    out.push(l.key);
  }
  return out;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already */
  }
}
