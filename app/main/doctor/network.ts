// Doctor's network line: what a container's network will be for this user, and what to install or
// change for more. Judged from its inputs (testable alone); networkCheck() reads the machine.
import { tool } from '../runtime/network/ip';
import { rootlessNetworkSummary, userModeTools, type UserModeTools } from '../runtime/network/usermode';
import type { Check } from './checks';

export function judgeNetwork(rootless: boolean, tools: UserModeTools, nft: string | undefined, ipTool: string | undefined): Check {
  const title = 'container network';
  if (rootless) {
    const detail = rootlessNetworkSummary(tools);
    if (tools.pasta && !tools.tunProblem) {
      // Launches need no `ip`; a rootless container's interfaces are listed through it (its namespace can only be entered by a spawn).
      if (!ipTool) return { id: 'network', title, status: 'warn', detail: `${detail}; without \`ip\` the side-by-side view cannot list a container's interfaces`, fix: 'apt install iproute2' };
      return { id: 'network', title, status: 'ok', detail };
    }
    const fix = tools.pasta ? `let this user open ${'/dev/net/tun'}: chmod 0666 /dev/net/tun (Debian's default), or run as root` : 'apt install passt (pasta), or run as root';
    return { id: 'network', title, status: 'warn', detail, fix };
  }
  // As root nothing needs `ip`: launches are rtnetlink requests, interfaces are listed by netlink dumps.
  // NAT and -p need no `nft` either (nf_tables over netlink); inspect and lessons read live counters through it.
  if (!nft) return { id: 'network', title, status: 'warn', detail: 'outbound NAT and -p work, but without `nft` inspect and the lessons cannot read the NAT rules\' counters', fix: 'apt install nftables' };
  return { id: 'network', title, status: 'ok', detail: 'veth on the locker0 bridge, outbound NAT and -p through an nftables table per container (ip locker_<id>), ip_forward on while one runs' };
}

const found = (name: string, pkg: string): string | undefined => {
  try {
    return tool(name, pkg);
  } catch {
    return undefined;
  }
};

export function networkCheck(rootless: boolean): Check {
  return judgeNetwork(rootless, rootless ? userModeTools() : {}, found('nft', 'nftables'), found('ip', 'iproute2'));
}
