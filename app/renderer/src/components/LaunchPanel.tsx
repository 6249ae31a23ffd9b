// The launch form. Everything is checked here first, so a bad value shows inline and nothing starts;
// the main side checks again (it trusts no renderer).
import { useState, type FormEvent } from 'react';
import { runRequestProblem, splitCommand, type HostInfo, type LockerApi, type RunResult } from '../../../shared/api';
import { NAMESPACES, NAMESPACE_HELP, type Namespace } from '../../../shared/types';

interface Props {
  api: LockerApi;
  hostInfo: HostInfo | null;
  onStarted(result: RunResult): void;
}

export function LaunchPanel({ api, hostInfo, onStarted }: Props) {
  const [useDefault, setUseDefault] = useState(true);
  const [rootfs, setRootfs] = useState('');
  const [command, setCommand] = useState('/bin/sh');
  const [hostname, setHostname] = useState('');
  // The user namespace is optional as root and required otherwise (the runtime says so too).
  const [namespaces, setNamespaces] = useState<Namespace[]>(NAMESPACES.filter((n) => n !== 'user'));
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const toggle = (n: Namespace) => setNamespaces((cur) => (cur.includes(n) ? cur.filter((x) => x !== n) : NAMESPACES.filter((x) => x === n || cur.includes(x))));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let argv: string[];
    try {
      argv = splitCommand(command);
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    const req = {
      command: argv,
      rootfs: useDefault ? undefined : rootfs.trim(),
      hostname: hostname.trim() === '' ? undefined : hostname.trim(),
      namespaces,
      cols: 80,
      rows: 24,
    };
    const problem = runRequestProblem(req) ?? (!useDefault && !req.rootfs ? 'type a rootfs path, or choose the embedded default' : undefined);
    if (problem) {
      setError(problem);
      return;
    }
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
      {error && (
        <p className="error" role="alert" data-testid="launch-error">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy} data-testid="launch-run">
        {busy ? 'Starting…' : 'Run'}
      </button>
    </form>
  );
}
