export { runChecks, privilegeCheck, isInitialUidMap, usernsSysctlCheck, usernsProbeCheck, cgroupCheck, overlayListedCheck, overlayProbeCheck, kernelCheck, busyboxCheck, parseKernelVersion, readUsernsSysctls } from './checks';
export type { Check, CheckStatus, UsernsSysctls } from './checks';
export { doctorCommand, doctorExitCode, formatChecks, DOCTOR_HELP } from './command';
