// Agent presence from AMI: the phone's device state (DeviceStateChange, "PJSIP/agent1001" → NOT_INUSE,
// INUSE, RINGING, UNAVAILABLE…) is copied into the ACD, which never offers a call to a phone that is
// unregistered or in use. A full DeviceStateList after every AMI (re)connect catches changes missed while down.
import type { Logger } from '../infra/logger';
import type { AmiClient, AmiMessage } from '../telephony/ami';
import type { Acd } from './acd';
import type { AgentRepo, AgentRow } from './repo';

export class Presence {
  private byDevice = new Map<string, number>();
  private loadedAt = 0;
  private readonly onEvent = (name: string, e: AmiMessage) => {
    if (name === 'DeviceStateChange') this.apply(e.device, e.state).catch((err) => this.logger.warn({ err }, 'presence update failed'));
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

  stop(): void {
    this.ami.off('event', this.onEvent);
    this.ami.off('up', this.onUp);
  }

  private async agentFor(device: string): Promise<number | undefined> {
    // Agents change rarely; a 30 s cache keeps AMI's event rate off PostgreSQL.
    if (Date.now() - this.loadedAt > 30_000 || !this.byDevice.has(device)) {
      if (Date.now() - this.loadedAt > 1000) {
        const rows = await this.agents.list();
        this.byDevice = new Map(rows.map((r) => [this.endpointOf(r).toUpperCase(), r.id]));
        this.loadedAt = Date.now();
      }
    }
    return this.byDevice.get(device.toUpperCase());
  }

  async apply(device: string | undefined, state: string | undefined): Promise<void> {
    if (!device || !state) return;
    const agentId = await this.agentFor(device);
    if (agentId === undefined) return;
    await this.acd.setDevice(agentId, state.toUpperCase());
  }

  async resync(): Promise<number> {
    const items = await this.ami.deviceStateList();
    this.loadedAt = 0;
    let n = 0;
    for (const i of items) {
      if (!i.device?.startsWith('PJSIP/')) continue;
      await this.apply(i.device, i.state);
      n++;
    }
    return n;
  }
}
