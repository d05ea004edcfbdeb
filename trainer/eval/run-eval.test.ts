import { describe, expect, it } from 'vitest';
import { candidateDepth } from './run-eval';

describe('eval lists', () => {
  it("are built from the bundle's graph depth of candidates (50), or k when k is deeper", () => {
    // The worker serves from the top-50 (MODEL_TOP_K): capping a family and skipping masked items
    // reach past k, so a top-10 graph would score lists the worker never shows.
    expect(candidateDepth(10)).toBe(50);
    expect(candidateDepth(80)).toBe(80);
  });
});
