// semisep A/B player: one play head per song. Every A/B button plays its file in the song's one <audio>
// element, from the time the previous choice had reached (and keeps playing if it was playing). The same
// script serves the listening page (semisep report) and the player a notebook shows (listen.ABPlayer): it binds
// the songs of its own container, or of the whole page when loaded as a file, and binds each song once.
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
      if (!img) continue;
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
    audio.setAttribute("src", src);  // a relative path (the site works from file://) or a data: URI
  }

  function bind(root) {
    for (const song of root.querySelectorAll("section.song")) {
      if (song.dataset.abBound) continue;  // a notebook may show several players, each with this script
      song.dataset.abBound = "1";
      for (const b of song.querySelectorAll("button.ab")) b.addEventListener("click", function () { choose(song, b); });
      const first = song.querySelector("button.ab.active") || song.querySelector("button.ab");
      if (first) show(song, first);
    }
  }

  // inline in a notebook's output: the container the script sits in (bound at once, even before it is attached)
  const me = document.currentScript, inline = me && !me.src && me.parentNode;
  if (!window.semisepOneAtATime) {  // one song at a time, over the whole page
    window.semisepOneAtATime = true;
    document.addEventListener("play", function (e) {
      for (const a of document.querySelectorAll("audio")) if (a !== e.target) a.pause();
    }, true);
  }
  if (inline) bind(inline);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { bind(document); });
  else bind(document);
})();
