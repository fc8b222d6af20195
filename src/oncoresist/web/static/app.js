// oncoresist web app: the small amount of JavaScript the pages need (no framework, no CDN).
// Uses the JSON API (/openapi.json): job progress, cancellation and curve figures.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function pollJob(box) {
  const id = box.dataset.job;
  const state = document.getElementById("job-state");
  const message = document.getElementById("job-message");
  const bar = document.getElementById("job-progress");
  const tick = async () => {
    const res = await fetch("/api/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
    if (!res.ok) { return; }
    const job = await res.json();
    state.textContent = job.state;
    message.textContent = job.message;
    bar.value = job.progress;
    if (job.state === "queued" || job.state === "running") {
      setTimeout(tick, 500);
    } else {
      window.location.reload();
    }
  };
  tick();
}

async function showFigure(div) {
  const res = await fetch(div.dataset.src, { headers: { Accept: "application/json" } });
  if (!res.ok) { div.textContent = "figure unavailable: " + res.status; return; }
  const fig = await res.json();
  // eslint-disable-next-line no-undef
  await Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  div.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("job");
  if (box && (box.dataset.state === "queued" || box.dataset.state === "running")) {
    pollJob(box);
  }
  const cancel = document.getElementById("cancel-job");
  if (cancel) {
    cancel.addEventListener("click", async () => {
      await fetch("/api/jobs/" + encodeURIComponent(cancel.dataset.job) + "/cancel", {
        method: "POST", headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/json" }, body: "{}",
      });
    });
  }
  document.querySelectorAll(".figure[data-src]").forEach((div) => { showFigure(div); });
  const filter = document.getElementById("table-filter");
  if (filter) {
    const table = document.getElementById(filter.dataset.table);
    filter.addEventListener("input", () => {
      const text = filter.value.toLowerCase();
      table.querySelectorAll("tr").forEach((tr, i) => {
        if (i === 0) { return; }
        tr.hidden = text !== "" && !tr.textContent.toLowerCase().includes(text);
      });
    });
  }
});
