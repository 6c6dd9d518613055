// Session Lab's only script: a countdown to the session's idle deadline,
// and the cookie practice's "read it with a script" test. A static file,
// as the Content-Security-Policy (script-src 'self') requires; it reads
// nothing but the page and document.cookie, and sends nothing anywhere.
"use strict";

function left(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m + ":" + String(s % 60).padStart(2, "0");
}

// <time data-countdown datetime="…"> counts down to its time; when it
// passes, the element's data-ended text replaces it.
function countdowns() {
  const els = document.querySelectorAll("time[data-countdown]");
  if (els.length === 0) return;
  const tick = () => {
    for (const el of els) {
      const ms = Date.parse(el.getAttribute("datetime")) - Date.now();
      if (ms > 0) {
        el.textContent = left(ms);
      } else {
        el.textContent = el.dataset.ended || "0:00";
        el.classList.add("ended");
      }
    }
  };
  tick();
  setInterval(tick, 1000);
}

// The button #read-cookie runs what an injected script would: read
// document.cookie. It shows the names it found (never a value) and
// whether the session cookie is among them.
function cookieReader() {
  const button = document.getElementById("read-cookie");
  const out = document.getElementById("read-cookie-result");
  if (!button || !out) return;
  button.addEventListener("click", () => {
    const names = document.cookie.split(";").map((c) => c.split("=")[0].trim()).filter((n) => n !== "");
    const session = button.dataset.cookie;
    const seen = names.length ? names.join(", ") : "nothing";
    out.textContent = names.includes(session)
      ? "document.cookie shows: " + seen + ". The session cookie " + session + " IS readable: HttpOnly is missing."
      : "document.cookie shows: " + seen + ". The session cookie " + session + " is not there: it is HttpOnly, so no script can read it, yours or an attacker's.";
    out.className = names.includes(session) ? "worked" : "refused";
  });
}

countdowns();
cookieReader();
