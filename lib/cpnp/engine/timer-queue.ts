/**
 * The due times of many orders in a binary min-heap, so that an engine with tens of thousands
 * of orders finds what is due in O(log n) instead of scanning every order per input (issue 7,
 * docs/benchmarks.md). Each key has at most one live due time; `set` replaces it lazily: the old
 * heap entry stays and is skipped when it surfaces (its time no longer matches the key's).
 */
export class TimerQueue {
  private readonly heap: { at: number; key: string }[] = [];
  private readonly due = new Map<string, number>();

  /** Sets (undefined: clears) the due time of `key`. */
  set(key: string, at: number | undefined): void {
    const current = this.due.get(key);
    if (current === at) return;
    if (at === undefined) {
      this.due.delete(key);
      return;
    }
    this.due.set(key, at);
    this.push({ at, key });
    // Stale entries are dropped as they surface; rebuild when they dominate the heap.
    if (this.heap.length > 64 && this.heap.length > 4 * this.due.size) this.rebuild();
  }

  /** The earliest live due time, or undefined. */
  peek(): number | undefined {
    this.discardStale();
    return this.heap[0]?.at;
  }

  /** Removes and returns the keys due at or before `now`, earliest first (each key once). */
  popDue(now: number): string[] {
    const keys: string[] = [];
    for (;;) {
      this.discardStale();
      const top = this.heap[0];
      if (top === undefined || top.at > now) return keys;
      this.pop();
      this.due.delete(top.key);
      keys.push(top.key);
    }
  }

  get size(): number {
    return this.due.size;
  }

  private discardStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || this.due.get(top.key) === top.at) return;
      this.pop();
    }
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const [key, at] of this.due) this.push({ at, key });
  }

  private push(entry: { at: number; key: string }): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as { at: number; key: string };
      if (p.at <= entry.at) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const l = heap[left] as { at: number; key: string };
      const r = heap[right];
      const child = r !== undefined && r.at < l.at ? right : left;
      const c = heap[child] as { at: number; key: string };
      if (c.at >= last.at) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
