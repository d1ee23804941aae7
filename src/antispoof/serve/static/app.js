// The webcam page: preview with the face box, record about one second, send the frames, show the decision.
// Plain JavaScript, no build step, no network but this service. `?auto=1` records as soon as the camera runs.
"use strict";

const FRAMES = 10;          // frames per check
const INTERVAL_MS = 100;    // about one second in all
const PREVIEW_MS = 1000;    // how often the face box is refreshed
const WIDTH = 640;          // frames are sent at most this wide

const video = document.getElementById("preview");
const overlay = document.getElementById("overlay");
const button = document.getElementById("check");
const statusLine = document.getElementById("status");
const decisionLine = document.getElementById("decision");
const details = document.getElementById("details");
const tokenInput = document.getElementById("token");
let lastBox = null;
let busy = false;

function headers() {
  const token = tokenInput.value || sessionStorage.getItem("antispoof-token") || "";
  if (tokenInput.value) sessionStorage.setItem("antispoof-token", tokenInput.value);
  return token ? { Authorization: "Bearer " + token } : {};
}

function grab() {
  const scale = Math.min(1, WIDTH / video.videoWidth);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve({ blob, scale }), "image/jpeg", 0.92));
}

function drawBox() {
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  if (!lastBox) return;
  const [x0, y0, x1, y1] = lastBox.box.map((v) => v / lastBox.scale);
  ctx.lineWidth = 4;
  ctx.strokeStyle = lastBox.colour;
  ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
}

async function send(shots) {
  const form = new FormData();
  shots.forEach((s, i) => form.append("frames", s.blob, `frame${i}.jpg`));
  const response = await fetch("/v1/liveness", { method: "POST", body: form, headers: headers() });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (err) { body = null; }
  if (!response.ok) throw new Error(`${response.status}: ${(body && body.error) || response.statusText}`);
  if (!body) throw new Error("the service answered something that is not JSON");
  return body;
}

function boxOf(result, scale) {
  const frame = [...result.frames].reverse().find((f) => f.box);
  if (!frame) return null;
  const colour = result.decision === "bonafide" ? "#4caf50" : result.decision === "attack" ? "#f44336" : "#ff9800";
  return { box: frame.box, scale, colour };
}

function show(result) {
  decisionLine.dataset.decision = result.decision;
  const score = result.score === null ? "n/a" : result.score.toFixed(3);
  decisionLine.textContent = `${result.decision} (score ${score}, threshold ${result.threshold.toFixed(3)})`;
  const rows = Object.entries(result.explanation)
    .sort((a, b) => b[1] - a[1])
    .map(([cue, p]) => `<tr><td>${cue}</td><td><span class="bar" style="width:${Math.round(p * 150)}px"></span></td><td>${p.toFixed(3)}</td></tr>`)
    .join("");
  const reasons = result.reasons.length ? `<p>Frames not scored: ${result.reasons.join(", ")}</p>` : "";
  const maps = Object.entries(result.maps || {})
    .map(([cue, url]) => `<figure><img src="${url}" width="160" alt="${cue}"><figcaption>${cue}</figcaption></figure>`)
    .join("");
  details.innerHTML = maps + `${reasons}<p><small>${result.n_scored}/${result.n_frames} frames scored, rule ${result.threshold_rule}, ` +
    `request ${result.request_id}</small></p>` + (rows ? `<p>Cue probabilities (the explanation):</p><table>${rows}</table>` : "");
}

async function check() {
  if (busy) return;
  busy = true;
  button.disabled = true;
  decisionLine.textContent = "";
  decisionLine.dataset.decision = "";
  statusLine.textContent = "Recording…";
  try {
    const shots = [];
    for (let i = 0; i < FRAMES; i++) {
      shots.push(await grab());
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    statusLine.textContent = "Checking…";
    const result = await send(shots);
    lastBox = boxOf(result, shots[0].scale);
    drawBox();
    show(result);
    statusLine.textContent = "Done.";
  } catch (err) {
    decisionLine.dataset.decision = "error";
    decisionLine.textContent = "error";
    statusLine.textContent = String(err.message || err);
  } finally {
    busy = false;
    button.disabled = false;
  }
}

async function previewBox() {
  if (!busy && video.videoWidth) {
    try {
      const shot = await grab();
      const result = await send([shot]);
      lastBox = boxOf(result, shot.scale);
    } catch (err) {
      lastBox = null;
    }
  }
  drawBox();
  setTimeout(previewBox, PREVIEW_MS);
}

async function start() {
  const model = await fetch("/v1/model", { headers: headers() });
  if (model.status === 401 || model.status === 403) document.getElementById("token-row").hidden = false;
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    await video.play();
  } catch (err) {
    statusLine.textContent = "No camera: " + (err.message || err) + ". Allow camera access and reload.";
    return;
  }
  statusLine.textContent = "Camera ready.";
  button.disabled = false;
  button.addEventListener("click", check);
  setTimeout(previewBox, PREVIEW_MS);
  if (new URLSearchParams(location.search).get("auto") === "1") check();
}

start();
