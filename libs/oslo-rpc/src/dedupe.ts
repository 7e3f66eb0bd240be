// Duplicate suppression by `_unique_id`, like amqp.py _MsgIdCache: a small
// window (16) is enough because duplicates come from a publisher retrying
// right after a connection error, not from arbitrary replays.

export const DUP_MSG_CHECK_SIZE = 16;

export class MsgIdCache {
  private readonly ids: string[] = [];
  private readonly set = new Set<string>();

  constructor(private readonly size = DUP_MSG_CHECK_SIZE) {}

  has(id: string): boolean {
    return this.set.has(id);
  }

  /** Remember an id; the oldest falls out when the window is full (deque maxlen). */
  add(id: string): void {
    if (this.set.has(id)) return;
    this.ids.push(id);
    this.set.add(id);
    if (this.ids.length > this.size) this.set.delete(this.ids.shift() as string);
  }
}
