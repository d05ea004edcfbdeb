/**
 * The admin model routes when the model store (the MODEL_STORE R2 bucket) fails, rather than a bundle
 * being at fault: a transient R2 error, a call that hangs, a current.json that is no pointer. Each is
 * `503 model_store_unavailable` naming the cause, never `422 bundle_refused` (which tells the operator
 * and `models:publish` that the bundle is bad) nor a bare `500 internal_error`.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { POINTER_READ_BUDGET_MS } from '../../worker/src/models/model-store';
import { ADMIN_TOKEN, call, provided, warmIsolate } from './edge-api-support';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const store = () => (env as unknown as { MODEL_STORE: R2Bucket }).MODEL_STORE;
const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));

type Overrides = Partial<Record<'get' | 'head' | 'put', (...args: never[]) => unknown>>;

/** The real bucket with some of its methods replaced: what a failing R2 looks like to the worker. */
function failing(overrides: Overrides): R2Bucket {
  const real = store();
  return new Proxy(real, {
    get(target, prop) {
      const override = overrides[prop as keyof Overrides];
      if (override) return override;
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface ErrorBody {
  error: { code: string; message: string; details: Array<{ field?: string; reason: string }> };
}

async function errorOf(response: Response): Promise<ErrorBody['error']> {
  return ((await response.json()) as ErrorBody).error;
}

/** Uploads fixture v1's files as `version` through the real store (nothing activated). */
async function upload(version: string): Promise<void> {
  for (const [file, base64] of Object.entries(provided().bundles.v1)) {
    let body: Uint8Array | string = bytesOf(base64);
    if (file === 'manifest.json') {
      const manifest = JSON.parse(new TextDecoder().decode(body)) as { version: string };
      body = JSON.stringify({ ...manifest, version });
    }
    const response = await call(`/admin/models/${version}/${file}`, { method: 'PUT', headers: auth, body });
    expect(response.status, file).toBe(201);
  }
}

const activate = (version: string, bucket?: R2Bucket) =>
  call(
    `/admin/models/${version}/activate`,
    { method: 'POST', headers: auth },
    bucket ? { MODEL_STORE: bucket } : {},
  );

async function state(): Promise<{
  published: { version: string } | null;
  serving: { version: string } | null;
}> {
  const response = await call('/admin/models', { headers: auth });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    published: { version: string } | null;
    serving: { version: string } | null;
  };
}

beforeAll(async () => {
  await warmIsolate();
  await upload('faults-base');
  expect((await activate('faults-base')).status).toBe(200);
}, 120_000);

describe('POST /admin/models/:version/activate while the store fails', () => {
  it('an R2 error reading a model file is 503 model_store_unavailable, not a refusal; it activates once R2 answers', async () => {
    await upload('faults-read');
    const bucket = failing({
      get: async (key: string) => {
        if (key.endsWith('.onnx')) throw new Error('R2 internal error (10001)');
        return store().get(key);
      },
    });
    const response = await activate('faults-read', bucket);
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('model_store_unavailable');
    expect(error.message).toMatch(/faults-read.*not refused.*previous one is still served/);
    expect(error.details[0]).toMatchObject({
      field: 'MODEL_STORE',
      reason: expect.stringMatching(
        /R2 internal error \(10001\) \(reading \w+\.onnx of bundle faults-read\)/,
      ),
    });
    expect(await state()).toMatchObject({
      published: { version: 'faults-base' },
      serving: { version: 'faults-base' },
    });
    // Not refused for good: the same version activates once the store answers.
    expect((await activate('faults-read')).status).toBe(200);
    expect((await state()).serving?.version).toBe('faults-read');
  });

  it('a failure to move current.json after the bundle loaded is 503 too; the pointer and the served bundle stay', async () => {
    await upload('faults-move');
    const before = await state();
    const bucket = failing({
      put: async (key: string, ...rest: unknown[]) => {
        if (key === 'current.json') throw new Error('R2 put failed (10001)');
        const real = store();
        return Reflect.apply(real.put, real, [key, ...rest]);
      },
    });
    const response = await activate('faults-move', bucket);
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('model_store_unavailable');
    expect(error.details[0]?.reason).toMatch(
      /faults-move loaded, but the pointer could not be moved to it: R2 put failed \(10001\) \(writing current\.json\)/,
    );
    expect(await state()).toMatchObject({
      published: { version: before.published?.version },
      serving: { version: before.serving?.version },
    });
  });

  it('a current.json that does not answer in time is 503 naming the budget, before anything is loaded', async () => {
    // The head never answers: that a response comes at all, naming the budget, is the budget at work
    // (no wall-clock check; the test's timeout catches a hang).
    const bucket = failing({ head: () => new Promise<never>(() => {}) });
    const response = await activate('faults-base', bucket);
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('model_store_unavailable');
    expect(error.details[0]?.reason).toBe(
      `Reading current.json took longer than ${POINTER_READ_BUDGET_MS} ms`,
    );
  }, 30_000);

  it('a bundle refused for its content is still 422 bundle_refused', async () => {
    const response = await activate('faults-nothing-stored');
    expect(response.status).toBe(422);
    expect((await errorOf(response)).code).toBe('bundle_refused');
  });
});

describe('GET /admin/models and PUT while the store fails', () => {
  it('a current.json that is no pointer is 503 model_store_unavailable saying so, without quoting it', async () => {
    const original = await (await store().get('current.json'))?.text();
    try {
      for (const [content, reason] of [
        ['{"nope":1,"token":"s3cr3t"}', /^current\.json is not a valid pointer: version: /],
        ['token=s3cr3t', /^current\.json is not a valid pointer: not JSON$/],
      ] as const) {
        await store().put('current.json', content);
        const response = await call('/admin/models', { headers: auth });
        expect(response.status, content).toBe(503);
        const text = await response.text();
        expect(text).not.toContain('s3cr3t');
        const error = (JSON.parse(text) as ErrorBody).error;
        expect(error.code).toBe('model_store_unavailable');
        expect(error.details[0]?.reason).toMatch(reason);
      }
    } finally {
      if (original !== undefined) await store().put('current.json', original);
    }
    expect((await call('/admin/models', { headers: auth })).status).toBe(200);
  });

  it('an R2 error or a read past its budget on GET /admin/models is 503 naming the cause', async () => {
    const erring = failing({
      get: async () => {
        throw new Error('R2 answered 503');
      },
    });
    const response = await call('/admin/models', { headers: auth }, { MODEL_STORE: erring });
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('model_store_unavailable');
    expect(error.details[0]?.reason).toBe('R2 answered 503 (reading current.json)');

    const hanging = failing({ get: () => new Promise<never>(() => {}) });
    const late = await call('/admin/models', { headers: auth }, { MODEL_STORE: hanging });
    expect(late.status).toBe(503);
    expect((await errorOf(late)).details[0]?.reason).toMatch(/took longer than 5000 ms/);
  }, 30_000);

  it('a PUT whose store write fails is 503 model_store_unavailable, and the same upload is a 201 afterwards', async () => {
    const catalogue = bytesOf(provided().bundles.v1['catalogue.json'] ?? '');
    const bucket = failing({
      put: async () => {
        throw new Error('R2 internal error (10001)');
      },
    });
    const response = await call(
      '/admin/models/faults-put/catalogue.json',
      { method: 'PUT', headers: auth, body: catalogue },
      { MODEL_STORE: bucket },
    );
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('model_store_unavailable');
    expect(error.message).toMatch(/storing catalogue\.json of bundle faults-put.*not refused/);
    expect(error.details[0]?.reason).toMatch(/R2 internal error \(10001\)/);
    const again = await call('/admin/models/faults-put/catalogue.json', {
      method: 'PUT',
      headers: auth,
      body: catalogue,
    });
    expect(again.status).toBe(201);
  });
});
