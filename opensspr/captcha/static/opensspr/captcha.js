/*
 * OpenSSPR captcha widget. For every [data-captcha] box: fetch a challenge,
 * solve it in a Web Worker (captcha-worker.js), put the payload in the hidden
 * input and say so in the box's live region. Every text comes from the box's
 * data-text-* attributes, rendered (and translated) by the server.
 *
 * A submit before the check is done is held and sent once it is; a submit
 * with a solution older than data-refresh-after seconds fetches a fresh one
 * first (challenges expire on the server). A failed check shows "Try again".
 */
(function () {
  "use strict";

  const FETCH_TIMEOUT_MS = 15000;  // a stalled request ends in "Try again", not a spinner forever

  function encodePayload(challenge, number) {
    return window.btoa(JSON.stringify({
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number: number,
      salt: challenge.salt,
      signature: challenge.signature,
    }));
  }

  function looksLikeChallenge(data) {
    return data !== null && typeof data === "object" &&
      typeof data.challenge === "string" && typeof data.salt === "string" &&
      typeof data.signature === "string" && typeof data.algorithm === "string" &&
      Number.isSafeInteger(data.maxNumber);
  }

  class CaptchaWidget {
    constructor(box) {
      this.box = box;
      this.form = box.closest("form");
      this.input = box.querySelector("[data-captcha-payload]");
      this.status = box.querySelector("[data-captcha-status]");
      this.retry = box.querySelector("[data-captcha-retry]");
      this.refreshAfterMs = (Number(box.dataset.refreshAfter) || 480) * 1000;
      this.state = "idle";
      this.run = 0;           // bumped on every start, so stale results are ignored
      this.solvedAt = 0;
      this.pending = null;    // {submitter} while a submit waits for the check
      this.cancelSolve = null;
    }

    attach() {
      this.retry.addEventListener("click", () => {
        this.start();
        this.status.focus();  // the button hides itself; keep keyboard focus in the box
      });
      if (this.form) this.form.addEventListener("submit", (event) => this.onSubmit(event));
      // Back/forward cache: the restored payload was probably spent already.
      window.addEventListener("pageshow", (event) => { if (event.persisted) this.start(); });
      this.start();
    }

    show(state, text) {
      this.state = state;
      this.box.dataset.state = state;
      this.status.textContent = text;
      this.retry.hidden = state !== "failed";
    }

    async start() {
      const run = ++this.run;
      this.stopSolving();
      this.input.value = "";
      this.solvedAt = 0;
      const texts = this.box.dataset;
      this.show("working", this.pending ? texts.textWaiting : texts.textWorking);
      try {
        const challenge = await this.fetchChallenge();
        if (run !== this.run) return;
        const number = await this.solve(challenge);
        if (run !== this.run) return;
        this.input.value = encodePayload(challenge, number);
        this.solvedAt = Date.now();
        this.show("done", texts.textDone);
        this.sendPending();
      } catch (error) {
        if (run === this.run) this.fail();
      }
    }

    async fetchChallenge() {
      const abort = new AbortController();
      const timer = window.setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
      try {
        const response = await window.fetch(this.box.dataset.challengeUrl, {
          cache: "no-store",
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          signal: abort.signal,
        });
        if (!response.ok) throw new Error("challenge request failed: " + response.status);
        const data = await response.json();
        if (!looksLikeChallenge(data)) throw new Error("not a challenge");
        return data;
      } finally {
        window.clearTimeout(timer);
      }
    }

    solve(challenge) {
      return new Promise((resolve, reject) => {
        const worker = new Worker(this.box.dataset.workerUrl);
        const finish = () => {
          if (this.cancelSolve === cancel) this.cancelSolve = null;
          worker.terminate();
        };
        const cancel = () => {
          finish();
          reject(new Error("cancelled"));
        };
        this.cancelSolve = cancel;
        worker.onmessage = (event) => {
          finish();
          const number = event.data && event.data.number;
          if (Number.isSafeInteger(number)) resolve(number);
          else reject(new Error("no solution"));
        };
        worker.onerror = () => {
          finish();
          reject(new Error("worker failed"));
        };
        worker.postMessage({
          challenge: challenge.challenge,
          salt: challenge.salt,
          maxNumber: challenge.maxNumber,
        });
      });
    }

    stopSolving() {
      const cancel = this.cancelSolve;
      this.cancelSolve = null;
      if (cancel) cancel();
    }

    fail() {
      this.stopSolving();
      this.input.value = "";
      this.show("failed", this.box.dataset.textFailed);
      if (this.pending) {
        this.pending = null;
        this.retry.focus();  // the held submit is dropped; put the person on the way out
      }
    }

    isReady() {
      return this.state === "done" && Date.now() - this.solvedAt < this.refreshAfterMs;
    }

    onSubmit(event) {
      if (this.isReady()) return;
      event.preventDefault();
      const first = this.pending === null;
      this.pending = { submitter: event.submitter || null };
      if (this.state === "working") {
        if (first) this.show("working", this.box.dataset.textWaiting);
      } else {
        this.start();  // failed, or the solution is too old: check again, then send
      }
    }

    sendPending() {
      if (!this.pending || !this.form) return;
      const submitter = this.pending.submitter;
      this.pending = null;
      if (typeof this.form.requestSubmit === "function") {
        if (submitter) this.form.requestSubmit(submitter);
        else this.form.requestSubmit();
      } else {
        this.form.submit();
      }
    }
  }

  function init() {
    document.querySelectorAll("[data-captcha]").forEach((box) => {
      if (box.dataset.captchaReady) return;  // the script may be included once per widget
      box.dataset.captchaReady = "true";
      new CaptchaWidget(box).attach();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
