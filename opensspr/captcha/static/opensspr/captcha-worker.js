/*
 * OpenSSPR captcha solver (Web Worker). Solves one ALTCHA v1 challenge:
 * finds n in [0, maxNumber] with SHA-256(salt + n) == challenge (hex).
 *
 * SHA-256 is implemented here (FIPS 180-4) rather than with WebCrypto:
 * crypto.subtle exists only on https and loopback origins, and its one
 * promise per hash makes it about ten times slower for millions of short
 * inputs. Message in:  {challenge, salt, maxNumber}
 * Message out: {number} (an integer, or null when no number matches).
 */
"use strict";

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const W = new Uint32Array(64);

/* SHA-256 of buffer[0:length] into state (8 words). The buffer needs room for
 * the padding (up to 72 bytes past length), which this function writes. */
function sha256(buffer, length, state) {
  const total = ((length + 9 + 63) >>> 6) << 6;
  buffer[length] = 0x80;
  buffer.fill(0, length + 1, total - 4);
  const bits = length * 8;  // messages here are far below 2^32 bits
  buffer[total - 4] = bits >>> 24;
  buffer[total - 3] = (bits >>> 16) & 0xff;
  buffer[total - 2] = (bits >>> 8) & 0xff;
  buffer[total - 1] = bits & 0xff;
  state.set(INITIAL);
  for (let offset = 0; offset < total; offset += 64) {
    for (let t = 0; t < 16; t++) {
      const i = offset + t * 4;
      W[t] = (buffer[i] << 24) | (buffer[i + 1] << 16) | (buffer[i + 2] << 8) | buffer[i + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = W[t - 15];
      const y = W[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = state[0], b = state[1], c = state[2], d = state[3];
    let e = state[4], f = state[5], g = state[6], h = state[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
  }
}

function wordsFromHex(hex) {
  if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) return null;
  const words = new Uint32Array(8);
  for (let i = 0; i < 8; i++) words[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return words;
}

function solve(challenge, salt, maxNumber) {
  const target = wordsFromHex(challenge);
  if (target === null || typeof salt !== "string" || !Number.isSafeInteger(maxNumber)) return null;
  const prefix = new TextEncoder().encode(salt);
  const buffer = new Uint8Array(prefix.length + 16 + 72);
  buffer.set(prefix);
  const state = new Uint32Array(8);
  for (let n = 0; n <= maxNumber; n++) {
    const digits = String(n);
    let length = prefix.length;
    for (let i = 0; i < digits.length; i++) buffer[length++] = digits.charCodeAt(i);
    sha256(buffer, length, state);
    if (state[0] === target[0] && state[1] === target[1] && state[2] === target[2] &&
        state[3] === target[3] && state[4] === target[4] && state[5] === target[5] &&
        state[6] === target[6] && state[7] === target[7]) {
      return n;
    }
  }
  return null;
}

self.onmessage = function (event) {
  const task = event.data || {};
  self.postMessage({ number: solve(task.challenge, task.salt, task.maxNumber) });
};
