// Turns Docker's per-layer pull events into one line a creator can read.
export interface PullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
}

export class PullProgress {
  private readonly layers = new Map<string, { current: number; total: number }>();

  update(event: PullEvent): void {
    if (!event.id) return;
    const detail = event.progressDetail;
    if (event.status === "Downloading" && detail?.total) {
      this.layers.set(event.id, { current: detail.current ?? 0, total: detail.total });
    } else if (event.status === "Download complete" || event.status === "Pull complete" || event.status === "Already exists") {
      const layer = this.layers.get(event.id);
      if (layer) layer.current = layer.total;
    }
  }

  describe(image: string): string {
    let current = 0;
    let total = 0;
    for (const layer of this.layers.values()) {
      current += layer.current;
      total += layer.total;
    }
    if (total === 0) return `pulling ${image}`;
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    return `pulling ${image}: ${Math.floor((100 * current) / total)}% (${mb(current)} of ${mb(total)} MiB)`;
  }
}
