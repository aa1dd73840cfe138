// Call notes (通话小结) and call record views. Rules:
// - a note is written by the call's agent, or by a supervisor/admin; it may be edited by its author or a supervisor/admin;
// - a note's category / resolved flag are carried onto the call record (calls.category_id, calls.resolved_on_phone);
// - agents list their own calls (or a caller's calls by number); supervisors, dispatchers and admins see all.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import { BadRequestError, ForbiddenError, NotFoundError } from '../infra/errors';
import { decodeCursor, requirePhone } from '../http/schemas';
import { toCallSummaryDto, toPage, type CallSummaryDto, type Page } from '../callers/service';
import { createNotesRepo, type NoteRow } from './notes-repo';

export interface NoteDto {
  id: number;
  callId: string;
  agentId: number | null;
  authorId: number;
  authorName: string;
  categoryId: number | null;
  categoryName: string | null;
  content: string;
  resolved: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CallDetailDto extends CallSummaryDto {
  nodeId: string;
  channelId: string;
  agentChannelId: string | null;
  bridgeId: string | null;
  skill: string | null;
  offerCount: number;
  queuedAt: string | null;
  offeredAt: string | null;
  hangupCause: string | null;
  recordingName: string | null;
  notes: NoteDto[];
  offers: {
    id: number;
    agentId: number;
    agentName: string | null;
    channelId: string | null;
    offeredAt: string;
    endedAt: string | null;
    result: string | null;
  }[];
  events: { id: number; at: string; fromState: string | null; toState: string; detail: unknown }[];
}

export interface ListCallsInput {
  agentId?: number;
  callerNumber?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const MANAGERS = new Set(['supervisor', 'admin']);

function toNoteDto(r: NoteRow): NoteDto {
  return {
    id: r.id,
    callId: r.call_id,
    agentId: r.agent_id,
    authorId: r.author_id,
    authorName: r.author_name,
    categoryId: r.category_id,
    categoryName: r.category_name,
    content: r.content,
    resolved: r.resolved,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function cleanContent(content: string): string {
  const c = content.trim();
  if (!c) throw new BadRequestError('小结内容不能为空', 'validation_failed');
  return c;
}

export function createNotesService(deps: { db: Db }) {
  const repo = createNotesRepo(deps.db);

  async function checkCategory(categoryId: number | null | undefined, tx: Parameters<typeof repo.categoryExists>[1]) {
    if (categoryId != null && !(await repo.categoryExists(categoryId, tx))) {
      throw new BadRequestError(`分类 ${categoryId} 不存在`, 'category_not_found');
    }
  }

  async function addNote(
    user: AuthUser,
    callId: string,
    input: { content: string; categoryId?: number; resolved?: boolean },
  ): Promise<NoteDto> {
    const content = cleanContent(input.content);
    const noteId = await deps.db.withTransaction(async (tx) => {
      const call = await repo.lockCall(callId, tx);
      if (!call) throw new NotFoundError('通话记录不存在', 'call_not_found');
      const isCallAgent = user.agentId !== null && call.agent_id === user.agentId;
      if (!isCallAgent && !MANAGERS.has(user.role)) {
        throw new ForbiddenError('只有接听该通话的话务员或班长可以填写通话小结');
      }
      await checkCategory(input.categoryId, tx);
      const resolved = input.resolved ?? false;
      const id = await repo.insertNote(
        {
          callId,
          agentId: isCallAgent ? user.agentId : call.agent_id,
          authorId: user.id,
          categoryId: input.categoryId ?? null,
          content,
          resolved,
        },
        tx,
      );
      await repo.updateCallSummary(callId, { categoryId: input.categoryId, resolved }, tx);
      return id;
    });
    return toNoteDto((await repo.findNote(callId, noteId))!);
  }

  async function updateNote(
    user: AuthUser,
    callId: string,
    noteId: number,
    input: { content?: string; categoryId?: number | null; resolved?: boolean },
  ): Promise<NoteDto> {
    const content = input.content === undefined ? undefined : cleanContent(input.content);
    await deps.db.withTransaction(async (tx) => {
      const call = await repo.lockCall(callId, tx);
      if (!call) throw new NotFoundError('通话记录不存在', 'call_not_found');
      const note = await repo.findNote(callId, noteId, tx);
      if (!note) throw new NotFoundError('通话小结不存在', 'note_not_found');
      if (note.author_id !== user.id && !MANAGERS.has(user.role)) {
        throw new ForbiddenError('只能修改自己填写的通话小结');
      }
      await checkCategory(input.categoryId, tx);
      await repo.updateNote(noteId, { content, categoryId: input.categoryId, resolved: input.resolved }, tx);
      await repo.updateCallSummary(callId, { categoryId: input.categoryId, resolved: input.resolved }, tx);
    });
    return toNoteDto((await repo.findNote(callId, noteId))!);
  }

  async function getCall(_user: AuthUser, callId: string): Promise<CallDetailDto> {
    const [call, notes, offers, events] = await Promise.all([
      repo.callDetail(callId),
      repo.notes(callId),
      repo.offers(callId),
      repo.events(callId),
    ]);
    if (!call) throw new NotFoundError('通话记录不存在', 'call_not_found');
    return {
      ...toCallSummaryDto(call),
      nodeId: call.node_id,
      channelId: call.channel_id,
      agentChannelId: call.agent_channel_id,
      bridgeId: call.bridge_id,
      skill: call.skill,
      offerCount: call.offer_count,
      queuedAt: iso(call.queued_at),
      offeredAt: iso(call.offered_at),
      hangupCause: call.hangup_cause,
      recordingName: call.recording_name,
      notes: notes.map(toNoteDto),
      offers: offers.map((o) => ({
        id: o.id,
        agentId: o.agent_id,
        agentName: o.agent_name,
        channelId: o.channel_id,
        offeredAt: o.offered_at.toISOString(),
        endedAt: iso(o.ended_at),
        result: o.result,
      })),
      events: events.map((e) => ({ id: e.id, at: e.at.toISOString(), fromState: e.from_state, toState: e.to_state, detail: e.detail })),
    };
  }

  async function listCalls(user: AuthUser, input: ListCallsInput): Promise<Page<CallSummaryDto>> {
    const after = decodeCursor(input.cursor);
    const callerNumber = input.callerNumber === undefined ? undefined : requirePhone(input.callerNumber, 'callerNumber');
    if (input.from && input.to && Date.parse(input.from) > Date.parse(input.to)) {
      throw new BadRequestError('开始时间不能晚于结束时间', 'validation_failed');
    }
    let agentId = input.agentId;
    if (user.role === 'agent') {
      if (agentId !== undefined && agentId !== user.agentId) throw new ForbiddenError('话务员只能查看自己的通话记录');
      // Without a caller number an agent lists their own calls.
      if (agentId === undefined && callerNumber === undefined) {
        if (user.agentId === null) throw new ForbiddenError('当前用户没有话务员席位');
        agentId = user.agentId;
      }
    }
    const rows = await repo.listCalls({ agentId, callerNumber, from: input.from, to: input.to }, after, input.limit + 1);
    return toPage(rows, input.limit);
  }

  async function listAgentCalls(
    user: AuthUser,
    agentId: number,
    input: Omit<ListCallsInput, 'agentId' | 'callerNumber'>,
  ): Promise<Page<CallSummaryDto>> {
    if (user.role === 'agent' && user.agentId !== agentId) throw new ForbiddenError('话务员只能查看自己的通话记录');
    if (!(await repo.agentExists(agentId))) throw new NotFoundError('话务员不存在', 'agent_not_found');
    return listCalls(user, { ...input, agentId });
  }

  return { addNote, updateNote, getCall, listCalls, listAgentCalls };
}

export type NotesService = ReturnType<typeof createNotesService>;
