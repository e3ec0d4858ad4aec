// Hadron console: the only script. It follows a running deployment's log
// and status, and asks before a cancel. Every page works without it (a
// cancel then asks on a page of its own).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Confirm a cancel here, so that the server need not ask again.
  for (const form of document.querySelectorAll("form.cancel")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) {
        ev.preventDefault();
        return;
      }
      form.querySelector("input[name=confirmed]").value = "yes";
    });
  }

  const dep = document.getElementById("deployment");
  if (!dep || dep.dataset.active !== "true") return;
  const log = document.getElementById("log");
  const badge = dep.querySelector("[data-status]");
  const message = dep.querySelector("[data-message]");
  let next = Number(dep.dataset.next) || 0;

  const classOf = (s) => {
    if (s === "CANCELLING" || s.endsWith("IN_PROGRESS")) return "busy";
    if (s.endsWith("FAILED") || s === "CANCELLED") return "bad";
    if (s === "SUCCEEDED" || s === "DELETE_COMPLETE") return "ok";
    return "idle";
  };

  // Poll the log endpoint: new text from the offset, and the status. Once
  // the deployment has ended, one more read takes the log's last lines.
  const poll = async () => {
    let reply;
    try {
      const res = await fetch(`/console/deployments/${dep.dataset.id}/log?offset=${next}&${dep.dataset.names}`,
        { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      reply = await res.json();
    } catch (err) {
      setTimeout(poll, 3000);
      return;
    }
    if (reply.text) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(reply.text);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    next = reply.next;
    badge.textContent = reply.status;
    badge.className = `badge ${classOf(reply.status)}`;
    message.textContent = reply.message;
    dep.querySelector("[data-duration]").textContent = reply.duration;
    dep.querySelector("[data-ended]").textContent = reply.ended || "";
    if (reply.status !== "IN_PROGRESS") {
      const cancel = dep.querySelector("form.cancel");
      if (cancel) cancel.remove();
    }
    if (reply.active || reply.text) {
      setTimeout(poll, reply.active ? 1000 : 0);
      return;
    }
    const live = document.querySelector("[data-live]");
    if (live) live.remove();
  };
  setTimeout(poll, 1000);
});
