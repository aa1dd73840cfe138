// A value loaded on demand and shared: one promise for every caller, loaded again once it is older than ttlMs (or
// on reload()). A load that fails is not kept, so the next caller tries again.
export interface Cached<T> {
  get(): Promise<T>;
  reload(): Promise<T>;
}

export function cached<T>(ttlMs: number, load: () => Promise<T>): Cached<T> {
  let at = 0;
  let current: Promise<T> | null = null;
  function reload(): Promise<T> {
    at = Date.now();
    const p: Promise<T> = load().catch((err: unknown) => {
      if (current === p) current = null;
      throw err;
    });
    current = p;
    return p;
  }
  return { get: () => (current && Date.now() - at <= ttlMs ? current : reload()), reload };
}
