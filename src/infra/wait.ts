// Shutdown waits: work already started may finish, but a promise stuck on a dead connection must not hold the
// process past its deadline.

/** Resolves true once `p` settles, or false after `ms` (the timer is cleared either way). */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(
    () => true,
    () => true,
  );
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
