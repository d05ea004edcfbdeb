/**
 * The personalization time budget: work that is not done by the deadline is dropped and the page
 * keeps its original content. The deadline is set when the origin's response arrives, so the
 * budget is time *beyond* the origin's own.
 */
export class Deadline {
  private expired: Promise<undefined>;
  private release: () => void = () => {};
  private timer: ReturnType<typeof setTimeout> | undefined;
  private over = false;

  constructor() {
    this.expired = new Promise<undefined>((resolve) => {
      this.release = () => {
        this.over = true;
        resolve(undefined);
      };
    });
  }

  /**
   * The budget is spent: a wait begun now ends at once, so a lookup begun now could only cost CPU (a
   * model inference, a cache read) for an answer nobody will use.
   */
  get passed(): boolean {
    return this.over;
  }

  /** Starts the clock: after `ms`, every pending `within` resolves to undefined. */
  start(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(this.release, ms);
  }

  /** Expires now (e.g. the response is done), so no handler waits longer. */
  expire(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.release();
  }

  /** `promise`'s value, or undefined when it rejects or the deadline passes first. */
  within<T>(promise: Promise<T>): Promise<T | undefined> {
    return Promise.race([promise.catch(() => undefined), this.expired]);
  }
}
