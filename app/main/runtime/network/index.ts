// Container networking: a veth into the host bridge locker0 for rootful containers, loopback only
// for rootless ones, and the interface lists for the side-by-side view.
export { planNetwork, addContainerSteps, containerNetworkError, prepareNetwork, setupNetwork, teardownNetwork, teardownNetworkAfterExit, sweepStaleNetwork, removeBridgeIfUnused, hostVethName, lockerVeths, BRIDGE, CONTAINER_IF, ROOTLESS_NOTE, HOST_NOTE } from './setup';
export type { NetworkInfo, NetworkOptions, NetworkPlan, PreparedNetwork } from './setup';
export { interfaces, parseIpAddrJson } from './interfaces';
export type { NetworkInterface, InterfaceAddress } from './interfaces';
export { SUBNET, GATEWAY, IPS_DIR, RUN_DIR, leases, type Lease } from './addresses';
