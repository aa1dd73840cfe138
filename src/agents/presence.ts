// Agent presence from AMI: the phone's device state (DeviceStateChange, "PJSIP/agent1001" → NOT_INUSE,
// INUSE, RINGING, UNAVAILABLE…) is copied into the ACD, which never offers a call to a phone that is
// unregistered or in use. A full DeviceStateList after every AMI (re)connect catches changes missed while down.
import type { Logger } from '../infra/logger';
import { settledWithin } from '../infra/wait';
import type { AmiClient, AmiMessage } from '../telephony/ami';
import type { Acd } from './acd';
import type { AgentRepo, AgentRow } from './repo';

export class Presence {
  private byDevice = new Map<string, number>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;
  // A phone's states must land in the order Asterisk sent them (RINGING → INUSE → NOT_INUSE): one chain per device.
  // Different phones do not wait for each other: with one chain for all, a burst of call ends at 200 open calls left
  // freed agents marked in use for up to ~150 ms (p95 64 ms) behind other phones' updates.
  private readonly chains = new Map<string, Promise<void>>();
  private readonly onEvent = (name: string, e: AmiMessage) => {
    if (name !== 'DeviceStateChange') return;
    const at = performance.now();
    this.enqueue(e.device ?? '', () => this.apply(e.device, e.state, at));
  };
  private readonly onUp = () => {
    this.resync().catch((err) => this.logger.warn({ err: (err as Error).message }, 'presence resync failed'));
  };

  constructor(
    private readonly ami: AmiClient,
    private readonly acd: Acd,
    private readonly agents: AgentRepo,
    private readonly endpointOf: (row: AgentRow) => string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.ami.on('event', this.onEvent);
    this.ami.on('up', this.onUp);
  }

  /** No more events taken; the device states already taken are applied (at most `drainMs`) before Redis closes. */
  async stop(drainMs = 5000): Promise<void> {
    this.ami.off('event', this.onEvent);
    this.ami.off('up', this.onUp);
    if (!(await settledWithin(Promise.all([...this.chains.values()]), drainMs))) this.logger.warn('presence updates still running at shutdown');
  }

  private enqueue(device: string, fn: () => Promise<unknown>): Promise<void> {
    const key = device.toUpperCase();
    const next = (this.chains.get(key) ?? Promise.resolve()).then(fn).then(
      () => undefined,
      (err: unknown) => this.logger.warn({ err: (err as Error).message }, 'presence update failed'),
    );
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async agentFor(device: string): Promise<number | undefined> {
    const key = device.toUpperCase();
    // Agents change rarely; a 30 s cache keeps AMI's event rate off PostgreSQL. Unknown devices (callers' phones)
    // refresh it at most once a second.
    const stale = Date.now() - this.loadedAt > 30_000 || (!this.byDevice.has(key) && Date.now() - this.loadedAt > 1000);
    if (stale) {
      this.loading ??= this.agents
        .list()
        .then((rows) => {
          this.byDevice = new Map(rows.map((r) => [this.endpointOf(r).toUpperCase(), r.id]));
          this.loadedAt = Date.now();
        })
        .finally(() => (this.loading = null));
      await this.loading;
    }
    return this.byDevice.get(key);
  }

  /** `receivedAt` (performance.now() when AMI's event arrived) only for the debug line: how far presence lags. */
  async apply(device: string | undefined, state: string | undefined, receivedAt?: number): Promise<void> {
    if (!device || !state) return;
    const agentId = await this.agentFor(device);
    if (agentId === undefined) return;
    this.logger.debug({ agentId, device, state, ...(receivedAt === undefined ? {} : { lagMs: performance.now() - receivedAt }) }, 'phone state');
    await this.acd.setDevice(agentId, state.toUpperCase());
  }

  /** One phone's state (at sign-in: updates for signed-out agents were dropped), in line with the live events. */
  async probe(endpoint: string): Promise<void> {
    const res = await this.ami.action({ Action: 'Getvar', Variable: `DEVICE_STATE(${endpoint})` });
    const state = res.value;
    await this.enqueue(endpoint, async () => {
      // The agent who just signed in may be new since the device map was loaded.
      if (!this.byDevice.has(endpoint.toUpperCase())) this.loadedAt = 0;
      if (state && state !== 'UNKNOWN') await this.apply(endpoint, state);
      else await this.agentFor(endpoint);
    });
  }

  /** Full device list (after an AMI reconnect); applied in line with the live events. */
  async resync(): Promise<number> {
    const items = (await this.ami.deviceStateList()).filter((i) => i.device?.startsWith('PJSIP/'));
    this.loadedAt = 0; // pick up agents created since the last load
    await Promise.all(items.map((i) => this.enqueue(i.device!, () => this.apply(i.device, i.state))));
    return items.length;
  }
}
