// cached(): one shared load, loaded again after its time or on reload(), a failed load not kept.
import { cached } from '../../src/infra/cached';

describe('cached', () => {
  it('shares one load, reloads when asked or when older than its time, and forgets a failure', async () => {
    let loads = 0;
    let fail = false;
    const c = cached(50, async () => {
      loads++;
      if (fail) throw new Error('down');
      return loads;
    });
    const [a, b] = await Promise.all([c.get(), c.get()]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    expect(await c.reload()).toBe(2);
    expect(await c.get()).toBe(2);
    const deadline = Date.now() + 2000;
    while (Date.now() - deadline < 0 && (await c.get()) === 2) await new Promise((r) => setImmediate(r));
    expect(loads).toBe(3); // older than 50 ms: loaded again
    fail = true;
    await expect(c.reload()).rejects.toThrow('down');
    fail = false;
    expect(await c.get()).toBe(5); // the failure was not kept
  });
});
