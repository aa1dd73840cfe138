// BUSINESS_HOURS, parsed: "24/7", or windows like "08:30-12:00,13:30-17:30" in China time on working days,
// optionally prefixed "daily " to open on days off too. config.ts validates the setting with it; the call flow
// (calls/hours.ts) decides with it whether the hotline is open.
export interface OpeningHours {
  alwaysOpen: boolean;
  /** Minute-of-day windows [start, end) in China time, on working days. */
  windows: [number, number][];
  /** Also open on days off (weekends, holidays) during the windows. */
  everyDay: boolean;
}

/**
 * "24/7", or windows like "08:30-12:00,13:30-17:30" (working days only), optionally prefixed "daily " to open on
 * days off too. Throws a readable error on anything else (config validation).
 */
export function parseOpeningHours(spec: string): OpeningHours {
  const s = spec.trim();
  if (s === '' || s === '24/7') return { alwaysOpen: true, windows: [], everyDay: true };
  const everyDay = s.startsWith('daily ');
  const body = everyDay ? s.slice(6) : s;
  const windows = body.split(',').map((part) => {
    const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(part.trim());
    if (!m) throw new Error(`BUSINESS_HOURS: "${part}" is not HH:MM-HH:MM`);
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = Number(m[3]) * 60 + Number(m[4]);
    if (start >= end || end > 24 * 60) throw new Error(`BUSINESS_HOURS: "${part}" is not a valid window`);
    return [start, end] as [number, number];
  });
  return { alwaysOpen: false, windows, everyDay };
}
