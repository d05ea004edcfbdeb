/**
 * What `/healthz` (a public page) and the log say of the consumer's failures
 * (worker/src/consumer/failure-detail.ts). The paths that produce them run against the stand-in in
 * events-consumer.test.ts and events-tls.test.ts; a server message quoting a document's values cannot
 * be provoked there, so that part is checked on the texts MongoDB writes.
 */
import { describe, expect, it } from 'vitest';
import { CONNECT_HINT, explainConnectFailure, retryDetail } from '../../worker/src/consumer/failure-detail';
import { publicDetail } from '../../worker/src/health';

describe('consumer failure details', () => {
  it('leads a "could not connect" the driver gives no reason for with the causes to check', () => {
    const error = new Error('proxy request failed, cannot connect to the specified address');
    error.name = 'MongoServerSelectionError';
    const explained = explainConnectFailure(error) as Error;
    expect(explained.name).toBe('MongoServerSelectionError');
    expect(explained.message).toBe(
      `${CONNECT_HINT}: proxy request failed, cannot connect to the specified address`,
    );
    const specific = new Error('Authentication failed.');
    expect(explainConnectFailure(specific)).toBe(specific);
  });

  it('names the first reason of a retried batch, without the values a server message quotes', () => {
    expect(retryDetail(30, 'MongoBulkWriteError: Network connection lost.')).toBe(
      '30 event(s) will be retried: MongoBulkWriteError: Network connection lost.',
    );
    expect(retryDetail(2, 'MongoServerSelectionError: Server selection timed out after 5000 ms')).toBe(
      `2 event(s) will be retried: ${CONNECT_HINT}: MongoServerSelectionError: Server selection timed out after 5000 ms`,
    );
    const quoting =
      'MongoDB error 11000: E11000 duplicate key error collection: rx.events index: email_1 dup key: { email: "ann@example.com", extra: { id: 7 } }';
    const shown = retryDetail(1, quoting);
    expect(shown).toBe(
      '1 event(s) will be retried: MongoDB error 11000: E11000 duplicate key error collection: rx.events index: email_1 dup key: (…)',
    );
    expect(shown).not.toContain('ann@example.com');
    // Cut before its closing brace (reasons are cut at 500 characters), or a brace inside a value.
    const cut = `MongoDB error 50: dup key: { email: "ann@example.com", note: "${'x'.repeat(40)}`;
    expect(retryDetail(1, cut)).toBe('1 event(s) will be retried: MongoDB error 50: dup key: (…)');
    expect(retryDetail(1, 'MongoDB error 50: bad { email: "ann}smith@example.com" }')).toBe(
      '1 event(s) will be retried: MongoDB error 50: bad (…)',
    );
  });

  it("shows no server address on /healthz: a MongoDB open to Workers' addresses is a target", () => {
    expect(
      publicDetail('MongoNetworkError: connection 3 to cluster0-shard-00-01.abcde.mongodb.net:27017 closed'),
    ).toBe('MongoNetworkError: connection 3 to <host> closed');
    expect(
      publicDetail('connect ECONNREFUSED 10.0.4.17:27017; then [2001:db8::5]:27017, localhost:27018'),
    ).toBe('connect ECONNREFUSED <host>; then <host>, <host>');
    expect(publicDetail('getaddrinfo ENOTFOUND cluster0.abcde.mongodb.net')).toBe(
      'getaddrinfo ENOTFOUND <host>',
    );
    // What is not an address stays: times, versions, counts.
    const kept = 'serving 2026-04-28.1 (store) since 10:12; 2 late answer(s) in a row; degraded at 3';
    expect(publicDetail(kept)).toBe(kept);
  });
});
