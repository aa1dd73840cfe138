// The agent console's WebSocket as the benches open it.
import WebSocket from 'ws';

/**
 * The agent's console socket: bearer header (current service), or `?token=` for builds before the console auth
 * moved out of the URL (the baseline of bench/asterisk).
 */
export function openConsole(base: string, token: string): Promise<WebSocket> {
  const url = `${base.replace('http', 'ws')}/api/agents/ws`;
  const open = (ws: WebSocket) =>
    new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  return open(new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })).catch(() => open(new WebSocket(`${url}?token=${encodeURIComponent(token)}`)));
}
