/**
 * Bench worker for `npm run bench -- inference`. `POST /load` (body: ONNX bytes) creates the session the
 * way the API worker does and reports how long it took; `POST /run?n=N&history=H` runs N top-k calls,
 * each with a different random history of H items, and reports every call's duration.
 *
 * Clocks: deployed Workers advance `performance.now()` only across I/O (a Spectre mitigation); local
 * workerd advances it normally, which the bench checks (`clockAdvances`) before trusting per-call times.
 */
import type { ModelEntry } from '../../contracts/manifest';
import { loadRecommender, type Recommender } from '../../worker/src/models/recommender';

let model: Recommender | undefined;
let items = 0;

const entry: ModelEntry = {
  name: 'bench',
  role: 'personal',
  file: 'bench.onnx',
  sha256: '0'.repeat(64),
  bytes: 1,
  k: 10,
  inputs: [],
  outputs: [],
  params: {},
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/ping') return new Response('ok');
    if (url.pathname === '/clock') {
      const start = performance.now();
      let x = 0;
      for (let i = 0; i < 5e7; i++) x = (x + i) % 7919;
      return Response.json({
        clockAdvances: performance.now() - start > 0,
        elapsedMs: performance.now() - start,
        x,
      });
    }
    if (url.pathname === '/load' && request.method === 'POST') {
      items = Number(url.searchParams.get('items'));
      const bytes = new Uint8Array(await request.arrayBuffer());
      const cold = model === undefined;
      const start = performance.now();
      model = await loadRecommender(entry, bytes, items);
      return Response.json({ sessionMs: performance.now() - start, cold });
    }
    if (url.pathname === '/run' && request.method === 'POST') {
      if (!model) return new Response('load first', { status: 409 });
      const n = Number(url.searchParams.get('n') ?? 100);
      const historySize = Number(url.searchParams.get('history') ?? 10);
      const mask = new Float32Array(items).fill(1);
      const durations: number[] = [];
      // The local clock has 1 ms resolution: batches of `batch` calls give a per-call mean to ~0.05 ms.
      const batch = Number(url.searchParams.get('batch') ?? 20);
      const batchMeans: number[] = [];
      let batchStart = performance.now();
      let seed = 12345;
      const random = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      let checksum = 0;
      for (let call = 0; call < n; call++) {
        const history = new Float32Array(items);
        for (let h = 0; h < historySize; h++) history[Math.floor(random() * items)] = 1;
        const start = performance.now();
        const top = await model.run(history, mask);
        const end = performance.now();
        durations.push(end - start);
        checksum += top.indices[0] ?? 0;
        if ((call + 1) % batch === 0) {
          batchMeans.push((end - batchStart) / batch);
          batchStart = performance.now();
        }
      }
      return Response.json({ durations, batchMeans, checksum, k: 10 });
    }
    return new Response('not found', { status: 404 });
  },
};
