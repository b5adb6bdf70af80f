// Message ids as the server's MsgID: 128 bits, 48 bits of Unix
// milliseconds then 80 random bits, printed in Crockford base32 (26
// characters, the first carrying the top 3 bits). Ids sort by time.

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** newMsgID returns a fresh id for the time now (ms since the epoch). */
export function newMsgID(now = Date.now()) {
  const b = new Uint8Array(16);
  let ms = BigInt(now);
  for (let i = 5; i >= 0; i--) {
    b[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  crypto.getRandomValues(b.subarray(6));
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  let out = "";
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(v & 31n)] + out;
    v >>= 5n;
  }
  return out;
}
