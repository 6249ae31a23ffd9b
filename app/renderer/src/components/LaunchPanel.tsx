// The launch form. Everything is checked here first, so a bad value shows inline and nothing starts;
// the main side checks again (it trusts no renderer).
import { useEffect, useState, type FormEvent } from 'react';
import { runRequestProblem, splitCommand, type HostInfo, type LaunchSettings, type LessonPreset, type LockerApi, type RunResult } from '../../../shared/api';
import { NAMESPACES, NAMESPACE_HELP, type Namespace } from '../../../shared/types';

interface Props {
  api: LockerApi;
  hostInfo: HostInfo | null;
  onStarted(result: RunResult): void;
  /** A lesson step's settings; applied whenever nonce changes. */
  preset?: { nonce: number; preset: LessonPreset } | null;
  /** The form's current settings, or its one-line problem, for the equivalent commands. */
  onSettings?(settings: LaunchSettings | string): void;
}

/** The form as typed → a request, or the one-line problem. */
function toSettings(f: { useDefault: boolean; rootfs: string; command: string; hostname: string; namespaces: Namespace[]; memory: string; cpus: string; pidsLimit: string }): LaunchSettings | string {
  let argv: string[];
  try {
    argv = splitCommand(f.command);
  } catch (err) {
    return (err as Error).message;
  }
  const pids = f.pidsLimit.trim();
  const req: LaunchSettings = {
    command: argv,
    rootfs: f.useDefault ? undefined : f.rootfs.trim(),
    hostname: f.hostname.trim() === '' ? undefined : f.hostname.trim(),
    namespaces: f.namespaces,
    memory: f.memory.trim() === '' ? undefined : f.memory.trim(),
    cpus: f.cpus.trim() === '' ? undefined : f.cpus.trim(),
    pidsLimit: pids === '' ? undefined : /^\d+$/.test(pids) ? Number(pids) : NaN,
  };
  const problem = runRequestProblem({ ...req, cols: 80, rows: 24 }) ?? (!f.useDefault && !req.rootfs ? 'type a rootfs path, or choose the embedded default' : undefined);
  return problem ?? req;
}

export function LaunchPanel({ api, hostInfo, onStarted, preset, onSettings }: Props) {
  const [useDefault, setUseDefault] = useState(true);
  const [rootfs, setRootfs] = useState('');
  const [command, setCommand] = useState('/bin/sh');
  const [hostname, setHostname] = useState('');
  // The user namespace is optional as root and required otherwise (the runtime says so too).
  const [namespaces, setNamespaces] = useState<Namespace[]>(NAMESPACES.filter((n) => n !== 'user'));
  const [memory, setMemory] = useState('');
  const [cpus, setCpus] = useState('');
  const [pidsLimit, setPidsLimit] = useState('');
  const [stepThrough, setStepThrough] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!preset) return;
    const p = preset.preset;
    setUseDefault(true);
    setCommand(p.command ?? '/bin/sh');
    setHostname(p.hostname ?? '');
    setNamespaces(NAMESPACES.filter((n) => p.namespaces.includes(n)));
    setMemory(p.memory ?? '');
    setCpus(p.cpus ?? '');
    setPidsLimit(p.pidsLimit === undefined ? '' : String(p.pidsLimit));
    setStepThrough(p.stepThrough === true);
    setError('');
  }, [preset]);

  const form = { useDefault, rootfs, command, hostname, namespaces, memory, cpus, pidsLimit };
  const current = toSettings(form);
  const key = JSON.stringify(current);
  useEffect(() => {
    onSettings?.(current);
    // key stands for current
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, onSettings]);

  const toggle = (n: Namespace) => setNamespaces((cur) => (cur.includes(n) ? cur.filter((x) => x !== n) : NAMESPACES.filter((x) => x === n || cur.includes(x))));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings = toSettings(form);
    if (typeof settings === 'string') {
      setError(settings);
      return;
    }
    const req = { ...settings, cols: 80, rows: 24, ...(stepThrough ? { stepThrough: true } : {}) };
    setError('');
    setBusy(true);
    try {
      onStarted(await api.run(req));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel launch" onSubmit={submit} data-testid="launch-panel" noValidate>
      <h2>Run a container</h2>
      <fieldset>
        <legend>Root filesystem</legend>
        <label>
          <input type="radio" name="rootfs" checked={useDefault} onChange={() => setUseDefault(true)} data-testid="rootfs-default" />
          {hostInfo?.defaultRootfsLabel ?? 'embedded default'}
        </label>
        <label>
          <input type="radio" name="rootfs" checked={!useDefault} onChange={() => setUseDefault(false)} data-testid="rootfs-custom" />
          directory or tarball:
        </label>
        <input
          type="text" value={rootfs} placeholder="/path/to/rootfs or .tar.gz" data-testid="launch-rootfs" aria-label="rootfs path"
          onChange={(e) => { setRootfs(e.target.value); setUseDefault(e.target.value === ''); }}
        />
      </fieldset>
      <label className="field">
        Command
        <input type="text" value={command} onChange={(e) => setCommand(e.target.value)} data-testid="launch-command" />
      </label>
      <label className="field">
        Hostname
        <input type="text" value={hostname} placeholder="(the container id)" onChange={(e) => setHostname(e.target.value)} data-testid="launch-hostname" />
      </label>
      <fieldset className="namespaces">
        <legend>Namespaces to create</legend>
        {NAMESPACES.map((n) => (
          <label key={n} title={NAMESPACE_HELP[n]}>
            <input type="checkbox" checked={namespaces.includes(n)} onChange={() => toggle(n)} data-testid={`ns-${n}`} />
            <b>{n}</b> <span className="help">{NAMESPACE_HELP[n]}</span>
          </label>
        ))}
      </fieldset>
      <fieldset className="limits">
        <legend>cgroup limits (empty: none)</legend>
        <label>memory <input type="text" value={memory} placeholder="64m" onChange={(e) => setMemory(e.target.value)} data-testid="launch-memory" /></label>
        <label>cpus <input type="text" value={cpus} placeholder="0.5" onChange={(e) => setCpus(e.target.value)} data-testid="launch-cpus" /></label>
        <label>pids <input type="text" value={pidsLimit} placeholder="20" onChange={(e) => setPidsLimit(e.target.value)} data-testid="launch-pids" /></label>
      </fieldset>
      {error && (
        <p className="error" role="alert" data-testid="launch-error">
          {error}
        </p>
      )}
      <label className="field step-through" title="The setup process stops before each syscall it plans; release it from the syscall log (Next / Run to exec / Cancel)">
        <input type="checkbox" checked={stepThrough} onChange={(e) => setStepThrough(e.target.checked)} data-testid="launch-step-through" />
        Step through: pause before each syscall of the setup
      </label>
      <button type="submit" className="primary" disabled={busy} data-testid="launch-run">
        {busy ? (stepThrough ? 'Stepping… (see the syscall log)' : 'Starting…') : 'Run'}
      </button>
    </form>
  );
}
