// Optional: time links on the episode page move the player instead of reloading the page with ?t=.
// Without JavaScript the links still work (the page reloads with the audio starting at that second).
document.addEventListener("click", function (event) {
  var link = event.target.closest("a[data-seek]");
  var audio = document.querySelector("#player audio");
  if (!link || !audio) return;
  event.preventDefault();
  audio.currentTime = Number(link.dataset.seek);
  audio.play();
  audio.scrollIntoView({ block: "nearest" });
});
