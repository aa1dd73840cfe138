// Knowledge base: service guides (办事指南, kind guide) and public information (政务公开, kind public_info).
// Rules: supervisors and admins write (create, edit, publish, delete); agents, dispatchers and department staff
// read published articles (agents search them during a call through /api/search too); the public reads published
// articles only, without author data. Drafts are visible to supervisors and admins.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import { BadRequestError, NotFoundError } from '../infra/errors';
import { validateQuery } from '../search/service';
import { createKnowledgeRepo, type ArticleFields, type ArticleRow } from './repo';

export const KIND_LABELS = { guide: '办事指南', public_info: '政务公开' } as const;

export interface ArticleDto {
  id: number;
  kind: 'guide' | 'public_info';
  kindLabel: string;
  title: string;
  body: string;
  categoryId: number | null;
  categoryName: string | null;
  departmentId: number | null;
  departmentName: string | null;
  tags: string[];
  status: 'draft' | 'published';
  createdAt: string;
  updatedAt: string;
  publishedAt: string | null;
}

export interface ListInput {
  q?: string;
  kind?: 'guide' | 'public_info';
  status?: 'draft' | 'published';
  category?: number;
  limit: number;
  offset: number;
}

const EDITORS = new Set(['supervisor', 'admin']);

export function toArticleDto(r: ArticleRow): ArticleDto {
  return {
    id: r.id,
    kind: r.kind,
    kindLabel: KIND_LABELS[r.kind],
    title: r.title,
    body: r.body,
    categoryId: r.category_id,
    categoryName: r.category_name,
    departmentId: r.department_id,
    departmentName: r.department_name,
    tags: r.tags,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    publishedAt: r.published_at ? r.published_at.toISOString() : null,
  };
}

function cleanFields<T extends ArticleFields>(f: T): T {
  const out = { ...f };
  if (out.title !== undefined) {
    out.title = out.title.trim();
    if (!out.title) throw new BadRequestError('标题不能为空', 'validation_failed');
  }
  if (out.body !== undefined) {
    out.body = out.body.trim();
    if (!out.body) throw new BadRequestError('正文不能为空', 'validation_failed');
  }
  if (out.tags !== undefined) out.tags = [...new Set(out.tags.map((t) => t.trim()).filter(Boolean))];
  return out;
}

export function createKnowledgeService(deps: { db: Db }) {
  const repo = createKnowledgeRepo(deps.db);

  async function list(user: AuthUser | null, input: ListInput) {
    const canDrafts = user !== null && EDITORS.has(user.role);
    const status = canDrafts ? input.status : 'published';
    if (!canDrafts && input.status === 'draft') return { items: [], total: 0 };
    const { rows, total } = await repo.list({
      kind: input.kind,
      status,
      categoryId: input.category,
      query: input.q?.trim() ? validateQuery(input.q) : undefined,
      limit: input.limit,
      offset: input.offset,
    });
    return { items: rows.map(toArticleDto), total };
  }

  async function get(user: AuthUser | null, id: number): Promise<ArticleDto> {
    const row = await repo.find(id);
    if (!row || (row.status !== 'published' && !(user && EDITORS.has(user.role)))) {
      throw new NotFoundError('文章不存在或未发布', 'article_not_found');
    }
    return toArticleDto(row);
  }

  async function create(user: AuthUser | null, input: Required<Pick<ArticleFields, 'kind' | 'title' | 'body'>> & ArticleFields): Promise<ArticleDto> {
    const id = await repo.insert(cleanFields(input), user?.id ?? null);
    return toArticleDto((await repo.find(id))!);
  }

  async function update(user: AuthUser, id: number, input: ArticleFields): Promise<ArticleDto> {
    if (!(await repo.update(id, cleanFields(input), user.id))) throw new NotFoundError('文章不存在', 'article_not_found');
    return toArticleDto((await repo.find(id))!);
  }

  async function remove(id: number): Promise<void> {
    if (!(await repo.remove(id))) throw new NotFoundError('文章不存在', 'article_not_found');
  }

  return { list, get, create, update, remove };
}

export type KnowledgeService = ReturnType<typeof createKnowledgeService>;
