import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/src/app';

describe('the app router', () => {
  it("runs on Hono's RegExpRouter, not the TrieRouter fallback", async () => {
    // One route pattern RegExpRouter cannot take (a regex with a group, say) silently moves every
    // request, proxied pages included, to the TrieRouter: several times the routing CPU per request.
    const app = createApp();
    await app.request('/healthz', {}, env);
    expect((app.router as { name: string }).name).toBe('SmartRouter + RegExpRouter');
  });
});
