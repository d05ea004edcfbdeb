import { GRAPH_IO, type ModelEntry } from '../../../contracts/manifest';
import { createSession, ort } from './ort-runtime';

/** Top-k of one shopper, best first: catalogue indices and their scores. */
export interface TopK {
  indices: Int32Array;
  scores: Float32Array;
}

/** One loaded recommender graph: an ORT session created once and reused by every request. */
export interface Recommender {
  readonly entry: ModelEntry;
  /** `history` and `mask` are [items] vectors (one shopper); returns the graph's top-k. */
  run(history: Float32Array, mask: Float32Array): Promise<TopK>;
  release(): Promise<void>;
}

/**
 * Creates the session and checks it speaks the bundle interface (GRAPH_IO) over `items` items,
 * so a mismatched graph is refused at load time instead of failing shoppers' requests.
 */
export async function loadRecommender(
  entry: ModelEntry,
  bytes: Uint8Array,
  items: number,
): Promise<Recommender> {
  const session = await createSession(bytes);
  for (const name of [GRAPH_IO.history, GRAPH_IO.mask]) {
    if (!session.inputNames.includes(name)) {
      await session.release();
      throw new Error(
        `model ${entry.name}: graph has no input "${name}" (inputs: ${session.inputNames.join(', ')})`,
      );
    }
  }
  for (const name of [GRAPH_IO.scores, GRAPH_IO.indices]) {
    if (!session.outputNames.includes(name)) {
      await session.release();
      throw new Error(
        `model ${entry.name}: graph has no output "${name}" (outputs: ${session.outputNames.join(', ')})`,
      );
    }
  }
  // The graph's own item axis, not only the manifest's word for it: a graph exported for another
  // catalogue would otherwise load fine and then fail every request that runs it.
  for (const name of [GRAPH_IO.history, GRAPH_IO.mask]) {
    const width = itemAxis(session.inputMetadata, name);
    if (width !== undefined && width !== items) {
      await session.release();
      throw new Error(`model ${entry.name}: graph input ${name} has ${width} items, the catalogue ${items}`);
    }
  }
  const dims = [1, items];
  const recommender: Recommender = {
    entry,
    async run(history, mask) {
      if (history.length !== items || mask.length !== items) {
        throw new Error(`model ${entry.name}: history and mask need ${items} values`);
      }
      const out = await session.run({
        [GRAPH_IO.history]: new ort.Tensor('float32', history, dims),
        [GRAPH_IO.mask]: new ort.Tensor('float32', mask, dims),
      });
      const scores = out[GRAPH_IO.scores]?.data;
      const indices = out[GRAPH_IO.indices]?.data;
      if (!(scores instanceof Float32Array) || !(indices instanceof BigInt64Array)) {
        throw new Error(`model ${entry.name}: outputs are not float32 scores and int64 indices`);
      }
      return { scores, indices: Int32Array.from(indices, (value) => Number(value)) };
    },
    release: () => session.release(),
  };
  await trialRun(recommender, items);
  return recommender;
}

/**
 * Runs a new session once on an empty history, for two reasons. A session's first run is several
 * times slower than later ones (cold-start benchmark: ~+20 ms), and here it falls in the session phase,
 * between requests, instead of in the first shopper's. And a graph that cannot run at all (an operator
 * that fails on any input, outputs of the wrong type, NaN scores) is refused here, like a graph with the
 * wrong interface: the bundle before it keeps serving, where activating it would put every answer on
 * popularity. A graph that fails only for some histories is still caught per request (popularity
 * stands in; /healthz shows it).
 */
async function trialRun(recommender: Recommender, items: number): Promise<void> {
  let problem: string | undefined;
  try {
    const { scores } = await recommender.run(new Float32Array(items), new Float32Array(items).fill(1));
    if (scores.some(Number.isNaN)) problem = 'its scores are NaN';
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  if (problem === undefined) return;
  await recommender.release();
  throw new Error(`model ${recommender.entry.name}: trial run failed: ${problem}`);
}

type InputMetadata = Awaited<ReturnType<typeof createSession>>['inputMetadata'];

/** The fixed size of an input's last axis, or undefined when it is symbolic or not declared. */
function itemAxis(metadata: InputMetadata, name: string): number | undefined {
  const input = metadata.find((value) => value.name === name);
  if (!input?.isTensor) return undefined;
  const last = input.shape[input.shape.length - 1];
  return typeof last === 'number' && last > 0 ? last : undefined;
}
