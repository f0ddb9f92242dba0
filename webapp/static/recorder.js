// Recording an answer from the microphone as webm/opus (what the server's decoder expects from browsers).

const TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];

export function supported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
}

function pickType() {
  return TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || "";
}

export function extensionFor(mime) {
  if (mime.includes("ogg")) return "ogg";
  if (mime.includes("mp4")) return "m4a";
  return "webm";
}

// start({onLevel, onChunk}) → {stop(): Promise<Blob>, cancel()}; onLevel gets 0..1 for a level meter,
// onChunk each 250 ms slice (their concatenation is the recording).
export async function start({ onLevel = () => {}, onChunk = null } = {}) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    const why = e && e.name === "NotAllowedError" ? "microphone access was refused" : "no microphone is available";
    throw new Error(`${why}; allow the microphone in the browser, or upload a recording instead`);
  }
  const mimeType = pickType();
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks = [];
  recorder.addEventListener("dataavailable", (e) => {
    if (!e.data || !e.data.size) return;
    chunks.push(e.data);
    if (onChunk) onChunk(e.data); // each time slice as it is recorded (live answers)
  });

  // A level meter, so the speaker can see the microphone hears them.
  let ctx = null;
  let raf = 0;
  try {
    ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Uint8Array(analyser.fftSize);
    const tick = () => {
      analyser.getByteTimeDomainData(buf);
      let peak = 0;
      for (const v of buf) peak = Math.max(peak, Math.abs(v - 128));
      onLevel(Math.min(1, peak / 64));
      raf = requestAnimationFrame(tick);
    };
    tick();
  } catch (e) {
    ctx = null; // the meter is a nicety; recording works without it
  }

  const release = () => {
    cancelAnimationFrame(raf);
    if (ctx) ctx.close();
    for (const track of stream.getTracks()) track.stop();
    onLevel(0);
  };

  recorder.start(250);
  return {
    mimeType: recorder.mimeType || mimeType || "audio/webm",
    stop: () => new Promise((resolve) => {
      recorder.addEventListener("stop", () => {
        release();
        resolve(new Blob(chunks, { type: recorder.mimeType || mimeType || "audio/webm" }));
      }, { once: true });
      recorder.stop();
    }),
    cancel: () => {
      if (recorder.state !== "inactive") recorder.stop();
      release();
    },
  };
}
