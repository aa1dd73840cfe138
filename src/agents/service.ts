// Agent-chosen state (log in/out, ready, pause) on top of the ACD, with the history in PostgreSQL and the
// console told about every change.
import { ConflictError, ForbiddenError, NotFoundError } from '../infra/errors';
import type { Logger } from '../infra/logger';
import { AgentStateError, type Acd, type AgentLive, type AgentState } from './acd';
import type { ScreenPopHub } from './hub';
import { agentEndpoint } from './endpoint';
import type { AgentRepo, AgentRow } from './repo';

export interface AgentView extends AgentLive {
  displayName: string;
}

const STATE_ERRORS: Record<AgentStateError['reason'], string> = {
  offline: '坐席尚未签入，请先签入',
  on_call: '通话中不能执行此操作',
  bad_state: '坐席状态无效',
  not_wrap_up: '当前不在话后整理中',
};

export class AgentService {
  /** Re-reads phone states from AMI after a sign-in (set by the composition root when AMI is on). */
  presenceProbe: ((endpoint: string) => Promise<unknown>) | null = null;

  constructor(
    private readonly repo: AgentRepo,
    private readonly acd: Acd,
    private readonly hub: ScreenPopHub,
    private readonly endpointTemplate: string,
    private readonly logger: Logger,
  ) {}

  private async seat(agentId: number | null): Promise<AgentRow> {
    if (agentId === null) throw new ForbiddenError('当前用户没有坐席，不能签入', 'not_an_agent');
    const row = await this.repo.get(agentId);
    if (!row) throw new NotFoundError('坐席不存在', 'agent_not_found');
    if (!row.active) throw new ForbiddenError('该坐席已停用', 'agent_inactive');
    return row;
  }

  endpointOf(row: Pick<AgentRow, 'endpoint' | 'extension'>): string {
    return agentEndpoint(this.endpointTemplate, row);
  }

  async login(agentId: number | null, initial: 'ready' | 'paused'): Promise<AgentView> {
    const row = await this.seat(agentId);
    const state = await this.acd.login({ agentId: row.id, extension: row.extension, endpoint: this.endpointOf(row), skills: row.skills }, initial);
    if (this.presenceProbe) {
      // Device updates for signed-out agents are dropped, so the phone's state is unknown until we ask.
      await this.presenceProbe(this.endpointOf(row)).catch((err: unknown) => this.logger.warn({ err: (err as Error).message, agentId: row.id }, 'presence probe failed'));
    }
    await this.changed(row, state, initial === 'paused' ? 'login' : null);
    return this.view(row);
  }

  async setState(agentId: number | null, want: 'ready' | 'paused' | 'offline', reason = ''): Promise<AgentView> {
    const row = await this.seat(agentId);
    let state: AgentState;
    try {
      state = await this.acd.setState(row.id, want, reason);
    } catch (err) {
      if (err instanceof AgentStateError) throw new ConflictError(STATE_ERRORS[err.reason], `agent_${err.reason}`);
      throw err;
    }
    await this.changed(row, state, want === 'paused' ? reason : null);
    return this.view(row);
  }

  /** 完成整理: ends the wrap-up on the server, so the agent is offered the next call at once. */
  async endWrapUp(agentId: number | null): Promise<AgentView> {
    const row = await this.seat(agentId);
    let state: AgentState;
    try {
      state = await this.acd.endWrapUp(row.id);
    } catch (err) {
      if (err instanceof AgentStateError) throw new ConflictError(STATE_ERRORS[err.reason], `agent_${err.reason}`);
      throw err;
    }
    await this.changed(row, state, null);
    return this.view(row);
  }

  async me(agentId: number | null): Promise<AgentView> {
    return this.view(await this.seat(agentId));
  }

  async board(): Promise<AgentView[]> {
    const rows = await this.repo.list();
    const live = await this.acd.getMany(rows.map((r) => r.id));
    return rows.map((r, i) => ({ ...live[i]!, extension: r.extension, endpoint: live[i]!.endpoint || this.endpointOf(r), displayName: r.displayName }));
  }

  private async view(row: AgentRow): Promise<AgentView> {
    const live = await this.acd.get(row.id);
    return { ...live, extension: row.extension, endpoint: live.endpoint || this.endpointOf(row), displayName: row.displayName };
  }

  private async changed(row: AgentRow, state: AgentState, reason: string | null): Promise<void> {
    await this.repo.logState(row.id, state, reason);
    this.logger.info({ agentId: row.id, state, reason }, 'agent state');
    await this.hub.publish(row.id, { type: 'agent.state', state, reason, since: Date.now() });
  }
}
