/**
 * The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB speaks it: `saslStart` carries
 * the client-first message, the reply the server-first message (nonce, salt, iteration count),
 * `saslContinue` the client's proof, and the reply the server's signature.
 *
 * Only what a password check needs is kept per user (the stored key and the server key, RFC 5802
 * section 3), derived once when the server starts; the password itself is not kept.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** MongoDB's default iteration count for SCRAM-SHA-256 (`scramSHA256IterationCount`). */
export const SCRAM_ITERATIONS = 15_000;

/** A user as given to the server: a name and a password of printable ASCII. */
export interface UserCredentials {
  username: string;
  password: string;
}

/** What the server keeps of a user (RFC 5802 section 3): enough to check a proof, not the password. */
export interface ScramUser {
  username: string;
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** A conversation between `saslStart` and `saslContinue`. */
export interface ScramConversation {
  user: ScramUser;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/**
 * Derives a user's keys. Passwords must be printable ASCII, for which SASLprep (which the driver
 * applies to SCRAM-SHA-256 passwords) changes nothing; anything else is refused here rather than
 * failing every login later.
 */
export function scramUser({ username, password }: UserCredentials): ScramUser {
  if (username === '' || /[^\x21-\x7e]/.test(username)) {
    throw new Error('local-mongo: user names must be printable ASCII without spaces');
  }
  if (password === '' || /[^\x20-\x7e]/.test(password)) {
    throw new Error(`local-mongo: the password of user "${username}" must be printable ASCII`);
  }
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  return {
    username,
    salt,
    iterations: SCRAM_ITERATIONS,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** `a=1,b=2` → `{ a: '1', b: '2' }` (values may contain `=`, as base64 does). */
function attributes(message: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of message.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) result.set(part.slice(0, at), part.slice(at + 1));
  }
  return result;
}

/** RFC 5802 section 5.1: `=2C` is a comma and `=3D` an equals sign in a SCRAM user name. */
function decodeUsername(saslName: string): string {
  return saslName.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

/** Why a SCRAM exchange failed; the client only ever hears "Authentication failed." */
export class ScramFailure extends Error {
  override readonly name = 'ScramFailure';
}

/**
 * Handles the client-first message: `n,,n=<user>,r=<client nonce>` (no channel binding, no
 * authorization identity). Returns the conversation and the server-first message to send.
 */
export function startScram(
  clientFirst: string,
  findUser: (username: string) => ScramUser | undefined,
): { conversation: ScramConversation; serverFirst: string } {
  if (!clientFirst.startsWith('n,,')) {
    throw new ScramFailure('channel binding and authorization identities are not supported');
  }
  const clientFirstBare = clientFirst.slice(3);
  const fields = attributes(clientFirstBare);
  const name = fields.get('n');
  const clientNonce = fields.get('r');
  if (!name || !clientNonce) throw new ScramFailure('client-first message without n= or r=');
  const user = findUser(decodeUsername(name));
  if (!user) throw new ScramFailure('no such user');
  const nonce = clientNonce + randomBytes(24).toString('base64');
  const serverFirst = `r=${nonce},s=${user.salt.toString('base64')},i=${user.iterations}`;
  return { conversation: { user, clientFirstBare, serverFirst, nonce }, serverFirst };
}

/**
 * Checks the client-final message (`c=biws,r=<nonce>,p=<proof>`) against the conversation and
 * returns the server-final message (`v=<server signature>`). Throws ScramFailure on a wrong proof.
 */
export function finishScram(conversation: ScramConversation, clientFinal: string): string {
  const proofAt = clientFinal.lastIndexOf(',p=');
  if (proofAt < 0) throw new ScramFailure('client-final message without a proof');
  const withoutProof = clientFinal.slice(0, proofAt);
  const fields = attributes(withoutProof);
  // `biws` is base64 of `n,,`: the client-first message's header, as RFC 5802 requires.
  if (fields.get('c') !== 'biws') throw new ScramFailure('unexpected channel binding');
  if (fields.get('r') !== conversation.nonce) throw new ScramFailure('nonce mismatch');
  const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
  const { user } = conversation;
  const authMessage = `${conversation.clientFirstBare},${conversation.serverFirst},${withoutProof}`;
  const clientSignature = hmac(user.storedKey, authMessage);
  if (proof.length !== clientSignature.length) throw new ScramFailure('proof of the wrong length');
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i += 1) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
  if (!timingSafeEqual(sha256(clientKey), user.storedKey)) throw new ScramFailure('wrong password');
  return `v=${hmac(user.serverKey, authMessage).toString('base64')}`;
}
