import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES } from '../../contracts/manifest';
import { ADMIN_TOKEN, call, provided } from './edge-api-support';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function bytesOf(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

async function put(version: string, file: string, body: Uint8Array | string, headers = auth) {
  return call(`/admin/models/${version}/${file}`, { method: 'PUT', headers, body });
}

describe('PUT /admin/models/:version/:file never changes a stored version', () => {
  it('stores a new file, takes the same bytes again (201), and refuses other bytes (409 version_exists)', async () => {
    const catalogue = bytesOf(provided().bundles.v1['catalogue.json'] ?? '');
    expect((await put('admin-sec-1', 'catalogue.json', catalogue)).status).toBe(201);
    expect((await put('admin-sec-1', 'catalogue.json', catalogue)).status).toBe(201);

    const changed = catalogue.slice();
    changed[changed.length - 2] = (changed[changed.length - 2] ?? 0) ^ 1;
    for (const other of [changed, catalogue.slice(0, -1)]) {
      const response = await put('admin-sec-1', 'catalogue.json', other);
      expect(response.status).toBe(409);
      const body = (await response.json()) as {
        error: { code: string; details: Array<{ field: string; reason: string }> };
      };
      expect(body.error.code).toBe('version_exists');
      expect(body.error.details[0]).toMatchObject({
        field: 'file',
        reason: expect.stringContaining('catalogue.json'),
      });
    }
    // What is stored is still the first upload.
    const bucket = (env as unknown as { MODEL_STORE: R2Bucket }).MODEL_STORE;
    const stored = new Uint8Array(
      await ((await bucket.get('bundles/admin-sec-1/catalogue.json'))?.arrayBuffer() ?? new ArrayBuffer(0)),
    );
    expect(stored).toEqual(catalogue);
  });
});

describe('PUT /admin/models/:version/:file refuses a file over MAX_BUNDLE_BYTES', () => {
  // A body streamed without Content-Length (chunked): only the bytes read can tell it is too large.
  function chunkedBody(totalBytes: number): ReadableStream<Uint8Array> {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    return new ReadableStream({
      pull(controller) {
        if (sent >= totalBytes) return controller.close();
        const size = Math.min(chunk.byteLength, totalBytes - sent);
        controller.enqueue(chunk.subarray(0, size));
        sent += size;
      },
    });
  }

  it('411 length_required for a chunked body (never buffered), and nothing is stored', async () => {
    const response = await call('/admin/models/admin-sec-big/model.onnx', {
      method: 'PUT',
      headers: auth,
      body: chunkedBody(MAX_BUNDLE_BYTES + 1),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(411);
    const body = (await response.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(body.error.code).toBe('length_required');
    expect(body.error.details[0]?.field).toBe('content-length');
    const bucket = (env as unknown as { MODEL_STORE: R2Bucket }).MODEL_STORE;
    expect(await bucket.head('bundles/admin-sec-big/model.onnx')).toBeNull();
  });

  it('413 at once when Content-Length declares too much; 400 naming the body when it is empty', async () => {
    const declared = await call('/admin/models/admin-sec-big/model.onnx', {
      method: 'PUT',
      headers: { ...auth, 'content-length': String(MAX_BUNDLE_BYTES + 1) },
      body: 'x',
    });
    expect(declared.status).toBe(413);
    const empty = await put('admin-sec-big', 'model.onnx', new Uint8Array(0));
    expect(empty.status).toBe(400);
    const details = ((await empty.json()) as { error: { details: Array<{ field: string }> } }).error.details;
    expect(details[0]?.field).toBe('body');
  });
});

describe('POST /admin/models/:version/activate refuses a bundle too large for an isolate', () => {
  it('413 bundle_too_large naming manifest.models.bytes, before loading it; nothing is published', async () => {
    const files = provided().bundles.v1;
    const manifest = JSON.parse(new TextDecoder().decode(bytesOf(files['manifest.json'] ?? ''))) as {
      version: string;
      models: Array<{ bytes: number }>;
    };
    manifest.version = 'admin-sec-big';
    for (const model of manifest.models) model.bytes = 12 * 1024 * 1024; // 36 MB in all
    // The manifest first: uploaded after the files, its sizes (not theirs) would be refused at its PUT.
    const manifestFirst = Object.entries(files).sort(
      ([a], [b]) => Number(b === 'manifest.json') - Number(a === 'manifest.json'),
    );
    for (const [file, base64] of manifestFirst) {
      const body = file === 'manifest.json' ? JSON.stringify(manifest) : bytesOf(base64);
      expect((await put('admin-sec-big', file, body)).status).toBe(201);
    }
    const response = await call('/admin/models/admin-sec-big/activate', { method: 'POST', headers: auth });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(body.error.code).toBe('bundle_too_large');
    expect(body.error.details[0]?.field).toBe('manifest.models.bytes');
    const state = (await (await call('/admin/models', { headers: auth })).json()) as {
      published: { version: string } | null;
    };
    expect(state.published?.version).not.toBe('admin-sec-big');
  });
});
