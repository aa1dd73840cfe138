// The call side's façade (DESIGN §2, §3): builds the shared context, wires the steps into it and the router onto
// the switch, and offers what the rest of the service asks of live calls (transfer, hang up, figures).
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import { CallRegistry } from './registry';
import { WaitingQueue } from './queue';
import type { TransferMode, TransferTarget } from './transfer-repo';
import type { OutboundDialler } from './dialler';
import { drainInflight, type CallContext, type CallPorts, type Flow } from './context';
import { createRouter } from './stasis';
import { inboundStep } from './inbound';
import { ivrStep } from './ivr';
import { waitingStep } from './waiting';
import { dispatchStep } from './dispatch';
import { offerStep } from './offer';
import { connectStep } from './connect';
import { endingStep } from './ending';
import { surveyStep } from './survey';
import { transferStep, type TransferControl } from './transfer';
import { keepPlaceStep } from './keep-place';
import { reconcileStep, type ReconcileStats } from './reconcile';

export type { CallSettings } from './context';

/** How long a stop waits for running call handlers (main.ts gives the whole shutdown 15 s). */
const STOP_DRAIN_MS = 5000;

/** The ports the steps share (context.ts), plus what only the façade needs. */
export interface CallServiceDeps extends CallPorts {
  /** Redis connection in subscriber mode (shared with the hub) for "an agent became available" notices. */
  sub: Redis;
  logger: Logger;
}

export class CallService {
  readonly registry = new CallRegistry();
  readonly queue = new WaitingQueue();
  readonly dialler: OutboundDialler;
  private readonly ctx: CallContext;
  private readonly dispatcher: ReturnType<typeof dispatchStep>;
  private readonly transfers: TransferControl;
  private readonly reconciler: ReturnType<typeof reconcileStep>;
  private readonly router: ReturnType<typeof createRouter>;

  constructor(deps: CallServiceDeps) {
    const { sub, logger, ...ports } = deps;
    const flow = {} as Flow;
    this.dialler = deps.dialler;
    this.ctx = { ...ports, log: logger.child({ mod: 'calls' }), registry: this.registry, queue: this.queue, flow, stopped: false, inflight: new Set() };
    this.dispatcher = dispatchStep(this.ctx);
    this.transfers = transferStep(this.ctx);
    Object.assign(
      flow,
      inboundStep(this.ctx),
      ivrStep(this.ctx),
      waitingStep(this.ctx),
      this.dispatcher,
      offerStep(this.ctx),
      connectStep(this.ctx),
      endingStep(this.ctx),
      surveyStep(this.ctx),
      this.transfers,
      keepPlaceStep(this.ctx),
    );
    this.reconciler = reconcileStep(this.ctx);
    this.router = createRouter(this.ctx, { sub, reconcile: () => this.reconcile() });
  }

  start(): Promise<void> {
    return this.router.start();
  }

  async stop(): Promise<void> {
    this.ctx.stopped = true;
    this.router.stop();
    this.dispatcher.stop();
    // An event already taken (a caller's hang-up, say) finishes its record and frees its agent before the
    // connections close; otherwise the agent stays busy in Redis until another process reconciles the call.
    const left = await drainInflight(this.ctx, STOP_DRAIN_MS);
    if (left > 0) this.ctx.log.warn({ handlers: left }, 'call handlers still running at shutdown');
    for (const c of this.registry.all()) {
      c.clearTimers();
      c.flushInsert();
    }
    await this.ctx.repo.flush();
  }

  /** Match waiting callers with available agents now. */
  kick(): void {
    this.ctx.flow.kick();
  }

  reconcile(): Promise<ReconcileStats> {
    return this.reconciler.reconcile();
  }

  transfer(callId: string, target: TransferTarget, mode: TransferMode, requestedBy: number | null): Promise<{ transferId: number; target: string }> {
    return this.transfers.transfer(callId, target, mode, requestedBy);
  }

  completeTransfer(callId: string): Promise<void> {
    return this.transfers.completeTransfer(callId);
  }

  cancelTransfer(callId: string): Promise<void> {
    return this.transfers.cancelTransfer(callId);
  }

  /** Agent or supervisor ends a call from the console. */
  async hangupCall(callId: string): Promise<boolean> {
    const call = this.registry.get(callId);
    if (!call) return false;
    await this.ctx.sw.hangup(call.channelId);
    return true;
  }

  /** Live figures for /health, the board and metrics. */
  stats(): { active: number; waiting: number; longestWaitMs: number } {
    return { active: this.registry.size, waiting: this.queue.size, longestWaitMs: this.queue.oldestWaitMs() };
  }
}
