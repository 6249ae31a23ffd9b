import type { NamespaceComparison } from '../../../shared/types';

export function NamespaceTable({ namespaces }: { namespaces: NamespaceComparison[] }) {
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
    </section>
  );
}
