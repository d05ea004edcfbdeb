import { createHash } from 'node:crypto';
import type { CommandBackend, CommandOutcome, RedisCommand, RedisReply } from './backend.ts';

/**
 * Upstash's own script shebang flag. A script whose first line is `#!lua flags=allow-key-locking` (alone
 * or with Redis's flags, e.g. `no-writes`) locks only the keys it is given in KEYS on Upstash, instead of
 * the global lock that stops every other command while a script runs
 * (https://upstash.com/docs/redis/features/key-locking). redis-server does not know the flag and refuses
 * the script (`ERR Unexpected flag in script shebang: allow-key-locking`), so this server takes it out
 * before forwarding, where Upstash acts on it. Locking has nothing to show on one redis-server thread.
 */
const UPSTASH_ONLY_FLAGS = new Set(['allow-key-locking']);

/** Upstash computes a script's digest over the body it was sent; so does the client, for EVALSHA. */
function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** The body without Upstash-only shebang flags, or `undefined` when it has none to take out. */
export function withoutUpstashOnlyFlags(body: string): string | undefined {
  if (!body.startsWith('#!')) return undefined;
  const lineEnd = body.indexOf('\n');
  const shebang = lineEnd === -1 ? body : body.slice(0, lineEnd);
  let changed = false;
  // Redis splits the shebang line on spaces: the engine, then `name=value` options such as `flags=`.
  const parts = shebang.split(' ').map((part) => {
    if (!part.startsWith('flags=')) return part;
    const flags = part.slice('flags='.length).split(',');
    const kept = flags.filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag));
    if (kept.length === flags.length) return part;
    changed = true;
    return `flags=${kept.join(',')}`;
  });
  if (!changed) return undefined;
  return parts.join(' ') + (lineEnd === -1 ? '' : body.slice(lineEnd));
}

/** At most this many digests are remembered; the oldest is forgotten first (its EVALSHA then finds NOSCRIPT). */
const MAX_REMEMBERED_DIGESTS = 1_000;

/**
 * A backend that accepts Upstash-only script flags in front of one that does not (redis-server).
 *
 * - `EVAL`/`EVAL_RO` and `SCRIPT LOAD`: the flag is taken out of the body before it is forwarded, and the
 *   digest of the body as sent (what the client calls `EVALSHA` with) is remembered as standing for the
 *   digest of the body redis-server cached.
 * - `EVALSHA`/`EVALSHA_RO` and `SCRIPT EXISTS`: a remembered digest is translated; an unknown one is
 *   forwarded as is, so after a restart of this server (or of redis-server: `SCRIPT FLUSH`) the client
 *   gets `NOSCRIPT` and sends the body again, as it would to Upstash.
 * - `SCRIPT LOAD` answers the digest of the body as sent, as Upstash does.
 */
export function acceptingUpstashScriptFlags(backend: CommandBackend): CommandBackend {
  /** The digest of a body as the client sent it → the digest of the body redis-server was given. */
  const forwardedDigest = new Map<string, string>();

  const remember = (sent: string, forwarded: string) => {
    forwardedDigest.delete(sent);
    forwardedDigest.set(sent, forwarded);
    if (forwardedDigest.size > MAX_REMEMBERED_DIGESTS) {
      const oldest = forwardedDigest.keys().next().value;
      if (oldest !== undefined) forwardedDigest.delete(oldest);
    }
  };

  /** The command to forward, and the reply SCRIPT LOAD should give instead of the forwarded body's digest. */
  const translate = (command: RedisCommand): { forward: RedisCommand; loadReply?: string } => {
    const [name, ...args] = command;
    const upper = name.toUpperCase();
    if ((upper === 'EVAL' || upper === 'EVAL_RO') && args[0] !== undefined) {
      const body = withoutUpstashOnlyFlags(args[0]);
      if (body === undefined) return { forward: command };
      remember(sha1Hex(args[0]), sha1Hex(body));
      return { forward: [name, body, ...args.slice(1)] };
    }
    if ((upper === 'EVALSHA' || upper === 'EVALSHA_RO') && args[0] !== undefined) {
      const digest = forwardedDigest.get(args[0].toLowerCase());
      return { forward: digest === undefined ? command : [name, digest, ...args.slice(1)] };
    }
    if (upper === 'SCRIPT' && args[0] !== undefined) {
      const sub = args[0].toUpperCase();
      if (sub === 'LOAD' && args[1] !== undefined) {
        const body = withoutUpstashOnlyFlags(args[1]);
        if (body === undefined) return { forward: command };
        const sent = sha1Hex(args[1]);
        remember(sent, sha1Hex(body));
        return { forward: [name, args[0], body, ...args.slice(2)], loadReply: sent };
      }
      if (sub === 'EXISTS') {
        const digests = args.slice(1).map((digest) => forwardedDigest.get(digest.toLowerCase()) ?? digest);
        return { forward: [name, args[0], ...digests] };
      }
    }
    return { forward: command };
  };

  const reply = (answer: RedisReply, loadReply: string | undefined): RedisReply =>
    loadReply === undefined ? answer : Buffer.from(loadReply);
  const outcome = (result: CommandOutcome, loadReply: string | undefined): CommandOutcome =>
    result.ok ? { ok: true, reply: reply(result.reply, loadReply) } : result;

  return {
    async execute(command) {
      const { forward, loadReply } = translate(command);
      return reply(await backend.execute(forward), loadReply);
    },
    async pipeline(commands) {
      const translated = commands.map(translate);
      const results = await backend.pipeline(translated.map((entry) => entry.forward));
      return results.map((result, index) => outcome(result, translated[index]?.loadReply));
    },
    async transaction(commands) {
      const translated = commands.map(translate);
      const results = await backend.transaction(translated.map((entry) => entry.forward));
      return results.map((result, index) => outcome(result, translated[index]?.loadReply));
    },
    close: () => backend.close(),
  };
}
