// Live calls of this process, found by call id or by any of their channels.
import type { Call } from './call';

export class CallRegistry {
  private readonly byId = new Map<string, Call>();
  private readonly byChannel = new Map<string, Call>();
  // A call's own channel ids, so that removing a call costs its channels, not every live channel.
  private readonly channelsOf = new Map<Call, Set<string>>();

  /**
   * Registers a call under its id and its caller's channel. One call per channel: when a StasisStart and reconcile
   * both take the same channel as a new call, the first one registered wins and the other gets it back.
   */
  add(call: Call): Call {
    const owner = this.byChannel.get(call.channelId);
    if (owner && owner !== call) return owner;
    this.byId.set(call.id, call);
    this.mapChannel(call.channelId, call);
    return call;
  }

  mapChannel(channelId: string, call: Call): void {
    const before = this.byChannel.get(channelId);
    if (before && before !== call) this.channelsOf.get(before)?.delete(channelId);
    this.byChannel.set(channelId, call);
    let own = this.channelsOf.get(call);
    if (!own) this.channelsOf.set(call, (own = new Set()));
    own.add(channelId);
  }

  unmapChannel(channelId: string): void {
    const call = this.byChannel.get(channelId);
    if (!call) return;
    this.byChannel.delete(channelId);
    this.channelsOf.get(call)?.delete(channelId);
  }

  get(callId: string): Call | undefined {
    return this.byId.get(callId);
  }

  forChannel(channelId: string): Call | undefined {
    return this.byChannel.get(channelId);
  }

  remove(call: Call): void {
    if (this.byId.get(call.id) === call) this.byId.delete(call.id);
    for (const ch of this.channelsOf.get(call) ?? []) if (this.byChannel.get(ch) === call) this.byChannel.delete(ch);
    this.channelsOf.delete(call);
  }

  all(): Call[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
