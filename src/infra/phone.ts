// Phone numbers as stored and looked up, shared by the call flow (below the HTTP layer) and the routes.

/** Spaces, dashes, dots and brackets removed, a leading + kept. */
export function normalizePhone(raw: string): string {
  const s = raw.trim().replace(/[\s\-().\u3000]/g, '');
  return s.startsWith('+') ? `+${s.slice(1).replace(/\+/g, '')}` : s;
}
