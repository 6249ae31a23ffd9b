// cgroup limits and gauges for containers: detect the host's hierarchies, parse --memory/--cpus/
// --pids-limit, create `locker/<id>` cgroups, read their gauges, remove them.
export { detect, hostLayout, parseMountinfo, SUPERVISOR_LEAF, V1_ROOTLESS_REASON } from './detect';
export type { CgroupLayout, CgroupVersion, DetectOptions, LimitController, V1Controller } from './detect';
export { cpuQuotaUs, formatBytes, hasLimits, parseCpus, parseLimits, parseMemory, parsePidsLimit, v1CpuQuota, v2CpuMax } from './limits';
export type { LimitFlags, Limits } from './limits';
export { cgroupJoinOf, containerCgroupPaths, createCgroup, joinCgroupPaths, needsCgroup, listCgroups, openCgroup, openCgroupJoin, removeUnusedCgroup, sweepStale, PARENT, REMOVE_TIMEOUT_MS } from './cgroup';
export { DEFAULT_DEVICES, compileDeviceFilter, v1RuleText } from './devices';
export type { DeviceRule } from './devices';
export type { Cgroup, CgroupHandle, CgroupJoin } from './cgroup';
export type { CgroupStats } from './stats';
export { parseProcCgroup } from './proc-cgroup';
