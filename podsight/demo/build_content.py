"""Generate the demo's transcript files and claim list from the scripts: `python -m podsight.demo.build_content`.

The generated files are committed (the server serves them byte for byte, so ETags stay put); run this
after editing a script in `source/` or the catalog. `--audio` also renders the audio-only episodes'
speech (needs espeak-ng; see `build_audio.py`). `--check` exits 1 when a committed file is stale,
audio included, without needing espeak-ng; the tests run it too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from podsight.demo.audio import audio_only_episodes, stale_audio
from podsight.demo.catalog import CLAIMS, ClaimMention, all_episodes, find_episode
from podsight.demo.formats import render
from podsight.demo.script import ScriptError, load_script

CONTENT_DIR = Path(__file__).parent / "content"


def transcript_files() -> dict[str, str]:
    """`transcripts/<file>` -> text, for every transcript every episode offers."""
    files = {}
    for show, episode in all_episodes():
        if not episode.formats:
            continue
        script = load_script(show, episode)
        for name, _mime in episode.transcript_files():
            fmt = name.rsplit(".", 1)[1]
            files[f"transcripts/{name}"] = render(script, fmt, f"{show.title}: {episode.title}")
    return files


def _mention_record(mention: ClaimMention) -> dict[str, object]:
    """One side of a planted claim, checked against its script so the marker can never lie."""
    show, episode = find_episode(mention.episode)
    spoken = " ".join(cue.text for cue in load_script(show, episode).cues)
    if mention.sentence not in spoken:
        raise ScriptError(f"planted claim not found verbatim in {episode.slug}: {mention.sentence!r}")
    return {
        "show": show.title,
        "episode": episode.slug,
        "guid": episode.guid,
        "speaker": mention.speaker,
        "sentence": mention.sentence,
        "transcripts": [name for name, _ in episode.transcript_files()],
        "audio": None if episode.formats else f"audio/{episode.slug}.mp3",  # audio only: say it, not write it
    }


def claims_file() -> str:
    """`claims.json`: the corroborating and contradicting pairs, for tests and link-quality checks."""
    pairs = [
        {
            "topic": claim.topic,
            "relation": claim.relation,
            "mentions": [_mention_record(claim.first), _mention_record(claim.second)],
        }
        for claim in CLAIMS
    ]
    return json.dumps({"claims": pairs}, ensure_ascii=False, indent=2) + "\n"


def generated_files() -> dict[str, str]:
    """Every generated file, path relative to `content/` -> text."""
    return {**transcript_files(), "claims.json": claims_file()}


def stale_files(content_dir: Path = CONTENT_DIR) -> list[str]:
    """Generated files whose committed copy is missing or different, audio included."""
    stale = []
    for relative, text in generated_files().items():
        path = content_dir / relative
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            stale.append(relative)
    return stale + stale_audio(content_dir / "audio")


def write_content(content_dir: Path = CONTENT_DIR) -> list[Path]:
    """Write every generated file (UTF-8, LF line ends); return the paths written."""
    written = []
    for relative, text in generated_files().items():
        path = content_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    parser.add_argument("--audio", action="store_true", help="also render the audio-only episodes (espeak-ng)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for relative in stale:
            print(f"stale: {relative}")
        return 1 if stale else 0
    for path in write_content():
        print(f"wrote {path.relative_to(CONTENT_DIR.parent)}")
    if args.audio:
        return render_audio()
    return 0


def render_audio() -> int:
    """Render every audio-only episode's speech; 1 with the reason when espeak-ng or PyAV is missing."""
    from podsight.demo.build_audio import AudioBuildError, render_episode  # numpy, PyAV: build time only

    try:
        for show, episode in audio_only_episodes():
            rendered = render_episode(show, episode, CONTENT_DIR / "audio")
            minutes = rendered.duration_s / 60
            print(f"wrote audio/{episode.slug}.mp3: {minutes:.1f} min, {rendered.size_bytes / 1e6:.2f} MB, "
                  f"{rendered.word_count / minutes:.0f} words a minute")
    except AudioBuildError as error:
        print(f"error: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
