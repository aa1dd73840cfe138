// SQL for knowledge articles (办事指南 guide / 政务公开 public_info). search_docs follows by trigger.
import type { Db } from '../infra/db';
import { lex, tsAnd, type ParsedQuery } from '../search/query';

export interface ArticleRow {
  id: number;
  kind: 'guide' | 'public_info';
  title: string;
  body: string;
  category_id: number | null;
  category_name: string | null;
  department_id: number | null;
  department_name: string | null;
  tags: string[];
  status: 'draft' | 'published';
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
}

export interface ArticleFields {
  kind?: 'guide' | 'public_info';
  title?: string;
  body?: string;
  categoryId?: number | null;
  departmentId?: number | null;
  tags?: string[];
  status?: 'draft' | 'published';
}

export interface ArticleListFilter {
  kind?: string;
  status?: string;
  categoryId?: number;
  query?: ParsedQuery;
  limit: number;
  offset: number;
}

const SELECT = `
  select a.id, a.kind, a.title, a.body, a.category_id, c.name as category_name, a.department_id, d.name as department_name,
         a.tags, a.status, a.created_at, a.updated_at, a.published_at
    from knowledge_articles a
    left join categories c on c.id = a.category_id
    left join departments d on d.id = a.department_id`;

const COLS: Record<keyof ArticleFields, string> = {
  kind: 'kind',
  title: 'title',
  body: 'body',
  categoryId: 'category_id',
  departmentId: 'department_id',
  tags: 'tags',
  status: 'status',
};

export function createKnowledgeRepo(db: Db) {
  return {
    async find(id: number): Promise<ArticleRow | null> {
      const { rows } = await db.query<ArticleRow>(`${SELECT} where a.id = $1`, [id]);
      return rows[0] ?? null;
    },

    async list(f: ArticleListFilter): Promise<{ rows: ArticleRow[]; total: number }> {
      const where: string[] = [];
      const params: unknown[] = [];
      const p = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      if (f.kind) where.push(`a.kind = ${p(f.kind)}`);
      if (f.status) where.push(`a.status = ${p(f.status)}`);
      if (f.categoryId !== undefined) where.push(`a.category_id = ${p(f.categoryId)}`);
      if (f.query) {
        const q = f.query;
        const text = `(a.title || E'\\n' || array_to_string(a.tags, ' ') || E'\\n' || a.body)`;
        const tsq = tsAnd(q.tsq, lex('t:knowledge'));
        if (q.tsq && tsq) where.push(`a.id in (select src_id from search_docs where src = 'knowledge' and tsv @@ ${p(tsq)}::tsquery)`);
        for (const part of q.parts) {
          const c = part.confirm;
          if (c?.kind === 'ilike') where.push(`${text} ilike ${p(c.pattern)}`);
          else if (c) where.push(`${text} like ${p(c.pattern)}`);
        }
      }
      const w = where.length ? `where ${where.join(' and ')}` : '';
      const [page, count] = await Promise.all([
        db.query<ArticleRow>(`${SELECT} ${w} order by coalesce(a.published_at, a.updated_at) desc, a.id desc limit ${p(f.limit)} offset ${p(f.offset)}`, params),
        db.query<{ n: number }>(`select count(*)::int as n from knowledge_articles a ${w}`, params.slice(0, params.length - 2)),
      ]);
      return { rows: page.rows, total: count.rows[0]!.n };
    },

    async insert(f: Required<Pick<ArticleFields, 'kind' | 'title' | 'body'>> & ArticleFields, userId: number | null): Promise<number> {
      const { rows } = await db.query<{ id: number }>(
        `insert into knowledge_articles (kind, title, body, category_id, department_id, tags, status, created_by, updated_by, published_at)
         values ($1, $2, $3, $4, $5, coalesce($6::text[], '{}'), coalesce($7, 'draft'), $8, $8,
                 case when coalesce($7, 'draft') = 'published' then now() end)
         returning id`,
        [f.kind, f.title, f.body, f.categoryId ?? null, f.departmentId ?? null, f.tags ?? null, f.status ?? null, userId],
      );
      return rows[0]!.id;
    },

    async update(id: number, f: ArticleFields, userId: number | null): Promise<boolean> {
      const sets: string[] = [];
      const params: unknown[] = [id, userId];
      for (const [k, col] of Object.entries(COLS) as [keyof ArticleFields, string][]) {
        if (f[k] === undefined) continue;
        params.push(f[k]);
        sets.push(`${col} = $${params.length}`);
      }
      if (f.status === 'published') sets.push(`published_at = coalesce(published_at, now())`);
      if (f.status === 'draft') sets.push(`published_at = null`);
      const { rowCount } = await db.query(
        `update knowledge_articles set ${[...sets, 'updated_by = $2', 'updated_at = now()'].join(', ')} where id = $1`,
        params,
      );
      return (rowCount ?? 0) > 0;
    },

    async remove(id: number): Promise<boolean> {
      const { rowCount } = await db.query(`delete from knowledge_articles where id = $1`, [id]);
      return (rowCount ?? 0) > 0;
    },
  };
}

export type KnowledgeRepo = ReturnType<typeof createKnowledgeRepo>;
