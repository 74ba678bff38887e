/** HTML of the live view. Every value from the store or a request goes through escapeHtml. */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface BuildRow {
  path: string;
  vm: string;
  start: string;
  state: 'running' | 'complete' | 'incomplete' | 'publishing';
  size: number;
  commit?: string;
}

const STYLE = `body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:left}
pre{background:#111;color:#ddd;padding:8px;white-space:pre-wrap;word-break:break-all}.running{color:#06c}.incomplete{color:#c60}`;

function page(title: string, body: string, refreshSeconds?: number): string {
  const refresh = refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '';
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function listPage(vm: string, rows: BuildRow[]): string {
  const tr = rows.map((r) =>
    `<tr class="${escapeHtml(r.state)}"><td>${escapeHtml(r.vm)}</td><td>${escapeHtml(r.start)}</td>` +
    `<td>${escapeHtml(r.state)}</td><td>${escapeHtml(humanSize(r.size))}</td>` +
    `<td><a href="/log?path=${encodeURIComponent(r.path)}">${escapeHtml(r.path)}</a></td>` +
    `<td>${r.commit ? escapeHtml(r.commit.slice(0, 12)) : ''}</td></tr>`).join('\n');
  return page(`Build logs — ${vm}`,
    `<h1>Build logs — ${escapeHtml(vm)}</h1><table id="builds"><thead><tr><th>VM</th><th>start (UTC)</th><th>state</th>` +
    `<th>size</th><th>log</th><th>commit</th></tr></thead><tbody>\n${tr}\n</tbody></table>`, 5);
}

export function logPage(path: string): string {
  return page(`Log ${path}`,
    `<p><a href="/">all builds</a> · <a href="/raw?path=${encodeURIComponent(path)}">raw</a></p>` +
    `<h1>${escapeHtml(path)}</h1><p id="status">connecting…</p>` +
    `<pre id="log" data-path="${escapeHtml(path)}"></pre><script src="/tail.js"></script>`);
}

/** The live tail client: appends text only through textContent (no HTML is ever parsed). */
export const TAIL_JS = `(() => {
  const pre = document.getElementById('log');
  const status = document.getElementById('status');
  const path = pre.dataset.path;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(proto + '//' + location.host + '/ws?path=' + encodeURIComponent(path));
  ws.onopen = () => { status.textContent = 'live'; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.text) pre.appendChild(document.createTextNode(m.text));
    if (m.state) status.textContent = m.state;
    window.scrollTo(0, document.body.scrollHeight);
  };
  // The server's reason when it dropped this viewer (too slow, too many viewers), else 'disconnected'.
  ws.onclose = (ev) => {
    if (ev.code !== 1000 && ev.code !== 1005 && ev.reason) status.textContent = 'disconnected: ' + ev.reason;
    else if (status.textContent === 'live') status.textContent = 'disconnected';
  };
})();
`;
