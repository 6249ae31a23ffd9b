// A small in-memory ContainerRuntime for transport and validation tests only (no namespaces,
// no processes). Anything that claims a container really runs is tested against the real Runtime.
import type { ContainerInfo, DirListing, Inspection, RunSpec } from '../../shared/types';
import type { ContainerHandle, ContainerRuntime, ExecHandle, TerminalHandle } from '../runtime/handles';

export class FakeTerminal implements TerminalHandle {
  readonly written: string[] = [];
  readonly sizes: [number, number][] = [];
  paused = false;
  closed = false;
  private listeners = new Set<(d: Buffer) => void>();
  onData(listener: (d: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** What the process inside "prints". */
  output(data: string | Buffer): void {
    for (const l of this.listeners) l(typeof data === 'string' ? Buffer.from(data) : data);
  }
  write(data: string | Buffer): void {
    this.written.push(data.toString());
  }
  resize(cols: number, rows: number): void {
    this.sizes.push([cols, rows]);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    this.closed = true;
  }
}

export class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, { info: ContainerInfo; terminal: FakeTerminal; finish: (code: number) => void }>();
  readonly execs: FakeTerminal[] = [];
  private listeners = new Set<(c: ContainerInfo[]) => void>();
  private n = 0;

  async run(spec: RunSpec): Promise<ContainerHandle> {
    if (spec.command[0] === '/nonexistent') throw new Error('command "/nonexistent" not found in the rootfs');
    const id = `fake${++this.n}`;
    const info: ContainerInfo = {
      id, name: `c${this.n}`, command: spec.command, hostname: spec.hostname ?? id, state: 'running', pid: 1000 + this.n,
      namespaces: spec.namespaces ?? [], rootfs: spec.rootfs ?? '(default)', rootless: false, tty: true, createdAt: Date.now(),
    };
    const terminal = new FakeTerminal();
    let finish!: (code: number) => void;
    const exited = new Promise<ContainerInfo>((resolve) => {
      finish = (code) => {
        Object.assign(info, { state: 'exited', exitCode: code, finishedAt: Date.now() });
        resolve(info);
        this.changed();
      };
    });
    this.containers.set(id, { info, terminal, finish });
    this.changed();
    return { info, terminal, exited };
  }
  list(): ContainerInfo[] {
    return [...this.containers.values()].map((c) => c.info);
  }
  get(id: string): ContainerInfo | undefined {
    return this.containers.get(id)?.info;
  }
  private must(id: string) {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container "${id}"`);
    return c;
  }
  async exec(id: string): Promise<ExecHandle> {
    this.must(id);
    const terminal = new FakeTerminal();
    this.execs.push(terminal);
    return { pid: 4242, terminal, exited: new Promise(() => {}), kill() {} };
  }
  async stop(id: string): Promise<ContainerInfo> {
    const c = this.must(id);
    c.finish(143);
    return c.info;
  }
  async remove(id: string): Promise<void> {
    this.must(id);
    this.containers.delete(id);
    this.changed();
  }
  async inspect(id: string): Promise<Inspection> {
    const c = this.must(id);
    return { id, pid: c.info.pid, hostname: { host: 'host', container: c.info.hostname }, hostProcesses: [], containerProcesses: [], namespaces: [], uidMap: '', gidMap: '', mounts: [] };
  }
  listDir(id: string, side: 'host' | 'container', path: string): DirListing {
    this.must(id);
    return { side, path, entries: [{ name: side === 'host' ? 'home' : 'bin', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0 }] };
  }
  onChange(listener: (c: ContainerInfo[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private changed(): void {
    for (const l of this.listeners) l(this.list());
  }
}
