// Softphone registration from AMI (PeerStatus, ContactStatus), next to the device state Presence copies:
// - every status is kept in Redis for the board (<prefix>:sup:reg, field = device e.g. PJSIP/AGENT1001);
// - a phone that became unreachable or unregistered is marked UNAVAILABLE in the ACD at once (Asterisk follows
//   with DeviceStateChange UNAVAILABLE anyway; this covers builds and orders where that comes late or not at all).
//   Coming back is left to DeviceStateChange (NOT_INUSE), which knows whether the phone is in use.
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { AmiClient, AmiMessage } from '../telephony/ami';
import type { Presence } from '../agents/presence';

export const REG_KEY = 'sup:reg';
const OFFLINE = new Set(['UNREACHABLE', 'REMOVED', 'UNREGISTERED', 'REJECTED', 'UNAVAILABLE']);

export interface Registration {
  status: string;
  at: number;
}

/** PeerStatus (Peer: PJSIP/agent1001) or ContactStatus (EndpointName: agent1001) → device and status. */
export function registrationOf(name: string, e: AmiMessage): { device: string; status: string } | null {
  if (name === 'PeerStatus' && e.peer && e.peerstatus) return { device: e.peer, status: e.peerstatus };
  if (name === 'ContactStatus' && e.endpointname && e.contactstatus) return { device: `PJSIP/${e.endpointname}`, status: e.contactstatus };
  return null;
}

export class RegistrationWatcher {
  private readonly onEvent = (name: string, e: AmiMessage) => {
    const r = registrationOf(name, e);
    if (r) this.apply(r.device, r.status).catch((err: unknown) => this.logger.warn({ err }, 'registration update failed'));
  };

  constructor(
    private readonly ami: AmiClient,
    private readonly presence: Presence,
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.ami.on('event', this.onEvent);
  }

  stop(): void {
    this.ami.off('event', this.onEvent);
  }

  async apply(device: string, status: string): Promise<void> {
    const offline = OFFLINE.has(status.toUpperCase());
    if (offline) await this.presence.apply(device, 'UNAVAILABLE');
    if (this.redis.status === 'ready') {
      await this.redis.hset(REG_KEY, device.toUpperCase(), JSON.stringify({ status, at: Date.now() } satisfies Registration));
    }
  }
}

export async function readRegistrations(redis: Redis): Promise<Map<string, Registration>> {
  if (redis.status !== 'ready') return new Map();
  const h = await redis.hgetall(REG_KEY);
  const out = new Map<string, Registration>();
  for (const [k, v] of Object.entries(h)) {
    try {
      out.set(k, JSON.parse(v) as Registration);
    } catch {
      // skip
    }
  }
  return out;
}
