// --network and -p as a RunSpec gives them, checked before anything is made (spec.ts calls this).
import * as grammar from '../../../shared/grammar';
import type { NetworkMode, PortSpec, RunSpec } from '../../../shared/types';
import { LockerError } from '../errors';

/**
 * host means no net namespace (as --no-ns net does); none and bridge need one. -p needs a network
 * that reaches the host: refused with none (loopback only) and host (the container's ports are the
 * host's already), one line each.
 */
export function checkNetwork(spec: RunSpec, hasNetNs: boolean): { network: NetworkMode; publish: PortSpec[] } {
  let network: NetworkMode = hasNetNs ? 'bridge' : 'host';
  if (spec.network !== undefined) {
    const r = grammar.parseNetworkMode(String(spec.network));
    if (!r.ok) throw new LockerError(r.problem);
    if (r.value !== 'host' && !hasNetNs) throw new LockerError(`--network ${r.value} needs the net namespace; leave out --no-ns net (or use --network host)`);
    network = r.value;
  }
  if (spec.publish !== undefined && !Array.isArray(spec.publish)) throw new LockerError('publish must be a list of ports; e.g. -p 8080:80');
  const ports = (spec.publish ?? []).map((p) => {
    const r = grammar.checkPortSpec(p);
    if (!r.ok) throw new LockerError(r.problem);
    return r.value;
  });
  const list = grammar.checkPublishList(ports);
  if (!list.ok) throw new LockerError(list.problem);
  if (ports.length && network === 'host') throw new LockerError(`-p cannot be used with ${spec.network === undefined ? 'no net namespace' : '--network host'}: the container already uses the host's ports; leave out -p`);
  if (ports.length && network === 'none') throw new LockerError('-p cannot be used with --network none: the container has loopback only; leave out -p or use --network bridge');
  return { network, publish: list.value };
}
