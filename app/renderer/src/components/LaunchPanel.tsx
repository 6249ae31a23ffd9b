// The launch form. Everything is checked here first, so a bad value shows inline and nothing starts;
// the main side checks again (it trusts no renderer).
import { useEffect, useState, type FormEvent } from 'react';
import type { HostInfo, LaunchSettings, LessonPreset, LockerApi, RunResult } from '../../../shared/api';
import { defaultNamespaces, disabledLimits, formSettings, lockedNamespaces, presetNamespaces, presetNeedsRoot, presetPorts, presetVolumes } from '../../../shared/launch-form';
import { NAMESPACES, NAMESPACE_HELP, NETWORK_MODES, type Namespace, type NetworkMode } from '../../../shared/types';

interface Props {
  api: LockerApi;
  hostInfo: HostInfo | null;
  onStarted(result: RunResult): void;
  /** A lesson step's settings; applied whenever nonce changes. */
  preset?: { nonce: number; preset: LessonPreset } | null;
  /** The form's current settings, or its one-line problem, for the equivalent commands. */
  onSettings?(settings: LaunchSettings | string): void;
}

export function LaunchPanel({ api, hostInfo, onStarted, preset, onSettings }: Props) {
  const [useDefault, setUseDefault] = useState(true);
  const [rootfs, setRootfs] = useState('');
  const [command, setCommand] = useState('/bin/sh');
  const [hostname, setHostname] = useState('');
  // The defaults follow what the runtime can do for this user (HostInfo.capabilities): rootless,
  // the user namespace is on and locked, and limits without a writable cgroup are off.
  const caps = hostInfo?.capabilities;
  const [namespaces, setNamespaces] = useState<Namespace[]>(defaultNamespaces(undefined));
  const [memory, setMemory] = useState('');
  const [cpus, setCpus] = useState('');
  const [pidsLimit, setPidsLimit] = useState('');
  const [stepThrough, setStepThrough] = useState(false);
  // Docker's default seccomp profile; unticked launches with --security-opt seccomp=unconfined.
  const [seccompOn, setSeccompOn] = useState(true);
  const [capAdd, setCapAdd] = useState('');
  const [capDrop, setCapDrop] = useState('');
  const [volumes, setVolumes] = useState('');
  const [ports, setPorts] = useState('');
  const [network, setNetwork] = useState<NetworkMode>('bridge');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const locked = lockedNamespaces(caps);
  const limitsOff = disabledLimits(caps);

  // once the capabilities arrive (before any preset), the namespace defaults follow them
  const rootless = caps?.rootless;
  useEffect(() => {
    if (rootless !== undefined && !preset) setNamespaces(defaultNamespaces(caps));
    // only when the answer changes, never over the user's own ticks
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rootless]);

  useEffect(() => {
    if (!preset) return;
    const p = preset.preset;
    setUseDefault(true);
    setCommand(p.command ?? '/bin/sh');
    setHostname(p.hostname ?? '');
    setNamespaces(presetNamespaces(p, caps));
    setMemory(p.memory ?? '');
    setCpus(p.cpus ?? '');
    setPidsLimit(p.pidsLimit === undefined ? '' : String(p.pidsLimit));
    setStepThrough(p.stepThrough === true);
    setSeccompOn(p.seccomp !== false);
    setCapAdd((p.capAdd ?? []).join(', '));
    setCapDrop((p.capDrop ?? []).join(', '));
    setVolumes(presetVolumes(p, hostInfo?.shareDir));
    setNetwork(p.network ?? 'bridge');
    setPorts(presetPorts(p));
    setError('');
  }, [preset]);

  const form = { useDefault, rootfs, command, hostname, namespaces, memory, cpus, pidsLimit, capAdd, capDrop, volumes, ports, network };
  // a lesson step (or anything typed) that this user cannot run says so instead of failing
  const blank = (v: string) => (v.trim() === '' ? undefined : v);
  const needsRoot = presetNeedsRoot({ namespaces, memory: blank(memory), cpus: blank(cpus), pidsLimit: blank(pidsLimit) === undefined ? undefined : 1, ports: blank(ports) === undefined ? undefined : [ports] }, caps);
  const current = formSettings(form, caps);
  const key = JSON.stringify(current);
  useEffect(() => {
    onSettings?.(typeof current === 'string' || seccompOn ? current : { ...current, seccomp: 'unconfined' });
    // key stands for current
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, onSettings, seccompOn]);

  const toggle = (n: Namespace) => !locked[n] && setNamespaces((cur) => (cur.includes(n) ? cur.filter((x) => x !== n) : NAMESPACES.filter((x) => x === n || cur.includes(x))));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings = formSettings(form, caps);
    if (needsRoot) {
      setError(needsRoot);
      return;
    }
    if (typeof settings === 'string') {
      setError(settings);
      return;
    }
    const req = { ...settings, cols: 80, rows: 24, ...(seccompOn ? {} : { seccomp: 'unconfined' as const }), ...(stepThrough ? { stepThrough: true } : {}) };
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
            <input type="checkbox" checked={namespaces.includes(n)} disabled={!!locked[n]} onChange={() => toggle(n)} data-testid={`ns-${n}`} />
            <b>{n}</b> <span className="help">{NAMESPACE_HELP[n]}</span>
            {locked[n] && <span className="locked" data-testid={`ns-${n}-locked`}> (always on: {locked[n]})</span>}
          </label>
        ))}
      </fieldset>
      <fieldset className="limits">
        <legend>cgroup limits (empty: none)</legend>
        <label title={limitsOff.memory}>memory <input type="text" value={memory} placeholder="64m" disabled={!!limitsOff.memory && memory === ''} onChange={(e) => setMemory(e.target.value)} data-testid="launch-memory" /></label>
        <label title={limitsOff.cpus}>cpus <input type="text" value={cpus} placeholder="0.5" disabled={!!limitsOff.cpus && cpus === ''} onChange={(e) => setCpus(e.target.value)} data-testid="launch-cpus" /></label>
        <label title={limitsOff.pids}>pids <input type="text" value={pidsLimit} placeholder="20" disabled={!!limitsOff.pids && pidsLimit === ''} onChange={(e) => setPidsLimit(e.target.value)} data-testid="launch-pids" /></label>
        {(limitsOff.memory ?? limitsOff.cpus ?? limitsOff.pids) && (
          <p className="help" data-testid="limits-off">limits off: {limitsOff.memory ?? limitsOff.cpus ?? limitsOff.pids}</p>
        )}
      </fieldset>
      <fieldset className="privileges">
        <legend>capabilities (Docker's 14 by default) and volumes</legend>
        <label title="--cap-add: capabilities root in the container keeps besides the default 14, e.g. SYS_ADMIN (CAP_ optional), or ALL">cap-add <input type="text" value={capAdd} placeholder="SYS_ADMIN" onChange={(e) => setCapAdd(e.target.value)} data-testid="launch-cap-add" /></label>
        <label title="--cap-drop: capabilities taken away from the default 14, e.g. CHOWN, or ALL">cap-drop <input type="text" value={capDrop} placeholder="ALL" onChange={(e) => setCapDrop(e.target.value)} data-testid="launch-cap-drop" /></label>
        <label className="volumes" title={`-v HOST:CONTAINER[:ro][,rslave], one per line (rslave: the host's later mounts under it appear inside). From the app the host path must be inside the share folder ${hostInfo?.shareDir ?? ''} (missing folders there are made); the CLI's -v binds any path.`}>
          volumes (-v, one per line, host path in {hostInfo?.shareDir ?? 'the share folder'})
          <textarea rows={2} value={volumes} placeholder={`${hostInfo?.shareDir ?? '/share'}/notes:/notes`} onChange={(e) => setVolumes(e.target.value)} data-testid="launch-volumes" />
        </label>
      </fieldset>
      <fieldset className="network">
        <legend>network</legend>
        <label title="--network: bridge gives eth0 on locker0 with outbound NAT as root (pasta without root); none: loopback only; host: the host's own network (no net namespace)">
          mode{' '}
          <select value={network} data-testid="launch-network" onChange={(e) => {
            const mode = e.target.value as NetworkMode;
            setNetwork(mode);
            // host is no net namespace: the checkbox follows the select
            setNamespaces((cur) => (mode === 'host' ? cur.filter((x) => x !== 'net') : cur.includes('net') ? cur : NAMESPACES.filter((x) => x === 'net' || cur.includes(x))));
          }}>
            {NETWORK_MODES.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        <label title="-p [IP:]HOSTPORT:CONTAINERPORT[/udp], separated by commas. Root: an nftables DNAT rule in a table of the container's own (ip locker_ID), removed with it; without root: pasta listens on the host port.">
          ports (-p) <input type="text" value={ports} placeholder="8080:80, 5353:53/udp" onChange={(e) => setPorts(e.target.value)} data-testid="launch-ports" />
        </label>
        {ports.trim() && <p className="help" data-testid="launch-ports-note">adds to the host: {hostInfo?.capabilities.rootless ? 'a pasta process listening on these ports' : 'DNAT rules in nftables table ip locker_ID, ip_forward on, route_localnet on locker0'}; all removed when the container ends</p>}
      </fieldset>
      {needsRoot && (
        <p className="error" data-testid="launch-needs-root">
          {needsRoot}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="launch-error">
          {error}
        </p>
      )}
      <label className="field step-through" title="The setup process stops before each syscall it plans; release it from the syscall log (Next / Run to exec / Cancel)">
        <input type="checkbox" checked={stepThrough} onChange={(e) => setStepThrough(e.target.checked)} data-testid="launch-step-through" />
        Step through: pause before each syscall of the setup
      </label>
      <label className="field seccomp" title="Docker's default seccomp profile: an allowlist of syscalls, EPERM for the rest (no keyctl, bpf, io_uring, unshare of a user namespace…). Untick to see the difference.">
        <input type="checkbox" checked={seccompOn} onChange={(e) => setSeccompOn(e.target.checked)} data-testid="launch-seccomp" />
        seccomp filter (Docker's default profile)
      </label>
      <button type="submit" className="primary" disabled={busy} data-testid="launch-run">
        {busy ? (stepThrough ? 'Stepping… (see the syscall log)' : 'Starting…') : 'Run'}
      </button>
    </form>
  );
}
