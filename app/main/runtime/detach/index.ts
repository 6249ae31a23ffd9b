// Detached containers (locker run -d): a small C monitor owns each one (native/src/monitor.c).
export { DetachedLaunch, MONITOR_PATH, type DetachedIo } from './launch';
export { LOG_MAX_BYTES, exitSettled, monitorAlive, monitorFiles, monitorGone, recordedExit, removeStaleSocket, type MonitorFiles, type MonitorRef } from './files';
export { attachToMonitor, type AttachedTerminal } from './attach-client';
export { lastLines, streamLog, type LogOptions } from './logs';
