// The filesystem as one side sees it: host / or the container's / (its pivoted root).
import { useEffect, useState } from 'react';
import type { LockerApi } from '../../../shared/api';
import type { DirListing } from '../../../shared/types';
import { size } from '../lib/format';

interface Props {
  api: LockerApi;
  containerId: string;
  side: 'host' | 'container';
}

function join(dir: string, name: string): string {
  if (name === '..') return dir.replace(/\/[^/]*$/, '') || '/';
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function FileBrowser({ api, containerId, side }: Props) {
  const [path, setPath] = useState('/');
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState('');

  useEffect(() => setPath('/'), [containerId]);
  useEffect(() => {
    let live = true;
    api.listDir({ id: containerId, side, path }).then(
      (l) => live && (setListing(l), setError('')),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [api, containerId, side, path]);

  const entries = [...(listing?.entries ?? [])].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
  return (
    <div className="files" data-testid={`fs-${side}`}>
      <div className="fs-path mono" data-testid={`fs-path-${side}`}>{path}</div>
      {error && <p className="error">{error}</p>}
      <ul>
        {path !== '/' && (
          <li><button type="button" className="entry dir" onClick={() => setPath(join(path, '..'))} data-testid={`fs-${side}-up`}>..</button></li>
        )}
        {entries.map((e) => {
          const canOpen = e.type === 'dir' || e.type === 'symlink';
          return (
            <li key={e.name}>
              <button
                type="button" className={`entry ${e.type}`} disabled={!canOpen} data-testid={`fs-${side}-entry`} data-name={e.name}
                onClick={() => canOpen && setPath(join(path, e.name))}
              >
                {e.name}{e.type === 'dir' ? '/' : ''}
                {e.linkTarget && <span className="muted"> → {e.linkTarget}</span>}
                {e.type === 'file' && <span className="muted size">{size(e.size)}</span>}
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
