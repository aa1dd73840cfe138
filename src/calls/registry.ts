// Live calls of this process, found by call id or by either of their channels.
import type { Call } from './call';

export class CallRegistry {
  private readonly byId = new Map<string, Call>();
  private readonly byChannel = new Map<string, Call>();

  add(call: Call): void {
    this.byId.set(call.id, call);
    this.byChannel.set(call.channelId, call);
  }

  mapChannel(channelId: string, call: Call): void {
    this.byChannel.set(channelId, call);
  }

  unmapChannel(channelId: string): void {
    this.byChannel.delete(channelId);
  }

  get(callId: string): Call | undefined {
    return this.byId.get(callId);
  }

  forChannel(channelId: string): Call | undefined {
    return this.byChannel.get(channelId);
  }

  remove(call: Call): void {
    this.byId.delete(call.id);
    for (const [ch, c] of this.byChannel) if (c === call) this.byChannel.delete(ch);
  }

  all(): Call[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
