// Callback (回访): resolved cases wait in the callback list; an agent calls the resident back (click-to-call
// through an injected placeCall, wired to ARI originate by call control) and records whether it was solved and
// the satisfaction. 不满意 reopens the case to the same department (重办: new dispatch number → new queue job,
// new deadlines); otherwise the case is closed.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { agentEndpoint as endpointRule } from '../agents/endpoint';
import { BadRequestError, ForbiddenError, ServiceUnavailableError } from '../infra/errors';
import { toCaseDto, type CaseDto, type CasesService } from '../cases/service';
import { assertRole } from '../cases/state';
import { CASE_SELECT, type CaseRow } from '../cases/repo';

export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

export const SATISFACTION_LABELS: Record<Satisfaction, string> = {
  satisfied: '满意',
  basically_satisfied: '基本满意',
  unsatisfied: '不满意',
};

/** Originates a call to the agent's endpoint, then to the resident; resolves with an id of the call when known. */
export type PlaceCall = (agentEndpoint: string, residentNumber: string) => Promise<{ callId?: string } | void>;

export interface CallbackCallDto {
  caseId: number;
  status: string;
  agentEndpoint: string;
  callId: string | null;
}

export function createCallbacksService(deps: {
  db: Db;
  cases: CasesService;
  logger: Logger;
  agentEndpointTemplate: string;
  placeCall?: PlaceCall | null;
}) {
  let placeCall: PlaceCall | null = deps.placeCall ?? null;

  async function list(input: { status?: 'resolved' | 'callback'; limit: number; offset: number }): Promise<CaseDto[]> {
    const { rows } = await deps.db.query<CaseRow>(
      `${CASE_SELECT}
        where s.status = any($1)
        order by s.resolved_at nulls last, s.id
        limit $2 offset $3`,
      [input.status ? [input.status] : ['resolved', 'callback'], input.limit, input.offset],
    );
    return rows.map(toCaseDto);
  }

  async function record(user: AuthUser, caseId: number, input: { solved: boolean; satisfaction: Satisfaction; note?: string }): Promise<CaseDto> {
    const note = input.note?.trim() || null;
    const label = SATISFACTION_LABELS[input.satisfaction];
    const summary = `回访结果：${input.solved ? '已解决' : '未解决'}，${label}${note ? `。${note}` : ''}`;
    const save = async (tx: Parameters<Parameters<Db['withTransaction']>[0]>[0]) => {
      await deps.db.query(
        `insert into case_callbacks (case_id, agent_user_id, solved, satisfaction, note) values ($1, $2, $3, $4, $5)`,
        [caseId, user.id, input.solved, input.satisfaction, note],
        tx,
      );
    };
    if (input.satisfaction === 'unsatisfied') {
      return deps.cases.transition(user, caseId, 'callback_reopen', async (c, _to, tx) => {
        if (!c.department_id) throw new BadRequestError('工单没有承办部门，不能重办', 'validation_failed');
        const { rows } = await deps.db.query<{ id: number; code: string; reopen_count: number }>(
          `select d.id, d.code, s.reopen_count from cases s join departments d on d.id = s.department_id where s.id = $1`,
          [c.id],
          tx,
        );
        const dept = rows[0]!;
        await save(tx);
        const routed = await deps.cases.routeTo(c, dept, user, tx);
        return {
          ...routed,
          fields: { ...routed.fields, satisfaction: input.satisfaction, reopen_count: dept.reopen_count + 1, resolved_at: null },
          note: summary,
          detail: { ...(routed.detail as object), solved: input.solved, satisfaction: input.satisfaction },
        };
      });
    }
    return deps.cases.transition(user, caseId, 'callback_close', async (_c, _to, tx) => {
      await save(tx);
      return {
        fields: { satisfaction: input.satisfaction, closed_at: new Date() },
        note: summary,
        detail: { solved: input.solved, satisfaction: input.satisfaction },
      };
    });
  }

  async function agentEndpoint(user: AuthUser): Promise<string> {
    if (user.agentId === null) throw new ForbiddenError('当前用户没有话务员席位，不能外呼');
    const { rows } = await deps.db.query<{ extension: string; endpoint: string | null }>(
      `select extension, endpoint from agents where id = $1`,
      [user.agentId],
    );
    const a = rows[0];
    if (!a) throw new ForbiddenError('当前用户没有话务员席位，不能外呼');
    return endpointRule(deps.agentEndpointTemplate, a);
  }

  /** Click-to-call: rings the agent, then the resident; marks the case 回访中 (callback). 503 while telephony is absent. */
  async function call(user: AuthUser, caseId: number): Promise<CallbackCallDto> {
    assertRole('start_callback', user.role);
    const c = await deps.cases.load(user, caseId);
    if (c.status !== 'resolved' && c.status !== 'callback') {
      // Goes through the state machine for the standard 409 message.
      await deps.cases.transition(user, caseId, 'start_callback');
    }
    if (!c.contactPhone) throw new BadRequestError('工单没有市民联系电话，不能回访外呼', 'no_contact_phone');
    const endpoint = await agentEndpoint(user);
    const place = placeCall;
    if (!place) throw new ServiceUnavailableError('电话系统(ARI)暂时不可用，无法外呼回访', 'ari_unavailable');
    let placed: { callId?: string } | void;
    try {
      placed = await place(endpoint, c.contactPhone);
    } catch (err) {
      deps.logger.warn({ err, caseId }, 'callback originate failed');
      throw new ServiceUnavailableError('电话系统(ARI)暂时不可用，无法外呼回访', 'ari_unavailable');
    }
    const callId = (placed && placed.callId) || null;
    let status = c.status;
    if (c.status === 'resolved') {
      status = (await deps.cases.transition(user, caseId, 'start_callback', () => ({
        note: '话务员发起回访外呼',
        detail: { callId },
      }))).status;
    }
    return { caseId, status, agentEndpoint: endpoint, callId };
  }

  return {
    list,
    record,
    call,
    /** Wires click-to-call (ARI originate); null while telephony is absent → 503 ari_unavailable. */
    setPlaceCall(fn: PlaceCall | null) {
      placeCall = fn;
    },
  };
}

export type CallbacksService = ReturnType<typeof createCallbacksService>;
