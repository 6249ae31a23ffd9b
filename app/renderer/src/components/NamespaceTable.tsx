import type { Confinement, NamespaceComparison } from '../../../shared/types';

/**
 * The namespace table, and below it what the container has differently from a container Locker
 * starts by default (seccomp mode, capabilities, no_new_privs, user/cgroup/… namespaces), as
 * /proc/PID/status and uid_map show it: why a docker, podman or runc container behaves otherwise.
 */
export function NamespaceTable({ namespaces, confinement }: { namespaces: NamespaceComparison[]; confinement?: Confinement }) {
  return (
    <section className="panel ns-table" data-testid="namespace-table">
      <h3>Namespaces: what the container shares with the host</h3>
      <table>
        <thead>
          <tr><th>type</th><th>host</th><th>container</th><th /></tr>
        </thead>
        <tbody>
          {namespaces.map((n) => (
            <tr key={n.type} data-testid={`ns-row-${n.type}`} data-shared={n.shared} className={n.shared ? 'shared' : 'separate'}>
              <td><b>{n.type}</b></td>
              <td className="mono">{n.host}</td>
              <td className="mono">{n.container}</td>
              <td className="verdict">{n.shared ? 'shared' : 'separate'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {confinement && (
        <div data-testid="confinement">
          {/* One line: with the table it must fit a 1920×1080 screen below two terminals. */}
          <p className="confinement-line">
            <span className="mono" data-testid="confinement-summary">
              seccomp {confinement.seccomp}{confinement.seccomp === 'filter' ? ` (${confinement.seccompFilters})` : ''} · no_new_privs {confinement.noNewPrivs ? 'set' : 'not set'} · {confinement.bounding.length} capabilities
            </span>
            {confinement.differences.length === 0 && <span data-testid="confinement-same"> — confined as Locker confines a container by default.</span>}
          </p>
          {confinement.differences.length > 0 && (
            <table data-testid="confinement-differences">
              <thead>
                <tr><th>differs from Locker</th><th>Locker's default</th><th>this container</th><th>what it means</th></tr>
              </thead>
              <tbody>
                {confinement.differences.map((d) => (
                  <tr key={d.topic} data-testid="confinement-difference" data-topic={d.topic}>
                    <td><b>{d.topic}</b></td>
                    <td>{d.locker}</td>
                    <td className="mono">{d.container}</td>
                    <td>{d.why}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
