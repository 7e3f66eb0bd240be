// Marker pagination as oslo.db's paginate_query does it: order by the sort
// key then id, and continue strictly after the marker row.

import { sql, type SelectQueryBuilder } from 'kysely';

export interface Page {
  limit: number;
  sortKey: string;
  sortDir: 'asc' | 'desc';
  /** the marker row (already resolved), if any */
  marker?: Record<string, unknown> & { id: number };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function paginate<Q extends SelectQueryBuilder<any, any, any>>(q: Q, page: Page, table: string): Q {
  const key = sql.ref(`${table}.${page.sortKey}`);
  const id = sql.ref(`${table}.id`);
  const dir = page.sortDir === 'desc' ? sql`desc` : sql`asc`;
  const cmp = page.sortDir === 'desc' ? sql`<` : sql`>`;
  let out = q;
  if (page.marker) {
    const mk = page.marker[page.sortKey];
    if (page.sortKey === 'id') {
      out = out.where(sql<boolean>`${id} ${cmp} ${page.marker.id}`) as Q;
    } else if (mk === null || mk === undefined) {
      // nulls sort first ascending (SQLite) -- continue among nulls by id, then the rest
      out = out.where(
        page.sortDir === 'asc'
          ? sql<boolean>`(${key} is null and ${id} > ${page.marker.id}) or ${key} is not null`
          : sql<boolean>`${key} is null and ${id} < ${page.marker.id}`,
      ) as Q;
    } else {
      out = out.where(
        sql<boolean>`(${key} ${cmp} ${mk} or (${key} = ${mk} and ${id} ${cmp} ${page.marker.id}))`,
      ) as Q;
    }
  }
  if (page.sortKey !== 'id') out = out.orderBy(sql`${key} ${dir}`) as Q;
  return out.orderBy(sql`${id} ${dir}`).limit(page.limit) as Q;
}
