// The filesystem as one side sees it: host / or the container's / (its pivoted root).
import { useEffect, useState } from 'react';
import type { LockerApi } from '../../../shared/api';
import type { DirEntry, DirListing } from '../../../shared/types';
import { size } from '../lib/format';

/** A symlink that was clicked and does not lead to a directory: what it points at, as this side sees it. */
interface LinkInfo {
  link: string;
  target: string;
  entry?: DirEntry;
  problem?: string;
}

interface Props {
  api: LockerApi;
  containerId: string;
  side: 'host' | 'container';
  /** A change lists the directory again (step-through: after each call). */
  refreshKey?: string;
}

function join(dir: string, name: string): string {
  if (name === '..') return dir.replace(/\/[^/]*$/, '') || '/';
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function FileBrowser({ api, containerId, side, refreshKey }: Props) {
  const [path, setPath] = useState('/');
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState('');
  const [info, setInfo] = useState<LinkInfo | null>(null);

  useEffect(() => setPath('/'), [containerId]);
  useEffect(() => setInfo(null), [containerId, path]);

  /** A symlink opens as a directory when it leads to one; otherwise its target's details are shown, the listing stays. */
  const openLink = async (e: DirEntry) => {
    const link = join(path, e.name);
    try {
      await api.listDir({ id: containerId, side, path: link });
      setPath(link);
      return;
    } catch {
      // not a directory (or dangling): describe the target instead
    }
    const raw = e.linkTarget ?? '';
    const target = raw.startsWith('/') ? raw : join(path, raw);
    const parent = target.replace(/\/[^/]*$/, '') || '/';
    const base = target.slice(target.lastIndexOf('/') + 1);
    try {
      const l = await api.listDir({ id: containerId, side, path: parent });
      const entry = l.entries.find((x) => x.name === base);
      setInfo({ link, target: raw, entry, problem: entry ? undefined : 'the target does not exist (a dangling link)' });
    } catch (err) {
      setInfo({ link, target: raw, problem: (err as Error).message });
    }
  };
  useEffect(() => {
    let live = true;
    api.listDir({ id: containerId, side, path }).then(
      (l) => live && (setListing(l), setError('')),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [api, containerId, side, path, refreshKey]);

  const entries = [...(listing?.entries ?? [])].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
  return (
    <div className="files" data-testid={`fs-${side}`}>
      <div className="fs-path mono" data-testid={`fs-path-${side}`}>{path}</div>
      {error && <p className="error">{error}</p>}
      {info && (
        <div className="fs-info" data-testid={`fs-info-${side}`}>
          <span className="mono">{info.link}</span> → <span className="mono">{info.target}</span>:{' '}
          {info.entry ? `a ${info.entry.type}, ${size(info.entry.size)}, mode ${(info.entry.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${info.entry.uid}:${info.entry.gid}` : info.problem}
          <button type="button" className="link" onClick={() => setInfo(null)} aria-label="close">×</button>
        </div>
      )}
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
                onClick={() => (e.type === 'symlink' ? void openLink(e) : canOpen && setPath(join(path, e.name)))}
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
