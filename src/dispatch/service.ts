// The dispatcher's work queue (待派单): every case and web request waiting for a department, urgent first then
// oldest first, each with a suggested department (never a default one: no history, no suggestion). Other kinds of
// hints (duplicates, 并单) can join `hints` without changing the shape of an item.
import type { Db } from '../infra/db';
import { STATUS_LABELS, isStatus } from '../case-model/status';
import { createDispatchRepo, type WaitingRow } from './repo';

export interface Suggestion {
  departmentCode: string;
  departmentName: string;
  /** Past dispatches of this category to that department (same place first). */
  pastDispatches: number;
  samePlace: number;
  /** Why, in words for the dispatcher. */
  basis: string;
}

export interface WaitingItem {
  id: number;
  trackingNo: string;
  channel: string;
  status: string;
  statusLabel: string;
  urgency: 'normal' | 'urgent';
  title: string;
  description: string;
  categoryId: number | null;
  categoryName: string | null;
  contactName: string | null;
  contactPhone: string | null;
  place: string | null;
  address: string | null;
  returnReason: string | null;
  returnedBy: string | null;
  createdAt: string;
  waitingMs: number;
  suggestion: Suggestion | null;
}

function suggestion(r: WaitingRow): Suggestion | null {
  if (!r.suggested_code || !r.suggested_name) return null;
  const n = r.suggested_count ?? 0;
  const same = r.suggested_same_place ?? 0;
  const category = r.category_name ?? '同类';
  return {
    departmentCode: r.suggested_code,
    departmentName: r.suggested_name,
    pastDispatches: n,
    samePlace: same,
    basis: same > 0 ? `${r.place}的“${category}”诉求曾 ${same} 次派往该部门` : `“${category}”诉求曾 ${n} 次派往该部门`,
  };
}

export function createDispatchService(deps: { db: Db }) {
  const repo = createDispatchRepo(deps.db);

  async function queue(input: { limit: number; offset: number }, now = Date.now()): Promise<{ total: number; items: WaitingItem[] }> {
    const rows = await repo.waiting(input.limit, input.offset);
    return {
      total: rows[0]?.total ?? 0,
      items: rows.map((r) => ({
        id: Number(r.id),
        trackingNo: r.tracking_no,
        channel: r.channel,
        status: r.status,
        statusLabel: isStatus(r.status) ? STATUS_LABELS[r.status] : r.status,
        urgency: r.urgency,
        title: r.title,
        description: r.description,
        categoryId: r.category_id,
        categoryName: r.category_name,
        contactName: r.contact_name,
        contactPhone: r.contact_phone,
        place: r.place,
        address: r.address,
        returnReason: r.return_reason,
        returnedBy: r.returned_by_department,
        createdAt: r.created_at.toISOString(),
        waitingMs: Math.max(0, now - r.created_at.getTime()),
        suggestion: suggestion(r),
      })),
    };
  }

  return { queue };
}

export type DispatchService = ReturnType<typeof createDispatchService>;
