// What happens when someone clicks a link in a terminal (OSC 8 hyperlinks; any link provider added
// later must call followTerminalLink too). The target is the container's choice, so it is shown in
// full and opened only on an explicit yes, never to Locker's own web-mode port (app/shared/link-policy.ts).
import { linkDecision } from '../../../shared/link-policy';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, testId?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text; // text only: a target is never parsed as HTML
  if (testId) e.dataset.testid = testId;
  return e;
}

/** A modal <dialog> that resolves with the button pressed; Escape counts as no. */
function ask(build: (d: HTMLDialogElement) => HTMLButtonElement[]): Promise<string> {
  const dialog = el('dialog', undefined, 'link-dialog');
  dialog.className = 'link-dialog';
  const buttons = build(dialog);
  const row = el('p');
  row.append(...buttons);
  dialog.append(row);
  document.body.append(dialog);
  return new Promise((resolve) => {
    for (const b of buttons) b.addEventListener('click', () => dialog.close(b.value));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue);
      dialog.remove();
    });
    dialog.showModal();
    buttons[buttons.length - 1].focus({ preventScroll: true }); // the safe choice has the focus
  });
}

function button(label: string, value: string, testId: string): HTMLButtonElement {
  const b = el('button', label, testId);
  b.type = 'button';
  b.value = value;
  return b;
}

function target(text: string): HTMLElement {
  const code = el('code', text, 'link-target');
  code.style.wordBreak = 'break-all';
  code.style.display = 'block';
  return code;
}

export async function followTerminalLink(text: string): Promise<void> {
  const decision = linkDecision(text, window.location);
  if (decision.kind === 'refuse') {
    await ask((d) => {
      d.append(el('h3', 'Locker will not open this link'), target(decision.shown), el('p', decision.reason, 'link-refusal'));
      return [button('Close', 'close', 'link-close')];
    });
    return;
  }
  const answer = await ask((d) => {
    const host = el('p', 'It leads to ');
    host.append(el('b', decision.host, 'link-host'));
    d.append(el('h3', 'Open this link from the terminal?'), target(decision.href), host,
      el('p', 'Whatever runs in the container wrote this link. Open it only if you expected it.'));
    return [button('Open in a new tab', 'open', 'link-open'), button('Cancel', 'cancel', 'link-cancel')];
  });
  if (answer === 'open') window.open(decision.href, '_blank', 'noopener,noreferrer');
}
