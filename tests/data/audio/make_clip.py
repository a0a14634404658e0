"""How clip.mp3 was made (kept for reproducibility; tests do not run it).

    espeak-ng -v en-us -s 150 -w /tmp/clip.wav "$(cat clip.txt)"
    python tests/data/audio/make_clip.py /tmp/clip.wav tests/data/audio/clip.mp3

Re-encodes to mono 16 kHz MP3 at 32 kbit/s with PyAV (bundled FFmpeg, so no ffmpeg binary is needed).
"""

import sys
import tempfile
import wave

import av


def encode(src: str, dst: str) -> None:
    with av.open(src) as inp, av.open(dst, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=16000, layout="mono")
        stream.bit_rate = 32_000
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=16000)
        for frame in inp.decode(audio=0):
            for piece in resampler.resample(frame):
                out.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))


def encode_pcm(pcm: bytes, rate: int, dst: str) -> None:
    """Mono 16-bit PCM at `rate` Hz (espeak-ng's raw output) encoded as `encode` does, through a WAV file."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        with wave.open(tmp.name, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(rate)
            writer.writeframes(bytes(pcm))
        encode(tmp.name, dst)


if __name__ == "__main__":
    encode(sys.argv[1], sys.argv[2])
