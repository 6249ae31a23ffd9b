// A lesson command as it is typed: {pid} and {id} become the container's host PID and id, {share}
// the host's share folder (HostInfo.shareDir, where a lesson's volumes come from), {veth} and {table}
// its host veth (lk…) and its nftables table ("ip locker_…") when it has them (rootful bridge). The panel shows
// and types this text, and the main side recognises the same text as "entered".
// No Node or Electron imports: the renderer compiles this file too.
import type { LessonCommand } from './api';

/** What fillCommand reads of a container (ContainerInfo has it). */
export interface CommandTarget {
  pid: number;
  id: string;
  network?: { hostVeth?: string; nat?: { table: string } };
}

export function fillCommand(cmd: Pick<LessonCommand, 'run'>, container: CommandTarget | null, shareDir?: string): string {
  return cmd.run
    .replace(/\{pid\}/g, container ? String(container.pid) : '{pid}')
    .replace(/\{id\}/g, container?.id ?? '{id}')
    .replace(/\{veth\}/g, container?.network?.hostVeth ?? '{veth}')
    .replace(/\{table\}/g, container?.network?.nat?.table ?? '{table}')
    .replace(/\{share\}/g, shareDir ?? '{share}');
}

/** A preset's -v line with {share} filled in: the host path the app binds. */
export function fillVolume(line: string, shareDir: string): string {
  return line.replace(/^\{share\}/, shareDir);
}
