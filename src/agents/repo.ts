// Agent seats (agents table) and their state history.
import type { Db } from '../infra/db';

export interface AgentRow {
  id: number;
  userId: number;
  extension: string;
  endpoint: string | null;
  skills: string[];
  displayName: string;
  active: boolean;
}

const SELECT = `select a.id, a.user_id as "userId", a.extension, a.endpoint, a.skills, u.display_name as "displayName",
  a.active and u.active as active from agents a join users u on u.id = a.user_id`;

export class AgentRepo {
  constructor(private readonly db: Db) {}

  async get(agentId: number): Promise<AgentRow | null> {
    const { rows } = await this.db.query<AgentRow & Record<string, unknown>>(`${SELECT} where a.id = $1`, [agentId]);
    return rows[0] ?? null;
  }

  async byExtension(extension: string): Promise<AgentRow | null> {
    const { rows } = await this.db.query<AgentRow & Record<string, unknown>>(`${SELECT} where a.extension = $1`, [extension]);
    return rows[0] ?? null;
  }

  async list(): Promise<AgentRow[]> {
    const { rows } = await this.db.query<AgentRow & Record<string, unknown>>(`${SELECT} order by a.extension`);
    return rows;
  }

  async logState(agentId: number, state: string, reason: string | null): Promise<void> {
    await this.db.query(`insert into agent_state_log (agent_id, state, reason) values ($1, $2, $3)`, [agentId, state, reason]);
  }
}
