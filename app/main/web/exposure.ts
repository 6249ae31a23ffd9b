// Who can reach this web-mode server, and so whether the host shell pane may be offered. Whoever
// holds the token can start containers as root; the host shell makes that a root shell at once,
// which is the most dangerous thing the app does. On loopback the token is held by the teacher's
// browser only, and the pane is on. On any other address the server is on the network, the token
// travels in a URL someone may overhear, and the pane is off unless asked for (--host-shell).
import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface HostShellPolicy {
  enabled: boolean;
  /** Why the pane is off, shown in the UI instead of a shell. */
  refusal?: string;
}

/** explicit: --host-shell (true) or --no-host-shell (false); undefined: the default for this address. */
export function hostShellPolicy(host: string, explicit?: boolean): HostShellPolicy {
  if (explicit === true) return { enabled: true };
  if (explicit === false) return { enabled: false, refusal: 'the host shell is off: this web-mode server was started with --no-host-shell' };
  if (isLoopbackHost(host)) return { enabled: true };
  return {
    enabled: false,
    refusal: `the host shell is off: this web-mode server listens on ${host}, reachable from the network, where a host shell is a root shell for anyone with the URL; restart it with --host-shell to allow it`,
  };
}

/** The warning to print when the server is reachable from other machines; undefined on loopback. */
export function networkWarning(host: string, hostShell: HostShellPolicy): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const shell = hostShell.enabled
    ? 'the host shell pane is ON (--host-shell): anyone with the URL gets a root shell on this machine'
    : 'the host shell pane is off (add --host-shell to allow it), but starting containers as root still is root on this machine';
  return `WARNING: web mode listens on ${host}, reachable from the network, over plain HTTP: whoever sees the URL (its #token=…) controls Locker; ${shell}. Use the default 127.0.0.1 (and an SSH tunnel) unless this network is yours.`;
}
