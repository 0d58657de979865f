// semisep report: one play head per song. Every A/B button plays its file in the song's one <audio>
// element, from the time the previous choice had reached (and keeps playing if it was playing).
(function () {
  "use strict";

  function show(song, button) {
    for (const b of song.querySelectorAll("button.ab")) {
      b.classList.toggle("active", b === button);
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    }
    song.querySelector(".now").textContent = button.dataset.label;
    for (const kind of ["spec", "mask"]) {
      const img = song.querySelector("img.view-" + kind);
      const src = button.dataset[kind];
      img.hidden = !src;
      if (src && img.getAttribute("src") !== src) img.setAttribute("src", src);
    }
  }

  function choose(song, button) {
    const audio = song.querySelector("audio.shared");
    show(song, button);
    const src = button.dataset.src;
    if (audio.getAttribute("src") === src) return;
    const time = audio.currentTime, playing = !audio.paused;
    audio.dataset.pending = "1";  // until the new file is at the old position
    audio.addEventListener("loadedmetadata", function () {
      audio.currentTime = Math.min(time, audio.duration || time);
      delete audio.dataset.pending;
      if (playing) audio.play().catch(function () {});
    }, { once: true });
    audio.setAttribute("src", src);  // a relative path: the site works from file://
  }

  function init() {
    for (const song of document.querySelectorAll("section.song")) {
      for (const b of song.querySelectorAll("button.ab")) b.addEventListener("click", function () { choose(song, b); });
      const first = song.querySelector("button.ab.active") || song.querySelector("button.ab");
      if (first) show(song, first);
    }
    // one song at a time
    document.addEventListener("play", function (e) {
      for (const a of document.querySelectorAll("audio")) if (a !== e.target) a.pause();
    }, true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
