/**
 * MongoDB over TLS from workerd, as the worker reaches Atlas: the project's MongoDB stand-in speaks TLS
 * only, with a certificate of the test CA (test/support/local-mongo.global-setup.ts), so every events
 * test already goes through the driver's TLS. This file pins down what is specific to it: the
 * certificate is verified (a server nobody vouches for is refused, nothing is acked), and connection
 * strings that cannot work from a Worker are named in `/healthz` and the log before anything is tried.
 */
import { createExecutionContext, getQueueResult } from 'cloudflare:test';
import { describe, expect, inject, it, vi } from 'vitest';
import { mongoUriProblem } from '../../worker/src/consumer/mongo-uri';
import type { Env } from '../../worker/src/env';
import worker from '../../worker/src/index';
import { batchOf, countRun, mongodbHealth, runId, storedEvents, workerEnv } from './events-support';

const localServer = inject('mongoUntrustedTlsUri') !== '';

/** Runs one batch through the queue handler with `overrides`; the queue's verdict and the error log. */
async function consume(overrides: Partial<Env>, run: string, count: number) {
  const batch = batchOf(storedEvents(run, count), `tls-${run}`);
  const ctx = createExecutionContext();
  const logged = vi.spyOn(console, 'error');
  let log: string;
  try {
    await worker.queue(batch, workerEnv(overrides));
  } finally {
    // Read before mockRestore, which forgets the calls.
    log = logged.mock.calls.map((call) => call.join(' ')).join('\n');
    logged.mockRestore();
  }
  return { result: await getQueueResult(batch, ctx), log };
}

describe('MongoDB over TLS (driver in workerd)', () => {
  it.runIf(localServer)(
    'the project MongoDB is reached over TLS, its certificate checked against the trusted CAs',
    async () => {
      expect(new URL(inject('mongoUri')).searchParams.get('tls')).toBe('true');
      const run = runId();
      // Without the writer object the batch's own client connects, in this test's invocation.
      const { result } = await consume({ EVENT_WRITER: undefined }, run, 5);
      expect(result.explicitAcks).toHaveLength(5);
      expect(await countRun(run)).toBe(5);
    },
  );

  it.runIf(localServer)(
    'a server whose certificate no trusted CA issued is refused: nothing acked, every message retried, /healthz says so',
    async () => {
      const untrusted = inject('mongoUntrustedTlsUri');
      const password = decodeURIComponent(new URL(untrusted).password);
      const run = runId();
      const { result, log } = await consume({ MONGODB_URI: untrusted, EVENT_WRITER: undefined }, run, 4);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(4);
      expect(log).toContain('events_batch_failed');
      expect(log).not.toContain(password);
      const { text, mongodb } = await mongodbHealth({ MONGODB_URI: untrusted });
      expect(mongodb?.status).toBe('degraded');
      // The driver says only that it could not connect; /healthz adds what to check.
      expect(mongodb?.detail).toContain('or a certificate not from a public CA');
      expect(text).not.toContain(password);
      expect(await countRun(run)).toBe(0);
    },
  );
});

describe('MONGODB_URI that cannot work from a Worker', () => {
  const base = 'mongodb+srv://rx:s3cret-pw@cluster0.example.mongodb.net/?retryWrites=true&w=majority';
  const cases: Array<[string, string, RegExp]> = [
    ['a private CA file', `${base}&tlsCAFile=/etc/ssl/ca.pem`, /tlsCAFile.*public CA/],
    [
      'a client certificate',
      `${base}&tlsCertificateKeyFile=/etc/ssl/me.pem&authMechanism=MONGODB-X509`,
      /tlsCertificateKeyFile.*user and password/,
    ],
    ['a revocation list', `${base}&tlsCRLFile=/etc/ssl/crl.pem`, /tlsCRLFile/],
    ['certificate checks off', `${base}&tlsInsecure=true`, /tlsInsecure=true.*always verify/],
    [
      'invalid certificates allowed, option name in another case',
      `${base}&TLSALLOWINVALIDCERTIFICATES=TRUE`,
      /tlsAllowInvalidCertificates=true/,
    ],
    [
      'another scheme',
      'https://cluster0.example.mongodb.net',
      /must start with mongodb:\/\/ or mongodb\+srv:\/\//,
    ],
    // The driver's own rule: lower case, nothing before it (a space pasted with the secret).
    ['the scheme in capitals', 'MONGODB://rx:s3cret-pw@127.0.0.1:27017', /must start with mongodb:\/\//],
    ['a space before it', ' mongodb://rx:s3cret-pw@127.0.0.1:27017', /must start with mongodb:\/\//],
    // The database in the path is where events go: one MongoDB refuses failed every batch.
    [
      'a database MongoDB refuses in the path',
      'mongodb+srv://rx:s3cret-pw@cluster0.example.mongodb.net/shop.events?retryWrites=true',
      /names a database in its path .* MongoDB refuses \\?"\.\\?" in a database name/,
    ],
  ];

  it.each(cases)(
    '%s: /healthz mongodb is down naming the option, the batch is retried with the same words, the password is nowhere',
    async (_, uri, named) => {
      const { text, mongodb } = await mongodbHealth({ MONGODB_URI: uri });
      expect(mongodb?.status).toBe('down');
      expect(mongodb?.detail).toMatch(named);
      expect(text).not.toContain('s3cret-pw');
      const run = runId();
      const { result, log } = await consume({ MONGODB_URI: uri }, run, 2);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(2);
      expect(log).toMatch(named);
      expect(log).not.toContain('s3cret-pw');
    },
  );

  it('leaves usable strings alone, whatever their TLS options say', () => {
    for (const uri of [
      inject('mongoUri'),
      'mongodb://rx:pw@127.0.0.1:27017,127.0.0.2:27017/?replicaSet=rs0&tls=true',
      'mongodb+srv://rx:pw@cluster0.example.mongodb.net/rx?tlsAllowInvalidCertificates=false&tlsInsecure=false',
    ])
      expect(mongoUriProblem(uri)).toBeUndefined();
  });
});
