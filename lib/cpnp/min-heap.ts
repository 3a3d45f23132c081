/**
 * A binary min-heap of (due, key) pairs: the earliest deadline in O(1), insertion and removal
 * in O(log n). Used as a deadline index (server engine timers, the decision engine's offer
 * holds) so that finding what is due does not scan every order. Entries are never updated in
 * place: callers push the new deadline and drop stale entries when they surface (lazy deletion).
 */
export interface HeapEntry {
  due: number;
  key: string;
}

export class MinHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(due: number, key: string): void {
    const items = this.items;
    items.push({ due, key });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as HeapEntry;
      const c = items[i] as HeapEntry;
      if (p.due <= c.due) break;
      items[parent] = c;
      items[i] = p;
      i = parent;
    }
  }

  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && (items[l] as HeapEntry).due < (items[m] as HeapEntry).due) m = l;
      if (r < items.length && (items[r] as HeapEntry).due < (items[m] as HeapEntry).due) m = r;
      if (m === i) break;
      const t = items[m] as HeapEntry;
      items[m] = items[i] as HeapEntry;
      items[i] = t;
      i = m;
    }
    return top;
  }

  /** Drops every entry (the index is rebuilt by pushing again). */
  clear(): void {
    this.items.length = 0;
  }
}
